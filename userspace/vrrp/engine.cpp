#include "vrrp/engine.h"

#include "notify/smtp.h"
#include "util/child_process.h"
#include "util/log.h"
#include "util/loop.h"
#include "util/track_files.h"
#include "vrrp/leases.h"
#include "vrrp/link_monitor.h"
#include "vrrp/notifier.h"
#include "vrrp/sync_group.h"
#include "vrrp/track_scripts.h"
#include "vrrp/tracking.h"
#include "vrrp/virtual_router.h"

#include <fmt/format.h>
#include <sched.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>

namespace lbd::vrrp {
namespace {

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

// A source that fails is logged; the loop, and every advert, go on.
template <class F>
void guarded(F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        log::error("VRRP loop: {}", e.what());
    }
}

}  // namespace

struct Engine::Parts {
    Parts(const config::Config& config, Forwarding& dataplane, Addresses& addresses, Handover* from);

    // The constructor's steps, in order.
    void make_routers();
    void make_groups();
    void resume(Handover* from);
    void start_tracking(Handover* from);
    void watch_sources();

    RouterEnv env();
    void retrack(const std::vector<size_t>& instances);
    void changed(size_t router, State state);
    void read_adverts();
    TimePoint before_wait();
    void renew_leases(TimePoint now);
    std::chrono::milliseconds renew_within() const;
    void shutdown();
    void depart(const config::Config& next);
    Handover collect(const config::Config& next);
    void reap_children();
    bool publish();
    std::string failover(const std::string& name);

    const config::Config cfg;
    Forwarding& dataplane;
    Addresses& addresses;
    Loop loop;
    std::shared_ptr<ChildProcesses> children_kept;  // shared with the engines a reload hands it to
    ChildProcesses& children;
    std::unique_ptr<notify::SmtpNotifier> smtp;
    Notifier notifier;
    LinkMonitor links;
    Leases leases;
    Tracking tracking;
    std::optional<sd::WatchdogPacer> watchdog;
    std::vector<std::unique_ptr<VirtualRouter>> routers;  // index = instance index = wire id
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

    // status(): refreshed by the VRRP thread, copied by readers.
    mutable std::mutex status_mutex;
    std::vector<InstanceStatus> published;
    bool published_last_turn = true;
};

Engine::Parts::Parts(const config::Config& config, Forwarding& dp, Addresses& addrs, Handover* from)
    : cfg(config),
      dataplane(dp),
      addresses(addrs),
      children_kept(from && from->children ? from->children : std::make_shared<ChildProcesses>()),
      children(*children_kept),
      smtp([&]() -> std::unique_ptr<notify::SmtpNotifier> {
          auto s = smtp_settings(cfg.global);
          return s ? std::make_unique<notify::SmtpNotifier>(*s) : nullptr;
      }()),
      notifier(children, cfg.global, smtp.get()),
      leases(dataplane.leases()),
      tracking(cfg) {
    if (cfg.vrrp_instances.size() > LBD_VRRP_MAX_INSTANCES)
        throw std::runtime_error(fmt::format("{} vrrp_instances: lbd runs at most {}", cfg.vrrp_instances.size(),
                                             LBD_VRRP_MAX_INSTANCES));
    children.set_script_security(cfg.global.enable_script_security);
    make_routers();
    make_groups();
    resume(from);
    start_tracking(from);
    watch_sources();
    if (from) {
        std::set<std::string> vmacs;
        for (const auto& r : routers)
            if (const auto& name = r->vmac_name()) vmacs.insert(*name);
        from->settle(vmacs);
    }
    publish();
}

void Engine::Parts::make_routers() {
    for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i)
        routers.push_back(std::make_unique<VirtualRouter>(cfg.vrrp_instances[i], i, static_cast<uint32_t>(i), env()));
    renewed.resize(routers.size());
}

void Engine::Parts::make_groups() {
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
}

// A restart within the lease carries on as MASTER, serving from the first
// apply(); after an expired one the node starts as BACKUP. So does an
// instance a reload keeps, whatever its config says about starting.
void Engine::Parts::resume(Handover* from) {
    const TimePoint started = Clock::now();
    std::vector<lbd_vrrp_key> keys;
    for (size_t i = 0; i < routers.size(); ++i) keys.push_back(dataplane.wire().key(static_cast<uint32_t>(i)));
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
}

// What is tracked is known before any instance starts: a dead link or a file
// at -254 starts the instance in FAULT, not in a doomed election.
void Engine::Parts::start_tracking(Handover* from) {
    for (const auto& name : tracking.interfaces()) {
        auto link = links.query(name);
        tracking.set_interface(name, link && link->up);
        if (!link || !link->up) log::info("Netlink reports {} down", name);
    }
    files = std::make_unique<TrackFiles>(
        std::vector<TrackedFile>(cfg.track_files.begin(), cfg.track_files.end()),
        [this](const std::string& name, int64_t value) { retrack(tracking.set_file(name, value)); });
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
}

// Adverts are read by after_wake, before anything else: the watch is there
// to wake the loop.
void Engine::Parts::watch_sources() {
    loop.watch(dataplane.wire().events_fd(), EPOLLIN, [](uint32_t) {});
    loop.watch(links.fd(), EPOLLIN, [this](uint32_t) {
        guarded([&] {
            links.drain([&](const LinkStatus& l) {
                if (!tracking.interfaces().contains(l.name)) return;
                log::debug("Netlink reports {} {}", l.name, l.up ? "up" : "down");
                retrack(tracking.set_interface(l.name, l.up));
            });
        });
    });
    loop.watch(scripts->fd(), EPOLLIN, [this](uint32_t) { guarded([&] { scripts->dispatch(); }); });
    loop.watch(files->fd(), EPOLLIN, [this](uint32_t) { guarded([&] { files->dispatch(); }); });
    loop.watch(children.fd(), EPOLLIN, [this](uint32_t) { guarded([&] { children.dispatch(); }); });
    loop.on_turn([this] { return before_wait(); }, [this] { guarded([&] { read_adverts(); }); });
}

RouterEnv Engine::Parts::env() {
    return RouterEnv{dataplane, addresses, notifier, [this](size_t router, State state) { changed(router, state); }};
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
    dataplane.wire().consume([this](const RxEvent& e) {
        if (e.instance_id < routers.size()) routers[e.instance_id]->on_packet(e.at, e.packet);
    });
}

// Every turn: the routers' timers judged (the adverts that woke the loop
// are read by then), the leases that are due renewed, the status copy
// refreshed; then the loop may sleep until the next deadline, the next
// renewal or the watchdog, whichever comes first.
TimePoint Engine::Parts::before_wait() {
    const TimePoint now = Clock::now();
    guarded([&] {
        for (auto& r : routers) r->on_timer(now);
    });
    guarded([&] { renew_leases(now); });
    // When a reader held the copy, the loop comes back for it soon.
    published_last_turn = publish();
    TimePoint until = now + (published_last_turn ? renew_within() : std::chrono::milliseconds(1));
    for (const auto& r : routers)
        if (auto d = r->next_deadline(); d && *d < until) until = *d;
    if (watchdog) {
        watchdog->tick(now);
        if (auto due = watchdog->until_due(now)) until = std::min(until, now + *due);
    }
    return until;
}

// A MASTER's lease runs from its last advert the wire confirmed it sent, for
// 3 x its advert interval: the least Master_Down_Interval any backup can
// have (their skew is more than nothing), so the addresses are fenced here
// before a backup that stopped hearing this node times out and takes them.
// A MASTER whose adverts fail is therefore not renewed, and stops serving.
// Other states hold no addresses; their lease says the loop lives, good for
// one Master_Down_Interval and written again after a quarter of it, so a
// loop that turns late still renews in time.
void Engine::Parts::renew_leases(TimePoint now) {
    for (size_t i = 0; i < routers.size(); ++i) {
        const VirtualRouter& r = *routers[i];
        const Instance& in = r.instance();
        auto& last = renewed[i];
        TimePoint expires;
        if (in.state() == State::MASTER) {
            const auto sent = r.last_confirmed_advert();
            if (!sent) continue;
            expires = *sent + 3 * Micros(in.master_adver_int_cs() * 10'000);
            if (last && last->state == State::MASTER && last->expires == expires) continue;
        } else {
            const auto mdi = in.master_down_interval();
            if (last && last->state == in.state() && now - last->at < mdi / 4) continue;
            expires = now + mdi;
        }
        const auto id = static_cast<uint32_t>(i);
        // RFC 5798 Accept_Mode false binds a master that does not own the
        // addresses (priority below 255); the lb program enforces it.
        const config::VrrpInstance& cfg = r.config();
        const uint8_t flags = !cfg.accept && cfg.priority != 255 ? LBD_LEASE_F_NO_ACCEPT : 0;
        leases.renew(id, dataplane.wire().key(id), in.state(), expires, flags);
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

// Never waits: a reader copying the status delays this copy, not an advert.
bool Engine::Parts::publish() {
    std::unique_lock lock(status_mutex, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    published.clear();
    for (size_t i = 0; i < routers.size(); ++i)
        published.push_back(routers[i]->status(group_of[i] ? groups[*group_of[i]]->name() : std::string()));
    return true;
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

// The stop scripts this starts, like every script still running, go on
// under the next engine, which holds them to their timeout; without one
// (`next` has no instances) they get their second here, as at a stop.
void Engine::Parts::depart(const config::Config& next) {
    const TimePoint now = Clock::now();
    for (size_t i = 0; i < routers.size(); ++i) {
        VirtualRouter& r = *routers[i];
        if (const auto* n = kept_by(next, r.config())) {
            r.drop_what_is_not_in(*n);
            continue;
        }
        log::info("VRRP_Instance({}) is not in the new configuration: stopping it", r.config().name);
        r.instance().shutdown(now);
        leases.clear(static_cast<uint32_t>(i));
    }
    if (next.vrrp_instances.empty()) reap_children();
}

// After the thread is gone (hand_over()).
Handover Engine::Parts::collect(const config::Config& next) {
    Handover h;
    h.scripts = scripts->trackers();
    h.children = children_kept;
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

Engine::Engine(const config::Config& cfg, Forwarding& dataplane, Addresses& addresses, Handover* from)
    : parts_(std::make_unique<Parts>(cfg, dataplane, addresses, from)) {}

Engine::~Engine() { stop(); }

void Engine::set_watchdog(sd::WatchdogPacer pacer) {
    if (pacer.enabled()) parts_->watchdog.emplace(std::move(pacer));
}

void Engine::start() {
    if (thread_.joinable()) return;
    thread_ = std::thread([this] { run(); });
}

void Engine::stop() {
    if (!thread_.joinable()) return;
    parts_->loop.stop();
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
        p.loop.run();
        if (next_)
            p.depart(*next_);
        else
            p.shutdown();
    } catch (const std::exception& e) {
        // Without its loop the node must not stay in an election it cannot
        // hold: the daemon stops, and its supervisor restarts it.
        log::error("VRRP loop failed: {}; stopping lbd", e.what());
        failed_ = true;
        kill(getpid(), SIGTERM);
    }
}

std::vector<InstanceStatus> Engine::status() const {
    std::lock_guard lock(parts_->status_mutex);
    return parts_->published;
}

std::string Engine::failover(const std::string& instance) {
    auto answer = parts_->loop.call([parts = parts_.get(), instance] { return parts->failover(instance); });
    return answer ? *answer : std::string("the VRRP thread did not answer within a second");
}

std::map<IpAddr, uint32_t> Engine::managed_addresses(const config::Config& cfg) {
    std::map<IpAddr, uint32_t> out;
    for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i) {
        const auto& v = cfg.vrrp_instances[i];
        // The instance id is the index, as for the wire (Parts).
        for (const auto& a : v.virtual_addresses) out.emplace(a.prefix.addr, static_cast<uint32_t>(i));
        for (const auto& a : v.excluded_addresses) out.emplace(a.prefix.addr, static_cast<uint32_t>(i));
    }
    return out;
}

}  // namespace lbd::vrrp
