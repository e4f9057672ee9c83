// What the health checkers say of each real of each virtual server
// (Engine::status()): a copy taken under the engine's own lock, so that a
// reader never waits on, or delays, a check.
#pragma once

#include "util/ip_addr.h"

#include <cstdint>
#include <string>

namespace lbd::check {

struct RealStatus {
    std::string vs;    // "[10.213.0.100]:tcp:80"
    std::string real;  // "[10.213.0.12]:tcp:80"
    IpAddr address;
    uint16_t port = 0;
    // NAT: the data plane has one real per (address, port, protocol) and
    // these name it (IPPROTO_*, and the port replies come from); 0 for DR
    // and TUN, whose data-plane real is the address alone.
    uint8_t nat_proto = 0;
    uint16_t nat_port = 0;
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

}  // namespace lbd::check
