// What the VRRP engine says of each of its instances (Engine::status()):
// a copy taken under the engine's own lock, so that a reader (the control
// socket, the metrics) never waits on, or delays, an advert.
#pragma once

#include "vrrp/state_machine.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lbd::vrrp {

struct InstanceStatus {
    std::string name;  // "VI_1"
    State state = State::INIT;
    std::string interface;  // "eth0"
    int vrid = 0;
    int priority = 0;               // configured
    int effective_priority = 0;     // with tracking
    std::string master;             // the master's address as last heard; ours when MASTER; empty: none yet
    std::vector<std::string> vips;  // "10.213.0.100/32", virtual_ipaddress then _excluded
    int64_t since_unix_ms = 0;      // when it entered `state` (wall clock)
    uint64_t transitions = 0;       // state changes since start
    uint64_t adverts_sent = 0;
    uint64_t adverts_received = 0;  // accepted by the state machine
    std::string group;              // its vrrp_sync_group, if any
};

}  // namespace lbd::vrrp
