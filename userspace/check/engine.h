// The health checkers: every checker of every real_server, run on a thread
// of their own around one event loop (util/loop.h), apart from the VRRP
// thread and the daemon's main loop, so a slow server, a TLS handshake or a
// hanging script delays nothing else. Each checker's attempts (check/probe.h)
// are counted by a CheckerState; a real is up while all its checkers are;
// each virtual server's Pool turns its reals' verdicts into the service the
// data plane serves, handed to `apply` from the checkers' thread.
//
// Choices:
// - The first attempt of each checker comes at a random moment within its
//   warmup (default delay_loop), so a thousand reals are not checked in the
//   same millisecond.
// - FILE_CHECK reads its track_file through inotify (util/track_files.h):
//   the value times the weight (negated with reverse) at -254 or below is
//   down, as a VRRP track_file is; with `dynamic` the real's weight is its
//   configured weight plus that product (never below 0).
// - A reload builds a new engine; checkers whose virtual server, real and
//   position in the file are the same keep their up/down state.
// - notify_up / notify_down of a real and quorum_up / quorum_down of a
//   virtual server run as child processes (with no timeout, as keepalived);
//   with `omega`, shutdown() runs notify_down for the live reals and
//   quorum_down, and waits a second for them (a reload's stop() does not).
#pragma once

#include "check/pool.h"
#include "util/child_process.h"
#include "config/model.h"
#include "check/status.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lbd::check {

class Engine {
public:
    using Apply = std::function<void(const config::VirtualServer& service, const std::set<config::IpAddr>& drop_flows)>;
    // What a reload carries from one engine to the next, by keys naming the
    // virtual server, the real and (for checkers) the checker's position.
    struct Carry {
        std::map<std::string, bool> checkers;             // up
        std::map<std::string, Pool::Override> overrides;  // lbctl drain / weight
        // MISC_CHECK and notify scripts still running: they run to their end
        // or their timeout under the next engine.
        std::shared_ptr<ChildProcesses> children;
    };

    // `services`: the virtual servers the data plane can serve (their reals
    // as configured). Throws std::runtime_error when a checker cannot be
    // set up (a socket type refused, a file that cannot be watched).
    Engine(const config::Config& cfg, std::vector<config::VirtualServer> services, Apply apply,
           const Carry& previous = {});
    ~Engine();  // stop()
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // What the data plane is to serve before start(): alpha reals out,
    // previous states kept.
    std::vector<config::VirtualServer> services() const;

    // Whether a virtual server has its quorum (check/pool.h), for whoever
    // announces its VIP: `fn` is called at once, on the caller's thread,
    // for every service (as configured), then on the checkers' thread each
    // time one gains or loses it. Set before start().
    using QuorumWatch = std::function<void(const config::VirtualServer& service, bool quorum)>;
    void watch_quorum(QuorumWatch fn);

    void start();
    // Pauses the checkers (a reload builds the next engine meanwhile).
    void stop();
    // The daemon stopping: stop(), then omega's scripts.
    void shutdown();
    // For the next engine after a reload (call after stop()).
    Carry carry() const;
    // Attempts finished so far (any thread).
    uint64_t attempts() const;

    // Every real of every service as its checks leave it (any thread).
    std::vector<RealStatus> status() const;
    // lbctl drain / undrain / weight (any thread, once started): the reals
    // with this address (and port, when given) in every service. Returns how
    // many changed or already were so; throws std::runtime_error when the
    // checkers' thread does not answer within a second.
    size_t set_drained(const config::IpAddr& addr, std::optional<uint16_t> port, bool drained);
    // nullopt: back to the configured (or dynamic) weight.
    size_t set_weight(const config::IpAddr& addr, std::optional<uint16_t> port, std::optional<uint32_t> weight);

private:
    struct Parts;
    size_t post_override(const config::IpAddr& addr, std::optional<uint16_t> port,
                         std::function<Pool::Override(Pool::Override)> edit);
    std::unique_ptr<Parts> parts_;
    std::thread thread_;
};

}  // namespace lbd::check
