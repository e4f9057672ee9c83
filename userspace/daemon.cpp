#include "daemon.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

#include "capabilities.h"
#include "check/engine.h"
#include "ctl/commands.h"
#include "ctl/metrics.h"
#include "ctl/metrics_server.h"
#include "ctl/protocol.h"
#include "ctl/server.h"
#include "config/services.h"
#include "dataplane/bpf_object.h"
#include "dataplane/dataplane.h"
#include "dataplane/stats_reader.h"
#include "lbd_abi.h"
#include "util/instance.h"
#include "util/log.h"
#include "util/netif.h"
#include "util/sd_notify.h"
#include "vrrp/engine.h"

namespace lbd {
namespace {

constexpr int kRefreshSeconds = 1;

dataplane::Options dataplane_options(const config::Config& cfg, const std::string& instance) {
    dataplane::Options o;
    o.instance = instance;
    o.interfaces = cfg.global.lb_interfaces;
    if (o.interfaces.empty()) {
        o.interfaces = netif::up_interfaces();
        log::info("no lb_interface in global_defs: attaching to every interface that is up");
    }
    // Adverts are received by the lb program: it goes where VRRP runs too.
    for (const auto& vi : cfg.vrrp_instances)
        if (!vi.interface.empty() &&
            std::find(o.interfaces.begin(), o.interfaces.end(), vi.interface) == o.interfaces.end()) {
            log::info("attaching to {} for vrrp_instance {}", vi.interface, vi.name);
            o.interfaces.push_back(vi.interface);
        }
    // Configs are often checked elsewhere (-t only warns); running one names
    // this host's interfaces.
    if (auto missing = missing_interfaces(cfg); !missing.empty())
        throw std::runtime_error(missing.front());
    o.ring_size = cfg.global.ring_size;
    o.tunnel_source4 = cfg.global.tunnel_source4;
    o.tunnel_source6 = cfg.global.tunnel_source6;
    return o;
}

config::Config load_config(const std::string& path) {
    log::info("Opening file '{}'.", path);
    config::Config cfg = config::load(path);
    for (const auto& w : cfg.warnings)
        log::warn("{}", w);
    for (const auto& w : not_acted_on(cfg))
        log::warn("{}", w);
    return cfg;
}

// The settings fixed at start-up: a reload that changes them is refused
// rather than half applied.
bool same_startup_settings(const config::Config& a, const config::Config& b) {
    return a.global.lb_interfaces == b.global.lb_interfaces &&
           a.global.ring_size == b.global.ring_size &&
           a.global.tunnel_source4 == b.global.tunnel_source4 &&
           a.global.tunnel_source6 == b.global.tunnel_source6 && a.global.metrics_listen == b.global.metrics_listen;
}

// A reload hands the VRRP instances over to a new engine only when their
// part of the config changed.
bool same_vrrp_settings(const config::Config& a, const config::Config& b) {
    return a.global == b.global && a.vrrp_instances == b.vrrp_instances && a.vrrp_scripts == b.vrrp_scripts &&
           a.vrrp_sync_groups == b.vrrp_sync_groups && a.track_files == b.track_files;
}

class EventLoop {
public:
    EventLoop() {
        sigset_t mask;
        sigemptyset(&mask);
        for (int s : {SIGHUP, SIGTERM, SIGINT})
            sigaddset(&mask, s);
        sigprocmask(SIG_BLOCK, &mask, nullptr);
        signals_.reset(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
        timer_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
        epoll_.reset(epoll_create1(EPOLL_CLOEXEC));
        if (!signals_ || !timer_ || !epoll_)
            throw std::runtime_error(std::string("event loop set-up: ") + strerror(errno));
        itimerspec every{{kRefreshSeconds, 0}, {kRefreshSeconds, 0}};
        timerfd_settime(timer_.get(), 0, &every, nullptr);
        for (int fd : {signals_.get(), timer_.get()}) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
        }
    }

    enum class Event { Reload, Stop, Tick, Control, Idle };

    // The control socket's descriptor: readable means Event::Control.
    void watch_control(int fd) {
        control_ = fd;
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
    }

    // timeout_ms: -1 forever; on expiry, Event::Idle.
    Event wait(int timeout_ms = -1) {
        for (;;) {
            epoll_event ev{};
            int n = epoll_wait(epoll_.get(), &ev, 1, timeout_ms);
            if (n == 0)
                return Event::Idle;
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                throw std::runtime_error(std::string("epoll_wait: ") + strerror(errno));
            if (ev.data.fd == control_)
                return Event::Control;
            if (ev.data.fd == timer_.get()) {
                uint64_t expirations;
                if (read(timer_.get(), &expirations, sizeof(expirations)) > 0)
                    return Event::Tick;
                continue;
            }
            signalfd_siginfo si{};
            if (read(signals_.get(), &si, sizeof(si)) != sizeof(si))
                continue;
            return si.ssi_signo == SIGHUP ? Event::Reload : Event::Stop;
        }
    }

private:
    bpf::UniqueFd signals_, timer_, epoll_;
    int control_ = -1;
};

// The health checkers of `cfg`'s servable services, handing their changes
// to the data plane from their own thread; `previous` carries the checkers'
// states through a reload.
std::unique_ptr<check::Engine> make_checks(const config::Config& cfg, dataplane::Dataplane& dp,
                                           const check::Engine::Carry& previous = {}) {
    return std::make_unique<check::Engine>(
        cfg, servable(cfg),
        [&dp](const config::VirtualServer& vs, const std::set<config::IpAddr>& drop) { dp.update_service(vs, drop); },
        previous);
}

// Stops the running checkers, starts those of `next` from their states and
// applies what they serve; on failure the running ones go on. `swap` guards
// the pointer against the metrics thread.
void reload_checks(std::unique_ptr<check::Engine>& checks, std::mutex& swap, const config::Config& next,
                   dataplane::Dataplane& dp) {
    checks->stop();
    try {
        auto fresh = make_checks(next, dp, checks->carry());
        dp.apply(fresh->services());
        std::lock_guard lock(swap);
        checks = std::move(fresh);
    } catch (...) {
        checks->start();
        throw;
    }
    checks->start();
}

// The running engine, failing, could not even start again: lbd stops, as
// when the VRRP loop dies, and its supervisor restarts it.
struct VrrpLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// The VRRP part of a reload: the running engine hands its instances over to
// one made from `next` (vrrp/handover.h). When that one cannot start, the
// instances of `cfg` start again from the hand-over, and the reload fails.
// `swap` guards the pointer against the metrics thread.
void reload_vrrp(std::unique_ptr<vrrp::Engine>& vrrp, std::mutex& swap, const config::Config& cfg,
                 const config::Config& next, dataplane::Dataplane& dp, const sd::WatchdogPacer& watchdog) {
    // What surely fails is refused before anything stops.
    for (const auto& vi : next.vrrp_instances)
        if (!netif::exists(vi.interface))
            throw std::runtime_error(fmt::format("vrrp_instance {}: no interface {}", vi.name, vi.interface));
    std::unique_ptr<vrrp::Engine> old;
    {
        std::lock_guard lock(swap);
        old = std::move(vrrp);
    }
    vrrp::Handover handover;
    if (old) handover = old->hand_over(next);
    old.reset();
    auto start = [&](const config::Config& c) {
        dp.set_managed(vrrp::Engine::managed_addresses(c));
        if (c.vrrp_instances.empty()) {
            handover.settle({});
            return;
        }
        auto fresh = std::make_unique<vrrp::Engine>(c, dp, &handover);
        fresh->set_watchdog(watchdog);
        fresh->start();
        std::lock_guard lock(swap);
        vrrp = std::move(fresh);
    };
    try {
        start(next);
    } catch (const std::exception& e) {
        log::error("VRRP instances of the new configuration cannot start: {}; starting the running ones again",
                   e.what());
        try {
            start(cfg);
        } catch (const std::exception& again) {
            throw VrrpLost(fmt::format("VRRP instances cannot start again: {}", again.what()));
        }
        throw std::runtime_error(std::string("VRRP: ") + e.what());
    }
}

// The metrics listener, when global_defs asks for one. A port that cannot be
// bound is logged and the daemon runs without it: metrics never stop VRRP.
std::unique_ptr<ctl::MetricsServer> make_metrics(const config::Config& cfg, dataplane::Dataplane& dp,
                                                 std::unique_ptr<vrrp::Engine>& vrrp,
                                                 std::unique_ptr<check::Engine>& checks, std::mutex& swap) {
    if (!cfg.global.metrics_listen)
        return nullptr;
    try {
        auto server = std::make_unique<ctl::MetricsServer>(*cfg.global.metrics_listen, [&dp, &vrrp, &checks, &swap] {
            std::vector<ctl::RealStatus> reals;
            std::vector<ctl::InstanceStatus> instances;
            {
                std::lock_guard lock(swap);
                reals = checks->status();
                if (vrrp) instances = vrrp->status();
            }
            return ctl::render_metrics(dataplane::read_snapshot(dp.pin_dir()), instances, reals);
        });
        log::info("Prometheus metrics on http://{}/metrics", cfg.global.metrics_listen->str());
        return server;
    } catch (const std::exception& e) {
        log::error("{}; running without metrics", e.what());
        return nullptr;
    }
}

// What the control socket answers from. The checkers' engine is reached
// through its owner's pointer: a reload replaces it.
ctl::Sources control_sources(const DaemonOptions& options, dataplane::Dataplane& dp,
                             const ctl::RateSampler& rates, std::unique_ptr<vrrp::Engine>& vrrp,
                             std::unique_ptr<check::Engine>& checks) {
    ctl::Sources s;
    s.instance = options.instance;
    s.config_path = options.config_path;
    s.pin_dir = dp.pin_dir();
    s.started_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    s.rates = &rates;
    // A reload may add or remove every instance: the engine is looked up
    // at each request (on the main loop, as reloads are).
    s.vrrp = [&vrrp] { return vrrp ? vrrp->status() : std::vector<ctl::InstanceStatus>{}; };
    s.failover = [&vrrp](const std::string& name) {
        return vrrp ? vrrp->failover(name) : std::string("no vrrp_instance is configured");
    };
    s.reals = [&checks] { return checks->status(); };
    s.drain = [&checks](const config::IpAddr& a, std::optional<uint16_t> p, bool d) {
        return checks->set_drained(a, p, d);
    };
    s.weight = [&checks](const config::IpAddr& a, std::optional<uint16_t> p, std::optional<uint32_t> w) {
        return checks->set_weight(a, p, w);
    };
    // The same path as a SIGHUP: the reload runs in this loop, after the reply.
    s.reload = [] { kill(getpid(), SIGHUP); };
    return s;
}

// `systemctl status`'s line: what runs and who is master.
std::string summary(const config::Config& cfg, const std::unique_ptr<vrrp::Engine>& vrrp) {
    std::string out = fmt::format("{} virtual servers", cfg.virtual_servers.size());
    if (vrrp) {
        int masters = 0;
        const auto instances = vrrp->status();
        for (const auto& i : instances)
            masters += i.state == "MASTER";
        out += fmt::format(", {} VRRP instances, {} MASTER here", instances.size(), masters);
    }
    return out;
}

}  // namespace

bpf::UniqueFd lock_instance(const std::string& instance) {
    std::filesystem::create_directories(LBD_RUN_DIR);
    const std::string path = lock_path(instance);
    bpf::UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd)
        throw std::runtime_error("cannot open " + path + ": " + strerror(errno));
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0)
        throw std::runtime_error("another lbd runs as instance '" + instance + "' (" + path +
                                 " is locked)");
    std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(fd.get(), 0) == 0 && write(fd.get(), pid.data(), pid.size()) < 0)
        log::debug("cannot write the pid to {}", path);
    return fd;
}

int run_daemon(const DaemonOptions& options) {
    log::info("Starting lbd v0.1.0 (instance {})", options.instance);
    try {
        bpf::UniqueFd lock = lock_instance(options.instance);
        EventLoop loop;
        // systemd's environment is read once, here, before any thread starts.
        sd::WatchdogPacer watchdog(sd::watchdog_interval());
        config::Config cfg = load_config(options.config_path);
        dataplane::Dataplane dp(dataplane_options(cfg, options.instance));
        dp.set_managed(vrrp::Engine::managed_addresses(cfg));
        std::unique_ptr<vrrp::Engine> vrrp;
        if (!cfg.vrrp_instances.empty())
            vrrp = std::make_unique<vrrp::Engine>(cfg, dp);
        std::unique_ptr<check::Engine> checks = make_checks(cfg, dp);
        std::mutex checks_swap;
        dp.apply(checks->services());
        if (vrrp) {
            vrrp->set_watchdog(watchdog);
            vrrp->start();
        }
        checks->start();
        std::unique_ptr<ctl::MetricsServer> metrics = make_metrics(cfg, dp, vrrp, checks, checks_swap);
        ctl::RateSampler rates;
        ctl::Server control(ctl::socket_path(options.instance),
                            ctl::make_handler(control_sources(options, dp, rates, vrrp, checks)));
        loop.watch_control(control.fd());
        log::info("lbd ready: {} virtual servers, {} VRRP instances, maps pinned under {}, control socket {}",
                  cfg.virtual_servers.size(), cfg.vrrp_instances.size(), dp.pin_dir(), control.path());
        std::string said = summary(cfg, vrrp);
        sd::ready(said);
        for (;;) {
            // Without VRRP the main loop keeps the watchdog fed.
            int timeout = -1;
            if (!vrrp && watchdog.enabled()) {
                watchdog.tick(std::chrono::steady_clock::now());
                if (auto due = watchdog.until_due(std::chrono::steady_clock::now()))
                    timeout = static_cast<int>(due->count());
            }
            const auto event = loop.wait(timeout);
            if (const std::string now = summary(cfg, vrrp); now != said)
                sd::status(said = now);
            switch (event) {
            case EventLoop::Event::Tick:
                // A next hop that cannot be read now is read again next tick.
                try {
                    dp.refresh_next_hops();
                } catch (const std::exception& e) {
                    log::warn("next-hop refresh: {}", e.what());
                }
                try {
                    rates.sample(dataplane::read_snapshot(dp.pin_dir()));
                } catch (const std::exception& e) {
                    log::debug("counters for the rates: {}", e.what());
                }
                break;
            case EventLoop::Event::Control:
                control.dispatch();
                break;
            case EventLoop::Event::Idle:
                break;
            case EventLoop::Event::Reload:
                log::info("Reloading");
                sd::reloading();
                try {
                    config::Config next = load_config(options.config_path);
                    if (!same_startup_settings(cfg, next))
                        throw std::runtime_error(
                            "lb_interface, lb_ring_size, lb_tunnel_source and metrics_listen take a restart");
                    if (!same_vrrp_settings(cfg, next))
                        reload_vrrp(vrrp, checks_swap, cfg, next, dp, watchdog);
                    reload_checks(checks, checks_swap, next, dp);
                    cfg = std::move(next);
                    log::info("Reload finished");
                } catch (const VrrpLost&) {
                    throw;
                } catch (const std::exception& e) {
                    log::error("Reload failed, keeping the running configuration: {}", e.what());
                }
                sd::ready(said = summary(cfg, vrrp));
                break;
            case EventLoop::Event::Stop:
                log::info("Stopping");
                sd::stopping();
                // VRRP first: the backup takes over while this node still forwards.
                if (vrrp)
                    vrrp->stop();
                checks->shutdown();
                return vrrp && vrrp->failed() ? 1 : 0;
            }
        }
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        return 1;
    }
}

}  // namespace lbd
