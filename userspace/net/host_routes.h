// The host routes one routing protocol keeps in one kernel routing table:
// ADDR/32 or ADDR/128 on lo, nothing else. lb_announce_table is made of
// them (docs/scale-out.md): a BGP engine learns the table and announces
// what is in it, so the kernel's table is the one record of what this node
// announces, which `ip route show table N` shows and a restarted daemon
// finds again.
//
// Choices:
// - Routes are told apart by their protocol number (RTA_PROTOCOL), not by
//   who added them: another program's routes in the same table are never
//   read nor touched.
// - The device is lo: the route only has to exist for the BGP engine to see
//   it; packets to the VIP never take it (the table is in no `ip rule`, and
//   the XDP program forwards them before any lookup).
// - Reading asks the kernel for this table and protocol only
//   (NETLINK_GET_STRICT_CHK), so a node that also carries a full table pays
//   nothing for it; what comes back is filtered here as well.
#pragma once

#include "net/netlink.h"
#include "util/ip_addr.h"

#include <cstdint>
#include <set>

namespace lbd::net {

// lbd's routes: the number `ip route` shows as `proto 76` (or `proto lbd`
// with the rt_protos.d entry lbd installs). Unassigned in rtnetlink.h and
// iproute2's rt_protos.
inline constexpr uint8_t kLbdRouteProtocol = 76;

class HostRoutes {
public:
    // Throws std::runtime_error when netlink is unavailable.
    HostRoutes(uint32_t table, uint8_t protocol = kLbdRouteProtocol);
    HostRoutes(const HostRoutes&) = delete;
    HostRoutes& operator=(const HostRoutes&) = delete;

    uint32_t table() const { return table_; }
    // The addresses whose host route of our protocol is in the table.
    // Throws std::runtime_error when the kernel does not answer.
    std::set<IpAddr> read();
    // Adds (or replaces) the host route to `addr`. Throws with what failed.
    void add(const IpAddr& addr);
    // Removes it; a route that is not there is success. Throws otherwise.
    void remove(const IpAddr& addr);

private:
    netlink::RoutePtr route_to(const IpAddr& addr) const;

    const uint32_t table_;
    const uint8_t protocol_;
    netlink::SockPtr sock_;
    int lo_ = 0;
};

}  // namespace lbd::net
