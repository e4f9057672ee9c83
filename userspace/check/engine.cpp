#include "check/engine.h"

#include "check/checker_state.h"
#include "util/loop.h"
#include "check/pool.h"
#include "check/probe.h"
#include "check/socket.h"
#include "config/nat.h"
#include "util/child_process.h"
#include "util/log.h"
#include "util/track_files.h"

#include <fmt/format.h>
#include <sys/epoll.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <utility>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;

constexpr auto kOmegaGrace = 1s;

// "TCP connection to [10.0.0.2]:tcp:80", "HTTP_GET on service [10.0.0.2]:tcp:80".
std::string what(const config::Checker& c, const config::VirtualServer& vs, const config::RealServer& real) {
    const std::string svc = c.type == config::CheckerType::MISC_CHECK || c.type == config::CheckerType::FILE_CHECK
                                ? service_name(real.addr, real.port, vs.proto)
                                : service_name(c.target, vs.proto);
    if (c.type == config::CheckerType::TCP_CHECK) return "TCP connection to " + svc;
    return fmt::format("{} on service {}", config::to_string(c.type), svc);
}

std::string vs_key(const config::VirtualServer& vs) { return service_name(vs.addr, vs.port, vs.proto); }

std::string real_key(const config::VirtualServer& vs, const config::RealServer& real) {
    return vs_key(vs) + " " + service_name(real.addr, real.port, vs.proto);
}

int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

struct Engine::Parts {
    // One checker of one real.
    struct Run {
        size_t vs = 0, real = 0;
        const config::Checker* cfg = nullptr;
        std::string key;   // for the next engine: VS, real and position
        std::string name;  // what(): for log lines
        CheckerState state;
        std::unique_ptr<Probe> probe;       // none for FILE_CHECK
        std::optional<uint32_t> weight;     // dynamic weight last reported
        Loop::TimerId timer = 0;
        Clock::time_point started{};        // of the attempt in flight
    };

    Parts(const config::Config& cfg, std::vector<config::VirtualServer> services, Apply apply,
          const Carry& previous);

    bool real_up(size_t vs, size_t real) const;
    std::optional<uint32_t> real_weight(size_t vs, size_t real) const;
    void schedule(Run& run, config::Duration after);
    void attempt(Run& run);
    void finished(Run& run, const ProbeResult& result);
    void update_real(size_t vs, size_t real);
    void tell_quorum(size_t vs, const std::vector<Pool::Change>& changes);
    void file_changed(const std::string& name, int64_t value);
    void run_script(const std::optional<config::Script>& script, const std::string& why);
    void omega();
    void publish(size_t vs, size_t real);
    size_t override_matching(const config::IpAddr& addr, std::optional<uint16_t> port,
                             const std::function<Pool::Override(Pool::Override)>& edit);

    const config::Config cfg;
    const std::vector<config::VirtualServer> services;
    const Apply apply;
    Engine::QuorumWatch quorum_watch;
    Loop loop;
    std::shared_ptr<ChildProcesses> children_kept;  // shared with the engines a reload carries it to
    ChildProcesses& children;
    std::vector<Pool> pools;  // by service
    std::vector<std::unique_ptr<Run>> runs;
    std::map<std::pair<size_t, size_t>, std::vector<Run*>> by_real;
    std::unique_ptr<TrackFiles> files;
    std::mt19937_64 rng{std::random_device{}()};
    std::atomic<uint64_t> attempts{0};

    // For status(): written on the checkers' thread, copied by readers.
    mutable std::mutex status_mutex;
    std::vector<std::vector<RealStatus>> published;  // [vs][real]
};

Engine::Parts::Parts(const config::Config& config, std::vector<config::VirtualServer> svcs, Apply apply_fn,
                     const Carry& previous)
    : cfg(config),
      services(std::move(svcs)),
      apply(std::move(apply_fn)),
      children_kept(previous.children ? previous.children : std::make_shared<ChildProcesses>()),
      children(*children_kept) {
    children.set_script_security(cfg.global.enable_script_security);
    std::set<std::string> watched_files;
    for (size_t v = 0; v < services.size(); ++v) {
        const config::VirtualServer& vs = services[v];
        for (size_t r = 0; r < vs.reals.size(); ++r) {
            const config::RealServer& real = vs.reals[r];
            for (size_t c = 0; c < real.checkers.size(); ++c) {
                const config::Checker& checker = real.checkers[c];
                auto run = std::make_unique<Run>(Run{v, r, &checker,
                                                     fmt::format("{} {} #{}", vs_key(vs),
                                                                 service_name(real.addr, real.port, vs.proto), c),
                                                     what(checker, vs, real), CheckerState(checker.timing), {}, {}, 0});
                if (auto it = previous.checkers.find(run->key); it != previous.checkers.end())
                    run->state = CheckerState(checker.timing, it->second);
                if (const auto* f = std::get_if<config::FileCheck>(&checker.detail))
                    watched_files.insert(f->track_file);
                else
                    run->probe = make_probe(checker, ProbeContext{loop, children, cfg.global, vs, real});
                by_real[{v, r}].push_back(run.get());
                runs.push_back(std::move(run));
            }
        }
    }
    std::vector<TrackedFile> tracked;
    for (const auto& f : cfg.track_files)
        if (watched_files.contains(f.name)) tracked.push_back(f);
    if (!tracked.empty()) {
        files = std::make_unique<TrackFiles>(
            tracked, [this](const std::string& name, int64_t value) { file_changed(name, value); });
        for (const auto& f : tracked) file_changed(f.name, files->value(f.name));
    }
    for (size_t v = 0; v < services.size(); ++v) {
        std::vector<bool> up;
        for (size_t r = 0; r < services[v].reals.size(); ++r) up.push_back(real_up(v, r));
        pools.emplace_back(services[v], std::move(up));
        published.emplace_back();
        for (size_t r = 0; r < services[v].reals.size(); ++r) {
            const config::RealServer& real = services[v].reals[r];
            if (auto w = real_weight(v, r)) pools[v].set(r, pools[v].up(r), w);
            if (auto it = previous.overrides.find(real_key(services[v], real)); it != previous.overrides.end())
                pools[v].set_override(r, it->second);
            RealStatus st;
            st.vs = vs_key(services[v]);
            st.real = service_name(real.addr, real.port, services[v].proto);
            st.address = real.addr;
            st.port = real.port;
            if (services[v].mode == config::Mode::NAT) {
                const config::NatReplyKey k = config::reply_key(services[v], real);
                st.nat_proto = static_cast<uint8_t>(config::ip_protocol(k.proto));
                st.nat_port = k.port;
            }
            st.configured_weight = real.weight;
            published[v].push_back(std::move(st));
            publish(v, r);
        }
    }

    loop.watch(children.fd(), EPOLLIN, [this](uint32_t) { children.dispatch(); });
    if (files) loop.watch(files->fd(), EPOLLIN, [this](uint32_t) { files->dispatch(); });
}

bool Engine::Parts::real_up(size_t vs, size_t real) const {
    auto it = by_real.find({vs, real});
    if (it == by_real.end()) return true;  // no checker: always up
    return std::all_of(it->second.begin(), it->second.end(), [](const Run* r) { return r->state.up(); });
}

std::optional<uint32_t> Engine::Parts::real_weight(size_t vs, size_t real) const {
    auto it = by_real.find({vs, real});
    if (it == by_real.end()) return std::nullopt;
    for (const Run* r : it->second)
        if (r->weight) return r->weight;
    return std::nullopt;
}

void Engine::Parts::schedule(Run& run, config::Duration after) {
    run.timer = loop.after(after, [this, &run] {
        run.timer = 0;
        attempt(run);
    });
}

void Engine::Parts::attempt(Run& run) {
    run.started = Clock::now();
    run.probe->start([this, &run](ProbeResult result) { finished(run, result); });
}

void Engine::Parts::finished(Run& run, const ProbeResult& result) {
    attempts.fetch_add(1, std::memory_order_relaxed);
    {
        std::lock_guard lock(status_mutex);
        RealStatus& st = published[run.vs][run.real];
        st.last_result = result.detail;
        st.last_latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - run.started).count();
        st.last_check_unix_ms = unix_ms();
        ++st.checks;
        if (!result.ok) ++st.failures;
    }
    const bool was_up = run.state.up();
    const auto outcome = run.state.on_result(result.ok);
    const auto& timing = run.cfg->timing;
    if (!result.ok && (was_up || timing.log_all_failures))
        log::info("{} failed: {}.{}", run.name, result.detail,
                  outcome.retrying ? fmt::format(" Retry {} of {}.", run.state.retries(), timing.retry) : "");
    if (outcome.changed && result.ok)
        log::info("{} succeeded.", run.name);
    else if (outcome.changed)
        log::info("{} failed after {} retries.", run.name, timing.retry);
    const auto weight = result.ok ? result.weight : run.weight;
    const bool weight_changed = weight != run.weight;
    run.weight = weight;
    if (outcome.changed || weight_changed) update_real(run.vs, run.real);
    publish(run.vs, run.real);
    schedule(run, outcome.next);
}

// A real's verdict to its pool, and what changed to the data plane, then
// the log and the scripts: a line saying a service was removed is true when
// it is read.
void Engine::Parts::update_real(size_t v, size_t r) {
    Pool& pool = pools[v];
    const std::set<config::IpAddr> failed_before = pool.failed();
    const auto changes = pool.set(r, real_up(v, r), real_weight(v, r));
    if (changes.empty()) return;
    for (size_t i = 0; i < services[v].reals.size(); ++i) publish(v, i);
    std::set<config::IpAddr> drop;
    for (const auto& addr : pool.failed())
        if (!failed_before.contains(addr)) drop.insert(addr);
    try {
        apply(pool.service(), drop);
    } catch (const std::exception& e) {
        log::error("VS {}: the data plane refused the change: {}", pool.name(), e.what());
    }
    const config::VirtualServer& vs = services[v];
    tell_quorum(v, changes);
    for (const auto& c : changes) {
        log::info("{}", c.line);
        switch (c.kind) {
        case Pool::Change::Kind::real_up: run_script(vs.reals[c.real].notify_up, c.line); break;
        case Pool::Change::Kind::real_down: run_script(vs.reals[c.real].notify_down, c.line); break;
        case Pool::Change::Kind::quorum_gained: run_script(vs.quorum_up, c.line); break;
        case Pool::Change::Kind::quorum_lost: run_script(vs.quorum_down, c.line); break;
        case Pool::Change::Kind::weight: break;
        }
    }
}

void Engine::Parts::tell_quorum(size_t v, const std::vector<Pool::Change>& changes) {
    if (!quorum_watch) return;
    for (const auto& c : changes)
        if (c.kind == Pool::Change::Kind::quorum_gained || c.kind == Pool::Change::Kind::quorum_lost)
            quorum_watch(services[v], c.kind == Pool::Change::Kind::quorum_gained);
}

void Engine::Parts::file_changed(const std::string& name, int64_t value) {
    for (auto& run : runs) {
        const auto* f = std::get_if<config::FileCheck>(&run->cfg->detail);
        if (!f || f->track_file != name) continue;
        const int64_t product = std::clamp<int64_t>(value, -2147483647, 2147483647) * f->weight * (f->reverse ? -1 : 1);
        const bool up = f->weight == 0 ? (value == 0) != f->reverse : product > kTrackFileDown;
        const uint32_t base = services[run->vs].reals[run->real].weight;
        std::optional<uint32_t> weight;
        if (f->dynamic && up) weight = static_cast<uint32_t>(std::clamp<int64_t>(base + product, 0, UINT32_MAX));
        const bool changed = up != run->state.up() || weight != run->weight;
        run->state = CheckerState(run->cfg->timing, up);
        run->weight = weight;
        // Before the pools exist (the first read), they start from these.
        if (changed && run->vs < pools.size()) {
            log::info("{}: track_file {} reads {}: {}", run->name, name, value, up ? "up" : "down");
            update_real(run->vs, run->real);
        }
    }
}

void Engine::Parts::publish(size_t v, size_t r) {
    const Pool& pool = pools[v];
    std::lock_guard lock(status_mutex);
    RealStatus& st = published[v][r];
    st.up = pool.up(r);
    st.drained = pool.override_of(r).drained;
    st.weight = pool.up(r) && (pool.quorum() || !services[v].sorry_server) ? pool.weight(r) : 0;
}

// On the checkers' thread: each real of that address (and port) gets
// edit(its override); the pools that changed go to the data plane.
size_t Engine::Parts::override_matching(const config::IpAddr& addr, std::optional<uint16_t> port,
                                        const std::function<Pool::Override(Pool::Override)>& edit) {
    size_t matched = 0;
    for (size_t v = 0; v < services.size(); ++v) {
        bool changed = false;
        for (size_t r = 0; r < services[v].reals.size(); ++r) {
            const config::RealServer& real = services[v].reals[r];
            if (real.addr != addr || (port && real.port != *port)) continue;
            ++matched;
            const auto changes = pools[v].set_override(r, edit(pools[v].override_of(r)));
            for (const auto& c : changes) {
                log::info("{}", c.line);
                changed = true;
            }
            tell_quorum(v, changes);
        }
        if (!changed) continue;
        for (size_t r = 0; r < services[v].reals.size(); ++r) publish(v, r);
        try {
            apply(pools[v].service(), {});
        } catch (const std::exception& e) {
            log::error("VS {}: the data plane refused the change: {}", pools[v].name(), e.what());
        }
    }
    return matched;
}

void Engine::Parts::run_script(const std::optional<config::Script>& script, const std::string& why) {
    if (!script) return;
    const std::string command = script->command;
    auto error = children.start(with_default_user(*script, cfg.global.script_user, cfg.global.script_group), {}, std::chrono::milliseconds(0),
                                [command](const ChildResult& r) {
                                    if (r.signal != 0 || r.exit_status != 0)
                                        log::warn("Script {} ended with {}", command,
                                                  r.signal != 0 ? fmt::format("signal {}", r.signal)
                                                                : fmt::format("status {}", r.exit_status));
                                });
    if (error) log::warn("Cannot run {} ({}): {}", command, why, *error);
}

void Engine::Parts::omega() {
    bool any = false;
    for (size_t v = 0; v < services.size(); ++v) {
        const config::VirtualServer& vs = services[v];
        if (!vs.omega) continue;
        any = true;
        for (size_t r = 0; r < vs.reals.size(); ++r)
            if (pools[v].up(r)) run_script(vs.reals[r].notify_down, "omega");
        if (pools[v].quorum()) run_script(vs.quorum_down, "omega");
    }
    if (!any) return;
    const auto deadline = Clock::now() + kOmegaGrace;
    while (children.running() > 0 && Clock::now() < deadline) loop.run_once(100ms);
}

Engine::Engine(const config::Config& cfg, std::vector<config::VirtualServer> services, Apply apply,
               const Carry& previous)
    : parts_(std::make_unique<Parts>(cfg, std::move(services), std::move(apply), previous)) {}

Engine::~Engine() { stop(); }

std::vector<config::VirtualServer> Engine::services() const {
    std::vector<config::VirtualServer> out;
    for (const auto& pool : parts_->pools) out.push_back(pool.service());
    return out;
}

void Engine::watch_quorum(QuorumWatch fn) {
    parts_->quorum_watch = std::move(fn);
    for (size_t v = 0; v < parts_->services.size(); ++v)
        parts_->quorum_watch(parts_->services[v], parts_->pools[v].quorum());
}

void Engine::start() {
    if (thread_.joinable()) return;
    Parts& p = *parts_;
    for (auto& run : p.runs) {
        if (!run->probe) continue;
        const auto warmup = run->cfg->timing.warmup;
        const int64_t us = warmup.count() > 0 ? std::uniform_int_distribution<int64_t>(0, warmup.count())(p.rng) : 0;
        p.schedule(*run, config::Duration(us));
    }
    size_t checkers = p.runs.size();
    log::info("Health checkers started: {} checkers on {} virtual servers", checkers, p.services.size());
    thread_ = std::thread([this] {
        try {
            parts_->loop.run();
        } catch (const std::exception& e) {
            log::error("health checkers' loop failed: {}; reals keep their last state", e.what());
        }
    });
}

void Engine::stop() {
    if (!thread_.joinable()) return;
    parts_->loop.stop();
    thread_.join();
    for (auto& run : parts_->runs) {
        if (run->probe) run->probe->cancel();
        if (run->timer) parts_->loop.cancel(run->timer);
        run->timer = 0;
    }
}

void Engine::shutdown() {
    stop();
    parts_->omega();
}

uint64_t Engine::attempts() const { return parts_->attempts.load(std::memory_order_relaxed); }

Engine::Carry Engine::carry() const {
    Carry out;
    out.children = parts_->children_kept;
    for (const auto& run : parts_->runs) out.checkers[run->key] = run->state.up();
    for (size_t v = 0; v < parts_->services.size(); ++v)
        for (size_t r = 0; r < parts_->services[v].reals.size(); ++r)
            if (const auto& o = parts_->pools[v].override_of(r); o != Pool::Override{})
                out.overrides[real_key(parts_->services[v], parts_->services[v].reals[r])] = o;
    return out;
}

std::vector<RealStatus> Engine::status() const {
    std::lock_guard lock(parts_->status_mutex);
    std::vector<RealStatus> out;
    for (const auto& vs : parts_->published) out.insert(out.end(), vs.begin(), vs.end());
    return out;
}

size_t Engine::set_drained(const config::IpAddr& addr, std::optional<uint16_t> port, bool drained) {
    return post_override(addr, port, [drained](Pool::Override o) {
        o.drained = drained;
        return o;
    });
}

size_t Engine::set_weight(const config::IpAddr& addr, std::optional<uint16_t> port, std::optional<uint32_t> weight) {
    return post_override(addr, port, [weight](Pool::Override o) {
        o.weight = weight;
        return o;
    });
}

// The pools belong to the checkers' thread: the edit runs there, and the
// caller waits (bounded) for the count.
size_t Engine::post_override(const config::IpAddr& addr, std::optional<uint16_t> port,
                             std::function<Pool::Override(Pool::Override)> edit) {
    auto answer = parts_->loop.call([parts = parts_.get(), addr, port, edit = std::move(edit)] {
        return parts->override_matching(addr, port, edit);
    });
    if (!answer) throw std::runtime_error("the health checkers did not answer within a second");
    return *answer;
}

}  // namespace lbd::check
