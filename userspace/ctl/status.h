// What the daemon's engines say of themselves, for the control socket
// (lbctl) and the metrics: copies taken under each engine's own lock, so a
// reader never waits on, or delays, a VRRP advert or a check.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lbd::ctl {

// One vrrp_instance (vrrp::Engine::status()).
struct InstanceStatus {
    std::string name;       // "VI_1"
    std::string state;      // INIT, BACKUP, MASTER, FAULT
    std::string interface;  // "eth0"
    int vrid = 0;
    int priority = 0;            // configured
    int effective_priority = 0;  // with tracking
    std::string master;          // the master's address as last heard; ours when MASTER; empty: none yet
    std::vector<std::string> vips;  // "10.213.0.100/32", virtual_ipaddress then _excluded
    int64_t since_unix_ms = 0;      // when it entered `state` (wall clock)
    uint64_t transitions = 0;       // state changes since start
    uint64_t adverts_sent = 0;
    uint64_t adverts_received = 0;  // accepted by the state machine
    std::string group;              // its vrrp_sync_group, if any
};

// One real server of one virtual server (check::Engine::status()).
struct RealStatus {
    std::string vs;    // "[10.213.0.100]:tcp:80"
    std::string real;  // "[10.213.0.12]:tcp:80"
    std::string address;  // "10.213.0.12"
    uint16_t port = 0;
    bool up = true;              // all its checkers up
    bool drained = false;        // lbctl drain: weight 0, established flows kept
    uint32_t weight = 0;         // what the data plane serves it with now
    uint32_t configured_weight = 0;
    std::string last_result;     // the last attempt's detail ("connected", "url /: status code 503")
    double last_latency_ms = 0;  // how long the last attempt took
    int64_t last_check_unix_ms = 0;  // 0: not checked yet (no checker, or before its warmup)
    uint64_t checks = 0;             // attempts finished
    uint64_t failures = 0;           // of which failed
};

}  // namespace lbd::ctl
