// How NAT services (lb_kind NAT) are told apart on the way back: a real's
// reply carries its address, the port it answers from and the protocol, and
// nothing of the VIP. Where those name one service, the data plane rewrites
// replies without any state; where several services share them, replies
// are matched to their flows by connection state, which a node taking over
// does not have (docs/dataplane.md, "NAT").
#pragma once

#include "config/model.h"

#include <compare>
#include <cstdint>
#include <map>
#include <vector>

namespace lbd::config {

struct NatReplyKey {
    IpAddr addr;
    uint16_t port = 0;  // 0: every port (a port-0 service's real)
    Proto proto = Proto::TCP;
    auto operator<=>(const NatReplyKey&) const = default;
};

// What a real of `vs` answers from: its port (the service's when it gives
// none), or 0 for a port-0 service, where every port passes unchanged.
NatReplyKey reply_key(const VirtualServer& vs, const RealServer& real);

// Every NAT service of `services` that each reply key answers for, in the
// order of `services`.
std::map<NatReplyKey, std::vector<const VirtualServer*>> nat_reply_keys(const std::vector<VirtualServer>& services);

}  // namespace lbd::config
