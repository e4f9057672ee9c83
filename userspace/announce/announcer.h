// lb_announce_table kept (docs/scale-out.md): the VIPs Selection says this
// node serves, as host routes (net/host_routes.h) that a BGP engine learns
// and announces. Runs on a thread and loop of its own: a reload that
// rebuilds rings on the main loop, or a stuck checker, delays neither a
// withdrawal nor the lease.
//
// Choices:
// - The table is written by difference, and read back every second: a
//   route someone deleted is put back, one of ours that should not be there
//   goes, and a restarted daemon adopts what its predecessor left.
// - The lease: every second the data plane is told the announcement holds
//   for kLease more. Once it runs out (the daemon died, or this loop
//   stopped), the lb program drops the node's BGP and BFD packets, so its
//   routers withdraw its routes with nobody left to remove them (bpf/lib/
//   fence.h). kLease is long enough for a restarted daemon to take over.
// - Drained lasts through reloads, not restarts, as lbctl drain of a real
//   does: a restarted daemon announces again.
// - stop() withdraws everything and ends the lease: lbd stopping.
#pragma once

#include "announce/selection.h"
#include "announce/status.h"
#include "config/model.h"
#include "net/host_routes.h"
#include "util/loop.h"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lbd::announce {

inline constexpr std::chrono::seconds kLease{3};
inline constexpr std::chrono::seconds kRenewEvery{1};

class Announcer {
public:
    // The data plane's half of the lease: `expires`, or none (not announcing:
    // nothing is cut). Called from the announcer's thread.
    using Lease = std::function<void(std::optional<Clock::time_point> expires)>;

    explicit Announcer(Lease lease);
    ~Announcer();  // stop()
    Announcer(const Announcer&) = delete;
    Announcer& operator=(const Announcer&) = delete;

    // From a configuration (main thread): the table (none: announce nothing,
    // and take our routes out of the table used so far), the services and
    // the addresses vrrp_instances float.
    void configure(std::optional<uint32_t> table, const std::vector<config::VirtualServer>& services,
                   std::set<IpAddr> floated);
    // The table is first read and written once what the checkers and VRRP
    // say at start-up has been handed over: a restarted daemon must not
    // withdraw, for want of a quorum not yet told, what it adopts. The
    // thread runs from here while a table is configured (main thread).
    void start();
    // From the checkers' and VRRP threads.
    void set_quorum(const config::VirtualServer& service, bool quorum);
    void set_master(const IpAddr& addr, bool master);
    // lbctl drain-node / undrain-node (main thread): the addresses that
    // leave the table (drain) or come back (undrain). Throws
    // std::runtime_error when the announcer's thread does not answer.
    std::vector<IpAddr> set_drained(bool drained);
    // Every route of ours out of the table, the lease ended, the thread
    // joined. Returns the addresses withdrawn.
    std::vector<IpAddr> stop();

    Status status() const;

private:
    void post(std::function<void()> fn);
    void tick();
    void sync_soon();
    void sync();
    void renew();
    void withdraw_all(const std::string& reason);
    void failed(const std::string& what);
    void publish();

    void run_thread();

    const Lease lease_;
    Loop loop_;
    std::thread thread_;
    bool started_ = false;                // main thread
    std::optional<uint32_t> configured_;  // main thread: the table last configured
    // On the announcer's thread:
    Selection selection_;
    std::optional<uint32_t> table_;
    std::unique_ptr<net::HostRoutes> routes_;
    std::set<IpAddr> in_table_;
    bool sync_due_ = false;
    std::string error_;

    mutable std::mutex status_mutex_;
    Status published_;
};

}  // namespace lbd::announce
