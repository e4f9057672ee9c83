// The VRRP engine: every vrrp_instance and vrrp_sync_group of the config,
// run on a thread of their own so that nothing else the daemon does (a
// reload, the data plane, checkers) can delay an advert. One event loop
// (util/loop.h) serves the adverts the XDP program queues, the state
// machines' and announcements' timers, link events, track scripts, track
// files and notify scripts, in that order of precedence: adverts are read
// as soon as the loop wakes, before any timer is judged, so an advert that
// arrived in time is never taken for a silence.
//
// The thread asks for SCHED_RR (priority 1, keepalived's vrrp_rt_priority
// idea): an advert interval of 10 ms must hold while other work keeps the
// CPUs busy. Refused (no CAP_SYS_NICE), it runs as an ordinary thread. The
// scripts it starts run in normal scheduling.
#pragma once

#include "config/model.h"
#include "util/sd_notify.h"
#include "vrrp/addresses.h"
#include "vrrp/forwarding.h"
#include "vrrp/handover.h"
#include "vrrp/status.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace lbd::vrrp {

class Engine {
public:
    // Sets up every instance (interfaces, vmacs, the wire) in the caller's
    // thread; throws std::runtime_error naming what cannot be served.
    // `dataplane` and `addresses` outlive the engine. `from`: a reload, the
    // previous engine's hand_over(); its vmacs are settled once this engine
    // stands (left as they were when it throws).
    Engine(const config::Config& cfg, Forwarding& dataplane, Addresses& addresses, Handover* from = nullptr);
    // stop() if still running.
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // The systemd watchdog's keep-alive comes from this loop (before start()):
    // WATCHDOG=1 then means "elections are being served".
    void set_watchdog(sd::WatchdogPacer pacer);

    void start();
    // Whether the loop died of an error (the daemon then exits non-zero).
    bool failed() const { return failed_; }
    // Shutdown as RFC 5798 6.4.3 has it: masters send priority 0 and release
    // their addresses; notify_stop scripts get a second; then the thread ends.
    void stop();
    // A reload to `next`: the instances `next` no longer has shut down as
    // stop() does; those it keeps stay as they are on the wire and in the
    // kernel — a MASTER goes on holding its addresses (less those `next`
    // drops) and its lease, which a next engine made before the lease runs
    // out resumes. Then the thread ends. Called instead of stop().
    Handover hand_over(const config::Config& next);

    // Every instance as it is now (any thread). The VRRP thread refreshes
    // the copy after each turn of its loop, skipping a turn rather than
    // waiting when a reader holds it.
    std::vector<InstanceStatus> status() const;
    // lbctl failover: a MASTER instance gives up with a priority-0 advert
    // (any thread). Returns an error text, empty when done; waits a second
    // at most for the VRRP thread.
    std::string failover(const std::string& instance);

    // Every address some instance floats (virtual_ipaddress and
    // virtual_ipaddress_excluded), with the instance's id: the data plane
    // serves their services only while this node is master for them and
    // the instance's lease is current.
    static std::map<IpAddr, uint32_t> managed_addresses(const config::Config& cfg);

private:
    struct Parts;
    void run();

    std::unique_ptr<Parts> parts_;
    std::atomic<bool> failed_{false};
    std::optional<config::Config> next_;  // hand_over()'s, read by the thread once stopped
    std::thread thread_;
};

}  // namespace lbd::vrrp
