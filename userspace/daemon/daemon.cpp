#include "daemon/daemon.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <fmt/chrono.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>

#include "announce/announcer.h"
#include "check/engine.h"
#include "config/load.h"
#include "ctl/commands.h"
#include "ctl/dump.h"
#include "ctl/metrics.h"
#include "ctl/metrics_server.h"
#include "ctl/protocol.h"
#include "ctl/server.h"
#include "daemon/config_check.h"
#include "daemon/vrrp_forwarding.h"
#include "dataplane/capture.h"
#include "dataplane/dataplane.h"
#include "dataplane/stats_reader.h"
#include "util/instance.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/netif.h"
#include "util/netns.h"
#include "util/sd_notify.h"
#include "util/version.h"
#include "vrrp/address_manager.h"
#include "vrrp/engine.h"
#include "vrrp/static_network.h"

namespace lbd {
namespace {

constexpr auto kRefreshInterval = std::chrono::seconds(1);
// Stopping, once its VIPs are withdrawn: the data plane serves until no
// packet to them came for kQuiet (the routers moved their flows), at most
// kStopGrace.
constexpr auto kQuiet = std::chrono::milliseconds(300);
constexpr auto kStopGrace = std::chrono::seconds(2);

int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

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
    o.conntrack_size = cfg.global.conntrack_size;
    o.flood_guard = cfg.global.flood_guard;
    return o;
}

config::Config load_config(const DaemonOptions& options) {
    log::info("Opening file '{}'.", options.config_path);
    config::Config cfg = config::load(options.config_path, options.config_id);
    for (const auto& w : cfg.warnings)
        log::warn("{}", w);
    for (const auto& w : not_acted_on(cfg))
        log::warn("{}", w);
    for (const auto& w : caveats(cfg))
        log::warn("{}", w);
    if (const auto w = script_security_warning(cfg))
        log::warn("{}", *w);
    return cfg;
}

// The settings fixed at start-up: a reload that changes them is refused
// rather than half applied.
bool same_startup_settings(const config::Config& a, const config::Config& b) {
    return a.global.lb_interfaces == b.global.lb_interfaces &&
           a.global.ring_size == b.global.ring_size && a.global.conntrack_size == b.global.conntrack_size &&
           a.global.tunnel_source4 == b.global.tunnel_source4 &&
           a.global.tunnel_source6 == b.global.tunnel_source6 && a.global.metrics_listen == b.global.metrics_listen &&
           a.global.net_namespace == b.global.net_namespace;
}

// The config, once read, decides where the daemon runs and what it is
// called; entering the namespace comes before any of the daemon's parts.
struct Placement {
    std::string instance;
    Placement(const DaemonOptions& options, const config::Config& cfg)
        : instance(instance_name(options, cfg.global)) {
        enter_net_namespace(cfg.global);
    }
};

// A reload hands the VRRP instances over to a new engine only when their
// part of the config changed.
bool same_vrrp_settings(const config::Config& a, const config::Config& b) {
    return a.global == b.global && a.vrrp_instances == b.vrrp_instances && a.vrrp_scripts == b.vrrp_scripts &&
           a.vrrp_sync_groups == b.vrrp_sync_groups && a.track_files == b.track_files;
}

// The addresses vrrp_instances float: announced only while MASTER here.
std::set<IpAddr> floated(const config::Config& cfg) {
    std::set<IpAddr> out;
    for (const auto& [addr, instance] : vrrp::Engine::managed_addresses(cfg)) out.insert(addr);
    return out;
}

// Packets forwarded to the virtual services of `addrs` so far.
uint64_t packets_to(const std::string& pin_dir, const std::vector<IpAddr>& addrs) {
    uint64_t n = 0;
    for (const auto& v : dataplane::read_snapshot(pin_dir).vips) {
        IpAddr a;
        a.family = v.key.family;
        memcpy(a.bytes.data(), v.key.addr.bytes, a.bytes.size());
        if (std::find(addrs.begin(), addrs.end(), a) != addrs.end()) n += v.counters.packets;
    }
    return n;
}

// The running engine, failing, could not even start again: lbd stops, as
// when the VRRP loop dies, and its supervisor restarts it.
struct VrrpLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// SIGHUP, SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 as a descriptor, blocked
// first: in every thread started after this (they inherit the mask), so that
// none of them takes the signal away from the main loop. SIGUSR1 and SIGUSR2
// would otherwise end the process, as operators used to keepalived's dumps
// send them.
UniqueFd signal_fd() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int s : {SIGHUP, SIGTERM, SIGINT, SIGUSR1, SIGUSR2})
        sigaddset(&mask, s);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    UniqueFd fd(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd)
        throw std::runtime_error(std::string("signalfd: ") + strerror(errno));
    return fd;
}

// The daemon from start to stop. Its parts are made in the constructor's
// order; the main loop serves signals, the control socket, the 1 s refresh
// and the NAT clients' next hops to resolve; the VRRP engine, the checkers
// and the metrics listener run on threads of their own.
class Daemon {
public:
    explicit Daemon(const DaemonOptions& options);
    // Serves until SIGTERM/SIGINT; returns the exit code.
    int run();

private:
    void make_vrrp();
    void make_checks(const check::Engine::Carry& previous = {});
    void watch_quorum(check::Engine& engine);
    void let_flows_leave(const std::vector<IpAddr>& withdrawn);
    void make_metrics();
    void make_control();
    ctl::Sources control_sources();
    ctl::FlowState flow_state() const;

    void on_signal();
    void write_dump(ctl::Dump what);
    void tick();
    ctl::Reloads reload();
    ctl::Reloads reload_asked();
    ctl::Reloads reloads() const;
    void reload_vrrp(const config::Config& next);
    void restore_vrrp();
    void reload_checks(const config::Config& next);
    int stop();
    std::string summary() const;

    const DaemonOptions options_;
    config::Config cfg_;
    const Placement placement_;
    UniqueFd lock_;
    UniqueFd signals_;
    Loop loop_;
    // systemd's environment is read once, here, before any thread starts.
    sd::WatchdogPacer watchdog_{sd::watchdog_interval()};
    dataplane::Dataplane dp_;  // before the static network: it refuses interfaces this host lacks
    VrrpForwarding forwarding_{dp_};
    dataplane::Capture capture_{dp_.objects()};  // lbctl capture
    // Its own netlink socket: the VRRP thread uses the engine's.
    vrrp::AddressManager static_netlink_;
    vrrp::StaticNetwork static_{cfg_, static_netlink_};
    // lb_announce_table: for the daemon's life, whatever reloads change.
    announce::Announcer announcer_{[this](std::optional<Clock::time_point> expires) {
        dp_.set_announce_lease(expires);
    }};
    std::unique_ptr<vrrp::AddressManager> addresses_;  // made with the first VRRP engine
    // The metrics thread and the control socket read the engines; a reload
    // replaces them under this lock.
    mutable std::mutex swap_;
    std::unique_ptr<vrrp::Engine> vrrp_;
    std::unique_ptr<check::Engine> checks_;
    ctl::RateSampler rates_;
    std::unique_ptr<ctl::MetricsServer> metrics_;
    std::unique_ptr<ctl::Server> control_;
    const int64_t started_unix_ms_ = unix_ms_now();
    std::string said_;  // the STATUS systemd was given last
    // What became of the loads of the file; the metrics thread reads it too.
    mutable std::mutex reloads_mutex_;
    ctl::Reloads reloads_;
    // A reload asked for on the control socket that left VRRP dead: it ends
    // the daemon as it would from SIGHUP, once the loop has stopped.
    std::exception_ptr fatal_;
    int exit_code_ = 0;
};

Daemon::Daemon(const DaemonOptions& options)
    : options_(options),
      cfg_(load_config(options)),
      placement_(options, cfg_),
      lock_(lock_instance(placement_.instance)),
      signals_(signal_fd()),
      dp_(dataplane_options(cfg_, placement_.instance)) {
    reloads_.loaded_unix_ms = unix_ms_now();
    dp_.set_managed(vrrp::Engine::managed_addresses(cfg_));
    forwarding_.also_tell([this](const IpAddr& addr, bool owned) { announcer_.set_master(addr, owned); });
    announcer_.configure(cfg_.global.announce_table, cfg_.virtual_servers, floated(cfg_));
    if (!cfg_.vrrp_instances.empty()) make_vrrp();
    make_checks();
    // VRRP before the services: a restarted daemon resumes its instances
    // from their leases at once, while the adopted maps keep forwarding,
    // however long applying many services takes; the data plane marks each
    // VIP active as it is applied, from what VRRP owns by then.
    if (vrrp_) {
        vrrp_->set_watchdog(watchdog_);
        vrrp_->start();
    }
    dp_.apply(checks_->services());
    checks_->start();
    announcer_.start();
    make_metrics();
    make_control();
    loop_.watch(signals_.get(), EPOLLIN, [this](uint32_t) { on_signal(); });
    loop_.watch(dp_.unresolved_fd(), EPOLLIN, [this](uint32_t) { dp_.resolve_unresolved(); });
    loop_.after(kRefreshInterval, [this] { tick(); });
    // Without VRRP the main loop keeps the watchdog fed; systemd's STATUS
    // follows the summary whatever woke the loop.
    loop_.on_turn(
        [this] {
            const auto now = Clock::now();
            if (const std::string s = summary(); s != said_) sd::status(said_ = s);
            if (vrrp_ || !watchdog_.enabled()) return Clock::time_point::max();
            watchdog_.tick(now);
            return now + *watchdog_.until_due(now);
        },
        [] {});
    log::info("lbd ready: {} virtual servers, {} VRRP instances, maps pinned under {}, control socket {}",
              cfg_.virtual_servers.size(), cfg_.vrrp_instances.size(), dp_.pin_dir(), control_->path());
    sd::ready(said_ = summary());
    // keepalived's -d: the running data in the log, once.
    if (options_.dump_conf) {
        const std::string text = ctl::dump(control_sources(), ctl::Dump::data);
        for (size_t at = 0, nl; at < text.size(); at = nl + 1) {
            nl = text.find('\n', at);
            if (nl == std::string::npos) nl = text.size();
            log::info("{}", std::string_view(text).substr(at, nl - at));
        }
    }
}

void Daemon::make_vrrp() {
    if (!addresses_) addresses_ = std::make_unique<vrrp::AddressManager>();
    vrrp_ = std::make_unique<vrrp::Engine>(cfg_, forwarding_, *addresses_);
}

// The health checkers of every virtual service, handing their changes to the
// data plane from their own thread; `previous` carries the checkers' states
// through a reload.
void Daemon::make_checks(const check::Engine::Carry& previous) {
    auto fresh = std::make_unique<check::Engine>(
        cfg_, cfg_.virtual_servers,
        [this](const config::VirtualServer& vs, const std::set<IpAddr>& drop) { dp_.update_service(vs, drop); },
        previous);
    watch_quorum(*fresh);
    std::lock_guard lock(swap_);
    checks_ = std::move(fresh);
}

void Daemon::watch_quorum(check::Engine& engine) {
    engine.watch_quorum([this](const config::VirtualServer& vs, bool quorum) { announcer_.set_quorum(vs, quorum); });
}

// The metrics listener, when global_defs asks for one. A port that cannot be
// bound is logged and the daemon runs without it: metrics never stop VRRP.
void Daemon::make_metrics() {
    if (!cfg_.global.metrics_listen)
        return;
    try {
        metrics_ = std::make_unique<ctl::MetricsServer>(*cfg_.global.metrics_listen, [this] {
            std::vector<check::RealStatus> reals;
            std::vector<vrrp::InstanceStatus> instances;
            {
                std::lock_guard lock(swap_);
                reals = checks_->status();
                if (vrrp_) instances = vrrp_->status();
            }
            return ctl::render_metrics(dataplane::read_snapshot(dp_.pin_dir()), flow_state(), instances, reals,
                                       reloads(), announcer_.status());
        });
        log::info("Prometheus metrics on http://{}/metrics", cfg_.global.metrics_listen->str());
    } catch (const std::exception& e) {
        log::error("{}; running without metrics", e.what());
    }
}

void Daemon::make_control() {
    control_ = std::make_unique<ctl::Server>(loop_, ctl::socket_path(placement_.instance),
                                             ctl::make_handler(control_sources()));
}

// What the control socket answers from. Requests are served on the main
// loop, as reloads are: the engines are looked up at each request.
ctl::Sources Daemon::control_sources() {
    ctl::Sources s;
    s.instance = placement_.instance;
    s.config_path = options_.config_path;
    s.pin_dir = dp_.pin_dir();
    s.started_unix_ms = started_unix_ms_;
    s.rates = &rates_;
    s.flows = [this] { return flow_state(); };
    s.vrrp = [this] { return vrrp_ ? vrrp_->status() : std::vector<vrrp::InstanceStatus>{}; };
    s.failover = [this](const std::string& name) {
        return vrrp_ ? vrrp_->failover(name) : std::string("no vrrp_instance is configured");
    };
    s.reals = [this] { return checks_->status(); };
    s.drain = [this](const IpAddr& a, std::optional<uint16_t> p, bool d) { return checks_->set_drained(a, p, d); };
    s.weight = [this](const IpAddr& a, std::optional<uint16_t> p, std::optional<uint32_t> w) {
        return checks_->set_weight(a, p, w);
    };
    s.announce = [this] { return announcer_.status(); };
    s.drain_node = [this](bool drained) { return announcer_.set_drained(drained); };
    s.reload = [this] { return reload_asked(); };
    s.reloads = [this] { return reloads(); };
    s.capture = &capture_;
    return s;
}

ctl::FlowState Daemon::flow_state() const { return {dp_.flow_counts(), rates_.guard_active()}; }

void Daemon::on_signal() {
    signalfd_siginfo si{};
    if (read(signals_.get(), &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGHUP) {
        reload();
        return;
    }
    if (si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2)
        return write_dump(si.ssi_signo == SIGUSR1 ? ctl::Dump::data : ctl::Dump::stats);
    log::info("Stopping");
    sd::stopping();
    loop_.stop();
}

// Once a second: next hops follow the kernel, the counters are sampled
// for the rates lbctl shows, and captures nobody reads end.
void Daemon::tick() {
    loop_.after(kRefreshInterval, [this] { tick(); });
    capture_.expire(dataplane::Capture::Clock::now());
    // A next hop that cannot be read now is read again next tick.
    try {
        dp_.refresh_next_hops();
    } catch (const std::exception& e) {
        log::warn("next-hop refresh: {}", e.what());
    }
    try {
        rates_.sample(dataplane::read_snapshot(dp_.pin_dir()));
    } catch (const std::exception& e) {
        log::debug("counters for the rates: {}", e.what());
    }
}

// keepalived's SIGUSR1 and SIGUSR2: the file is written whole, then
// renamed over the last one, so a reader never sees half of it.
void Daemon::write_dump(ctl::Dump what) {
    const std::string path = ctl::dump_path(placement_.instance, what);
    log::info("Printing {} to {} on signal", what == ctl::Dump::data ? "data" : "statistics", path);
    try {
        const std::string text = ctl::dump(control_sources(), what);
        const std::string staged = path + ".new";
        {
            std::ofstream out(staged, std::ios::trunc);
            out << text;
            if (!out.flush()) throw std::runtime_error("cannot write " + staged + ": " + strerror(errno));
        }
        std::filesystem::rename(staged, path);
    } catch (const std::exception& e) {
        log::error("Cannot print to {}: {}", path, e.what());
    }
}

ctl::Reloads Daemon::reloads() const {
    std::lock_guard lock(reloads_mutex_);
    return reloads_;
}

// `lbctl reload`: the reload runs now, in the request's turn of the loop,
// and its outcome is the answer.
ctl::Reloads Daemon::reload_asked() {
    try {
        return reload();
    } catch (const VrrpLost&) {
        fatal_ = std::current_exception();
        loop_.stop();
        return reloads();
    }
}

// The outcome is logged ("Reload finished" or "Reload failed, ..."), kept
// for lbctl status and the metrics, and in systemd's STATUS until the next.
ctl::Reloads Daemon::reload() {
    log::info("Reloading");
    sd::reloading();
    const auto outcome = [this](bool applied, const std::string& error) {
        std::lock_guard lock(reloads_mutex_);
        reloads_.last_unix_ms = unix_ms_now();
        reloads_.last_applied = applied;
        reloads_.last_error = error;
        if (applied) reloads_.loaded_unix_ms = reloads_.last_unix_ms;
        ++(applied ? reloads_.applied : reloads_.failed);
    };
    bool vrrp_reloaded = false;
    try {
        config::Config next = load_config(options_);
        if (!same_startup_settings(cfg_, next))
            throw std::runtime_error(
                "lb_interface, lb_ring_size, lb_conntrack_size, lb_tunnel_source, metrics_listen and net_namespace take "
                "a restart");
        dp_.check_capacity(next.virtual_servers);
        static_.change_to(next);
        if (!same_vrrp_settings(cfg_, next)) {
            reload_vrrp(next);
            vrrp_reloaded = true;
        }
        reload_checks(next);
        dp_.set_flood_guard(next.global.flood_guard);
        announcer_.configure(next.global.announce_table, next.virtual_servers, floated(next));
        cfg_ = std::move(next);
        log::info("Reload finished");
        outcome(true, "");
    } catch (const VrrpLost& e) {
        outcome(false, e.what());
        throw;
    } catch (const std::exception& e) {
        static_.change_to(cfg_);
        log::error("Reload failed, keeping the running configuration: {}", e.what());
        outcome(false, e.what());
        // The data plane refused what the checks would serve (it changed
        // nothing): the VRRP instances go back to the running config's.
        if (vrrp_reloaded) restore_vrrp();
    }
    sd::ready(said_ = summary());
    return reloads();
}

// The VRRP part of a reload: the running engine hands its instances over to
// one made from `next` (vrrp/handover.h). When that one cannot start, the
// instances of the running config start again from the hand-over, and the
// reload fails.
void Daemon::reload_vrrp(const config::Config& next) {
    // What surely fails is refused before anything stops.
    for (const auto& vi : next.vrrp_instances)
        if (!netif::exists(vi.interface))
            throw std::runtime_error(fmt::format("vrrp_instance {}: no interface {}", vi.name, vi.interface));
    std::unique_ptr<vrrp::Engine> old;
    {
        std::lock_guard lock(swap_);
        old = std::move(vrrp_);
    }
    vrrp::Handover handover;
    if (old) handover = old->hand_over(next);
    old.reset();
    auto start = [&](const config::Config& c) {
        dp_.set_managed(vrrp::Engine::managed_addresses(c));
        if (c.vrrp_instances.empty()) {
            handover.settle({});
            return;
        }
        if (!addresses_) addresses_ = std::make_unique<vrrp::AddressManager>();
        auto fresh = std::make_unique<vrrp::Engine>(c, forwarding_, *addresses_, &handover);
        fresh->set_watchdog(watchdog_);
        fresh->start();
        std::lock_guard lock(swap_);
        vrrp_ = std::move(fresh);
    };
    try {
        start(next);
    } catch (const std::exception& e) {
        log::error("VRRP instances of the new configuration cannot start: {}; starting the running ones again",
                   e.what());
        try {
            start(cfg_);
        } catch (const std::exception& again) {
            throw VrrpLost(fmt::format("VRRP instances cannot start again: {}", again.what()));
        }
        throw std::runtime_error(std::string("VRRP: ") + e.what());
    }
}

// The instances the new config's engine runs are handed back to one made
// from the running config, their states carried as in any hand-over.
void Daemon::restore_vrrp() {
    try {
        reload_vrrp(cfg_);
    } catch (const VrrpLost&) {
        throw;
    } catch (const std::exception& e) {
        throw VrrpLost(fmt::format("VRRP instances of the running configuration cannot start again: {}", e.what()));
    }
}

// Stops the running checkers, starts those of `next` from their states and
// applies what they serve; on failure the running ones go on.
void Daemon::reload_checks(const config::Config& next) {
    checks_->stop();
    try {
        auto fresh = std::make_unique<check::Engine>(
            next, next.virtual_servers,
            [this](const config::VirtualServer& vs, const std::set<IpAddr>& drop) { dp_.update_service(vs, drop); },
            checks_->carry());
        watch_quorum(*fresh);
        dp_.apply(fresh->services());
        std::lock_guard lock(swap_);
        checks_ = std::move(fresh);
    } catch (...) {
        checks_->start();
        throw;
    }
    checks_->start();
}

int Daemon::run() {
    loop_.run();
    if (fatal_) std::rethrow_exception(fatal_);
    // The routers first, then VRRP: the other nodes take over while this
    // one still forwards.
    let_flows_leave(announcer_.stop());
    if (vrrp_)
        vrrp_->stop();
    checks_->shutdown();
    return vrrp_ && vrrp_->failed() ? 1 : 0;
}

// Waits, bounded, until the routers have moved the flows of the VIPs just
// withdrawn: until no packet to them has come for kQuiet.
void Daemon::let_flows_leave(const std::vector<IpAddr>& withdrawn) {
    if (withdrawn.empty()) return;
    const auto start = Clock::now();
    auto quiet_since = start;
    uint64_t seen = packets_to(dp_.pin_dir(), withdrawn);
    while (Clock::now() - quiet_since < kQuiet) {
        if (Clock::now() - start >= kStopGrace) {
            log::warn("Traffic to the withdrawn VIPs still arrives after {} ms; stopping anyway",
                      std::chrono::duration_cast<std::chrono::milliseconds>(kStopGrace).count());
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (const uint64_t now = packets_to(dp_.pin_dir(), withdrawn); now != seen) {
            seen = now;
            quiet_since = Clock::now();
        }
    }
    log::info("No traffic to the withdrawn VIPs for {} ms ({} ms after withdrawing them)",
              std::chrono::duration_cast<std::chrono::milliseconds>(kQuiet).count(),
              std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// `systemctl status`'s line: what runs and who is master.
std::string Daemon::summary() const {
    std::string out = fmt::format("{} virtual servers", cfg_.virtual_servers.size());
    if (vrrp_) {
        int masters = 0;
        const auto instances = vrrp_->status();
        for (const auto& i : instances)
            masters += i.state == vrrp::State::MASTER;
        out += fmt::format(", {} VRRP instances, {} MASTER here", instances.size(), masters);
    }
    if (const auto a = announcer_.status(); a.table) {
        size_t announced = 0;
        for (const auto& v : a.vips) announced += v.verdict == announce::Verdict::announced;
        out += fmt::format(", {} VIPs announced{}", announced, a.drained ? " (drained)" : "");
    }
    const ctl::Reloads r = reloads();
    if (r.last_unix_ms != 0)
        out += fmt::format("; reload at {:%H:%M:%S} {}", fmt::localtime(static_cast<std::time_t>(r.last_unix_ms / 1000)),
                           r.last_applied ? "applied" : "failed: " + r.last_error);
    return out;
}

}  // namespace

UniqueFd lock_instance(const std::string& instance) {
    std::filesystem::create_directories(kRunDir);
    const std::string path = lock_path(instance);
    UniqueFd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
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

std::string instance_name(const DaemonOptions& options, const config::GlobalDefs& global) {
    if (!options.instance.empty()) return options.instance;
    return global.net_namespace.empty() ? "default" : global.net_namespace;
}

void enter_net_namespace(const config::GlobalDefs& global) {
    if (global.net_namespace.empty()) return;
    try {
        lbd::enter_net_namespace(net_namespace_path(global.net_namespace));
    } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: net_namespace {}: {}", config::to_string(global.net_namespace_loc),
                                             global.net_namespace, e.what()));
    }
    const std::string ident = "lbd_" + global.net_namespace;
    log::info("Running in network namespace {}; changing syslog ident to {}", global.net_namespace, ident);
    log::set_ident(ident);
}

namespace {

// A reload makes every ring it changes (up to one per virtual service)
// before it writes any, holding a descriptor for each; with the checkers'
// sockets that passes the soft limit of 1,024 that systemd and shells set
// for select()'s sake. lbd uses epoll only: it takes the hard limit.
void raise_descriptor_limit() {
    rlimit l{};
    if (getrlimit(RLIMIT_NOFILE, &l) != 0 || l.rlim_cur >= l.rlim_max) return;
    l.rlim_cur = l.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &l) != 0)
        log::warn("cannot raise the open files limit to {}: {}", l.rlim_max, strerror(errno));
}

}  // namespace

int run_daemon(const DaemonOptions& options) {
    log::info("Starting lbd v{}", kVersion);
    raise_descriptor_limit();
    try {
        Daemon daemon(options);
        return daemon.run();
    } catch (const std::exception& e) {
        log::error("{}", e.what());
        return 1;
    }
}

}  // namespace lbd
