#include "vrrp/engine.h"

#include "notify/smtp.h"
#include "util/child_process.h"
#include "util/log.h"
#include "vrrp/address_manager.h"
#include "vrrp/leases.h"
#include "vrrp/link_monitor.h"
#include "vrrp/multicast.h"
#include "vrrp/notifier.h"
#include "vrrp/sync_group.h"
#include "vrrp/track_files.h"
#include "vrrp/track_scripts.h"
#include "vrrp/tracking.h"
#include "vrrp/virtual_router.h"
#include "vrrp/xdp_channel.h"

#include <fmt/format.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace lbd::vrrp {
namespace {

// epoll tags.
enum Source : uint32_t { kStop, kTimer, kAdverts, kLinks, kScripts, kFiles, kChildren, kRequests };

constexpr auto kAnswerWithin = std::chrono::seconds(1);

// notify_stop scripts are killed after a second (Notifier); a little more
// lets their end be reaped and logged.
constexpr auto kStopGrace = std::chrono::milliseconds(1500);

std::optional<notify::SmtpSettings> smtp_settings(const config::GlobalDefs& g) {
    if (!g.smtp_server || g.notification_email.empty()) return std::nullopt;
    notify::SmtpSettings s;
    s.server = g.smtp_server->host;
    s.port = g.smtp_server->port;
    s.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(g.smtp_connect_timeout);
    s.helo_name = g.smtp_helo_name;
    s.from = g.notification_email_from;
    s.to = g.notification_email;
    return s;
}

// keepalived runs only the vrrp_scripts something tracks.
std::vector<config::VrrpScript> used_scripts(const config::Config& cfg) {
    auto used = [&](const std::string& name) {
        auto in = [&](const std::vector<config::Tracked>& list) {
            return std::any_of(list.begin(), list.end(), [&](const config::Tracked& t) { return t.name == name; });
        };
        return std::any_of(cfg.vrrp_instances.begin(), cfg.vrrp_instances.end(),
                           [&](const config::VrrpInstance& v) { return in(v.track_scripts); }) ||
               std::any_of(cfg.vrrp_sync_groups.begin(), cfg.vrrp_sync_groups.end(),
                           [&](const config::VrrpSyncGroup& g) { return in(g.track_scripts); });
    };
    std::vector<config::VrrpScript> out;
    for (const auto& s : cfg.vrrp_scripts)
        if (used(s.name)) out.push_back(s);
    return out;
}

// The instance of `next` a reload keeps `before` as, if any.
const config::VrrpInstance* kept_by(const config::Config& next, const config::VrrpInstance& before) {
    for (const auto& n : next.vrrp_instances)
        if (continues(before, n)) return &n;
    return nullptr;
}

void watch(int epoll, int fd, Source tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = tag;
    if (epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &ev) < 0)
        throw std::system_error(errno, std::generic_category(), "VRRP loop: epoll_ctl");
}

}  // namespace

struct Engine::Parts {
    Parts(const config::Config& config, dataplane::Dataplane& dp, Handover* from);

    RouterEnv env();
    void retrack(const std::vector<size_t>& instances);
    void changed(size_t router, State state);
    void read_adverts();
    void run_timers(TimePoint now);
    void arm_timer();
    void renew_leases(TimePoint now);
    std::chrono::milliseconds renew_within() const;
    void shutdown();
    void depart(const config::Config& next);
    Handover collect(const config::Config& next);
    void reap_children();
    bool publish();
    void run_requests();
    std::string failover(const std::string& name);

    const config::Config cfg;
    dataplane::Dataplane& dp;
    ChildProcesses children;
    std::unique_ptr<notify::SmtpNotifier> smtp;
    Notifier notifier;
    AddressManager addresses;
    LinkMonitor links;
    GroupMembership membership;
    XdpChannel channel;
    Leases leases;
    Tracking tracking;
    std::vector<std::unique_ptr<VirtualRouter>> routers;  // index = instance index = channel id
    std::vector<std::unique_ptr<SyncGroup>> groups;
    std::vector<std::optional<size_t>> group_of;  // by router
    std::vector<std::optional<State>> group_notified;
    std::vector<Start> starts;  // by router: what the previous run's lease says
    struct Renewed {
        TimePoint at{};
        State state = State::INIT;
        TimePoint expires{};
    };
    std::vector<std::optional<Renewed>> renewed;  // by router
    std::unique_ptr<TrackFiles> files;
    std::unique_ptr<TrackScripts> scripts;
    bpf::UniqueFd epoll;
    bpf::UniqueFd timer;

    // status(): refreshed by the VRRP thread, copied by readers.
    mutable std::mutex status_mutex;
    std::vector<ctl::InstanceStatus> published;
    // Work other threads hand to the VRRP thread (lbctl failover).
    std::mutex requests_mutex;
    std::vector<std::function<void()>> requests;
    bpf::UniqueFd requests_fd;  // eventfd
};

Engine::Parts::Parts(const config::Config& config, dataplane::Dataplane& dataplane, Handover* from)
    : cfg(config),
      dp(dataplane),
      children(cfg.global.enable_script_security),
      smtp([&]() -> std::unique_ptr<notify::SmtpNotifier> {
          auto s = smtp_settings(cfg.global);
          return s ? std::make_unique<notify::SmtpNotifier>(*s) : nullptr;
      }()),
      notifier(children, cfg.global, smtp.get()),
      channel(dp.vrrp_handles()),
      leases(dp.vrrp_handles().leases_map),
      tracking(cfg),
      epoll(epoll_create1(EPOLL_CLOEXEC)),
      timer(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      requests_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!epoll || !timer || !requests_fd) throw std::system_error(errno, std::generic_category(), "VRRP loop set-up");
    if (cfg.vrrp_instances.size() > LBD_VRRP_MAX_INSTANCES)
        throw std::runtime_error(fmt::format("{} vrrp_instances: lbd runs at most {}", cfg.vrrp_instances.size(),
                                             LBD_VRRP_MAX_INSTANCES));
    for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i)
        routers.push_back(std::make_unique<VirtualRouter>(cfg.vrrp_instances[i], i, static_cast<uint32_t>(i), env()));

    group_of.resize(routers.size());
    for (const auto& g : cfg.vrrp_sync_groups) {
        auto group = std::make_unique<SyncGroup>(g.name, [](std::string line) { log::info("{}", line); });
        for (const auto& m : g.members)
            for (size_t i = 0; i < routers.size(); ++i)
                if (routers[i]->config().name == m.instance) {
                    group->add(routers[i]->instance());
                    group_of[i] = groups.size();
                }
        groups.push_back(std::move(group));
    }
    group_notified.resize(groups.size());

    // A restart within the lease carries on as MASTER, serving from the
    // first apply(); after an expired one the node starts as BACKUP. So does
    // an instance a reload keeps, whatever its config says about starting.
    const TimePoint started = Clock::now();
    renewed.resize(routers.size());
    std::vector<lbd_vrrp_key> keys;
    for (size_t i = 0; i < routers.size(); ++i) keys.push_back(channel.key(static_cast<uint32_t>(i)));
    for (size_t i = 0; i < routers.size(); ++i) {
        const auto previous = leases.previous(keys[i], started);
        starts.push_back(Leases::start_for(previous));
        const std::string& name = routers[i]->config().name;
        const VirtualRouter::Continued* kept = nullptr;
        if (from)
            if (auto it = from->instances.find(name); it != from->instances.end()) kept = &it->second;
        if (kept) {
            const bool master = previous && previous->current && previous->state == State::MASTER;
            starts.back() = master ? Start::resume_master : Start::resume_backup;
            if (master) routers[i]->keep_serving();
            routers[i]->continue_from(*kept);
            log::info("VRRP_Instance({}) kept through the reload as {}", name, master ? "MASTER" : "BACKUP");
        } else if (starts.back() == Start::resume_master) {
            routers[i]->keep_serving();
            log::info("VRRP_Instance({}) previous lbd was MASTER, lease current for {} ms more", name,
                      previous->left.count());
        } else if (starts.back() == Start::backup) {
            log::warn("VRRP_Instance({}) lease of the previous lbd expired {} ms ago (its addresses were "
                      "fenced): starting as BACKUP",
                      name, -previous->left.count());
        }
    }
    leases.carry_over(keys, started);

    // What is tracked is known before any instance starts: a dead link or a
    // file at -254 starts the instance in FAULT, not in a doomed election.
    for (const auto& name : tracking.interfaces()) {
        auto link = links.query(name);
        tracking.set_interface(name, link && link->up);
        if (!link || !link->up) log::info("Netlink reports {} down", name);
    }
    files = std::make_unique<TrackFiles>(cfg.track_files, [this](const std::string& name, int64_t value) {
        retrack(tracking.set_file(name, value));
    });
    for (const auto& f : cfg.track_files) tracking.set_file(f.name, files->value(f.name));
    const decltype(Handover::scripts) no_scripts;
    scripts = std::make_unique<TrackScripts>(
        children, used_scripts(cfg),
        [this](const std::string& name, Status status) { retrack(tracking.set_script(name, status)); }, cfg.global,
        from ? from->scripts : no_scripts);
    for (const auto& s : used_scripts(cfg))
        if (const Status st = scripts->status(s.name); st != Status::unknown) tracking.set_script(s.name, st);
    const TimePoint now = Clock::now();
    for (size_t i = 0; i < routers.size(); ++i) {
        Instance& in = routers[i]->instance();
        in.set_effective_priority(now, tracking.effective_priority(i, cfg.vrrp_instances[i].priority));
        in.set_fault(now, tracking.fault(i));
    }

    watch(epoll.get(), timer.get(), kTimer);
    watch(epoll.get(), channel.events_fd(), kAdverts);
    watch(epoll.get(), links.fd(), kLinks);
    watch(epoll.get(), scripts->fd(), kScripts);
    watch(epoll.get(), files->fd(), kFiles);
    watch(epoll.get(), children.fd(), kChildren);
    watch(epoll.get(), requests_fd.get(), kRequests);
    if (from) {
        std::set<std::string> vmacs;
        for (const auto& r : routers)
            if (const auto& name = r->vmac_name()) vmacs.insert(*name);
        from->settle(vmacs);
    }
    publish();
}

RouterEnv Engine::Parts::env() {
    return RouterEnv{
        channel,
        addresses,
        notifier,
        membership,
        [this](int ifindex) { return dp.native(ifindex); },
        [this](const config::IpAddr& vip, bool owned) { dp.set_owned(vip, owned); },
        [this](size_t router, State state) { changed(router, state); },
    };
}

void Engine::Parts::retrack(const std::vector<size_t>& instances) {
    const TimePoint now = Clock::now();
    for (size_t i : instances) {
        Instance& in = routers[i]->instance();
        in.set_effective_priority(now, tracking.effective_priority(i, cfg.vrrp_instances[i].priority));
        in.set_fault(now, tracking.fault(i));
    }
}

// A group notifies once all its members are in the same state.
void Engine::Parts::changed(size_t router, State state) {
    if (!group_of[router]) return;
    const size_t g = *group_of[router];
    const auto& members = groups[g]->members();
    if (!std::all_of(members.begin(), members.end(), [&](const Instance* m) { return m->state() == state; })) return;
    if (group_notified[g] == state) return;
    group_notified[g] = state;
    notifier.group_state(cfg.vrrp_sync_groups[g], state);
}

void Engine::Parts::read_adverts() {
    channel.consume([this](const RxEvent& e) {
        if (e.instance_id < routers.size()) routers[e.instance_id]->on_packet(e.at, e.packet);
    });
}

void Engine::Parts::run_timers(TimePoint now) {
    for (auto& r : routers) r->on_timer(now);
}

// A MASTER's lease runs from its last advert for 3 x its advert interval:
// the least Master_Down_Interval any backup can have (their skew is more
// than nothing), so the addresses are fenced here before a backup times out
// and takes them. Other states hold no addresses; their lease says the loop
// lives, good for one Master_Down_Interval and written again after a quarter
// of it, so a loop that turns late still renews in time.
void Engine::Parts::renew_leases(TimePoint now) {
    for (size_t i = 0; i < routers.size(); ++i) {
        const VirtualRouter& r = *routers[i];
        const Instance& in = r.instance();
        auto& last = renewed[i];
        TimePoint expires;
        if (in.state() == State::MASTER && r.last_advert()) {
            expires = *r.last_advert() + 3 * Micros(in.master_adver_int_cs() * 10'000);
            if (last && last->state == State::MASTER && last->expires == expires) continue;
        } else {
            const auto mdi = in.master_down_interval();
            if (last && last->state == in.state() && now - last->at < mdi / 4) continue;
            expires = now + mdi;
        }
        const auto id = static_cast<uint32_t>(i);
        leases.renew(id, channel.key(id), in.state(), expires);
        last = Renewed{now, in.state(), expires};
    }
}

// The longest the loop may sleep and still renew every lease in time.
std::chrono::milliseconds Engine::Parts::renew_within() const {
    auto least = std::chrono::milliseconds::max();
    for (const auto& r : routers)
        least = std::min(least, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    r->instance().master_down_interval() / 4));
    return std::max(least, std::chrono::milliseconds(1));
}

void Engine::Parts::arm_timer() {
    std::optional<TimePoint> next;
    for (const auto& r : routers)
        if (auto d = r->next_deadline(); d && (!next || *d < *next)) next = d;
    itimerspec spec{};
    if (next) {
        // Absolute CLOCK_MONOTONIC, which steady_clock reads; a deadline
        // already past fires at once (a zero it_value would disarm).
        const auto ns = std::max<int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(next->time_since_epoch()).count(), 1);
        spec.it_value.tv_sec = ns / 1'000'000'000;
        spec.it_value.tv_nsec = ns % 1'000'000'000;
    }
    timerfd_settime(timer.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

// Never waits: a reader copying the status delays this copy, not an advert.
bool Engine::Parts::publish() {
    std::unique_lock lock(status_mutex, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    published.clear();
    for (size_t i = 0; i < routers.size(); ++i)
        published.push_back(routers[i]->status(group_of[i] ? groups[*group_of[i]]->name() : std::string()));
    return true;
}

void Engine::Parts::run_requests() {
    uint64_t n;
    if (read(requests_fd.get(), &n, sizeof(n)) < 0 && errno != EAGAIN)
        log::warn("VRRP requests: {}", strerror(errno));
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock(requests_mutex);
        batch.swap(requests);
    }
    for (auto& fn : batch) fn();
}

std::string Engine::Parts::failover(const std::string& name) {
    for (auto& r : routers) {
        if (r->config().name != name) continue;
        Instance& in = r->instance();
        if (in.state() != State::MASTER)
            return fmt::format("{} is {}, not MASTER: nothing to give up", name, to_string(in.state()));
        log::info("VRRP_Instance({}) failover asked by lbctl: giving up MASTER", name);
        in.failover(Clock::now());
        return {};
    }
    return fmt::format("no vrrp_instance {}", name);
}

void Engine::Parts::shutdown() {
    const TimePoint now = Clock::now();
    for (auto& r : routers) r->instance().shutdown(now);
    reap_children();
}

void Engine::Parts::depart(const config::Config& next) {
    const TimePoint now = Clock::now();
    bool stopped = false;
    for (size_t i = 0; i < routers.size(); ++i) {
        VirtualRouter& r = *routers[i];
        if (const auto* n = kept_by(next, r.config())) {
            r.drop_addresses_not_in(*n);
            continue;
        }
        log::info("VRRP_Instance({}) is not in the new configuration: stopping it", r.config().name);
        r.instance().shutdown(now);
        leases.clear(static_cast<uint32_t>(i));
        stopped = true;
    }
    if (stopped) reap_children();
}

// After the thread is gone (hand_over()).
Handover Engine::Parts::collect(const config::Config& next) {
    Handover h;
    h.scripts = scripts->trackers();
    for (auto& r : routers) {
        if (kept_by(next, r->config())) h.instances.emplace(r->config().name, r->continued());
        if (auto v = r->take_vmac()) h.vmacs.push_back(std::move(v));
    }
    return h;
}

void Engine::Parts::reap_children() {
    const auto deadline = Clock::now() + kStopGrace;
    while (children.running() > 0 && Clock::now() < deadline) {
        epoll_event ev{};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (epoll_wait(children.fd(), &ev, 1, static_cast<int>(left.count()) + 1) > 0) children.dispatch();
    }
}

Engine::Engine(const config::Config& cfg, dataplane::Dataplane& dp, Handover* from)
    : parts_(std::make_unique<Parts>(cfg, dp, from)), stop_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!stop_) throw std::system_error(errno, std::generic_category(), "VRRP loop: eventfd");
    watch(parts_->epoll.get(), stop_.get(), kStop);
}

Engine::~Engine() { stop(); }

void Engine::set_watchdog(sd::WatchdogPacer pacer) {
    if (pacer.enabled()) watchdog_.emplace(std::move(pacer));
}

void Engine::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void Engine::stop() {
    if (!thread_.joinable()) return;
    const uint64_t one = 1;
    if (write(stop_.get(), &one, sizeof(one)) < 0) log::error("cannot stop the VRRP loop: {}", strerror(errno));
    thread_.join();
}

Handover Engine::hand_over(const config::Config& next) {
    next_ = next;
    stop();
    return parts_->collect(next);
}

void Engine::run() {
    // pid 0 is this thread. Scripts forked from it must not inherit a
    // real-time policy: RESET_ON_FORK gives them the normal one.
    sched_param sp{};
    sp.sched_priority = 1;
    if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) < 0)
        log::info("VRRP thread stays in normal scheduling: SCHED_RR refused ({})", strerror(errno));
    Parts& p = *parts_;
    try {
        const TimePoint now = Clock::now();
        for (size_t i = 0; i < p.routers.size(); ++i) p.routers[i]->instance().start(now, p.starts[i]);
        for (;;) {
            // The leases say this loop is alive: renewed on every turn that
            // is due, and the loop never sleeps past the next renewal.
            p.renew_leases(Clock::now());
            // What the last turn changed is readable before the loop sleeps;
            // when a reader held the copy, the loop comes back for it soon.
            const bool published = p.publish();
            p.arm_timer();
            int timeout = published ? static_cast<int>(p.renew_within().count()) : 1;
            if (watchdog_) {
                const auto now = Clock::now();
                watchdog_->tick(now);
                if (auto due = watchdog_->until_due(now); due && (timeout < 0 || due->count() < timeout))
                    timeout = static_cast<int>(due->count());
            }
            epoll_event evs[8];
            const int n = epoll_wait(p.epoll.get(), evs, 8, timeout);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw std::system_error(errno, std::generic_category(), "VRRP loop: epoll_wait");
            try {
                p.read_adverts();
            } catch (const std::exception& e) {
                log::error("VRRP loop: {}", e.what());
            }
            bool stopping = false;
            for (int i = 0; i < n; ++i) {
                // A source that fails is logged; the loop, and every advert, go on.
                try {
                    switch (evs[i].data.u32) {
                    case kStop: stopping = true; break;
                    case kTimer: {
                        uint64_t expirations;
                        if (read(p.timer.get(), &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
                            log::warn("VRRP timer: {}", strerror(errno));
                        break;
                    }
                    case kLinks:
                        p.links.drain([&](const LinkStatus& l) {
                            if (!p.tracking.interfaces().contains(l.name)) return;
                            log::debug("Netlink reports {} {}", l.name, l.up ? "up" : "down");
                            p.retrack(p.tracking.set_interface(l.name, l.up));
                        });
                        break;
                    case kScripts: p.scripts->dispatch(); break;
                    case kFiles: p.files->dispatch(); break;
                    case kChildren: p.children.dispatch(); break;
                    case kRequests: p.run_requests(); break;
                    case kAdverts: break;  // read above, before anything else
                    }
                } catch (const std::exception& e) {
                    log::error("VRRP loop: {}", e.what());
                }
            }
            if (stopping) {
                if (next_)
                    p.depart(*next_);
                else
                    p.shutdown();
                return;
            }
            try {
                p.run_timers(Clock::now());
            } catch (const std::exception& e) {
                log::error("VRRP loop: {}", e.what());
            }
        }
    } catch (const std::exception& e) {
        // Without its loop the node must not stay in an election it cannot
        // hold: the daemon stops, and its supervisor restarts it.
        log::error("VRRP loop failed: {}; stopping lbd", e.what());
        failed_ = true;
        kill(getpid(), SIGTERM);
    }
}

std::vector<ctl::InstanceStatus> Engine::status() const {
    std::lock_guard lock(parts_->status_mutex);
    return parts_->published;
}

std::string Engine::failover(const std::string& instance) {
    auto done = std::make_shared<std::promise<std::string>>();
    auto answer = done->get_future();
    {
        std::lock_guard lock(parts_->requests_mutex);
        parts_->requests.push_back([parts = parts_.get(), instance, done] { done->set_value(parts->failover(instance)); });
    }
    const uint64_t one = 1;
    if (write(parts_->requests_fd.get(), &one, sizeof(one)) < 0)
        return std::string("cannot reach the VRRP thread: ") + strerror(errno);
    if (answer.wait_for(kAnswerWithin) != std::future_status::ready) return "the VRRP thread did not answer within a second";
    return answer.get();
}

dataplane::Managed Engine::managed_addresses(const config::Config& cfg) {
    dataplane::Managed out;
    for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i) {
        const auto& v = cfg.vrrp_instances[i];
        // The instance id is the index, as for the channel (Parts).
        for (const auto& a : v.virtual_addresses) out.emplace(a.prefix.addr, static_cast<uint32_t>(i));
        for (const auto& a : v.excluded_addresses) out.emplace(a.prefix.addr, static_cast<uint32_t>(i));
    }
    return out;
}

}  // namespace lbd::vrrp
