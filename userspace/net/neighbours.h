// Next hops of real servers from the kernel's routing and neighbour tables
// (netlink through libnl-route-3). The lb program rewrites MACs from what
// this finds, so it must follow the kernel: the daemon calls refresh() and
// resolve() for every real once a second.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "net/netlink.h"
#include "util/ip_addr.h"

namespace lbd::net {

struct NextHop {
    int ifindex = 0;
    std::array<uint8_t, 6> mac{};
    bool operator==(const NextHop&) const = default;
};

class Neighbours {
public:
    Neighbours();  // throws when netlink is unavailable
    Neighbours(const Neighbours&) = delete;
    Neighbours& operator=(const Neighbours&) = delete;

    // Reloads the kernel's neighbour table; resolve() reads this copy.
    void refresh();
    // The MAC to send `dst` to: its own when on-link, else its gateway's.
    // When the kernel has no entry yet, asks it to resolve one (NTF_USE) and
    // returns nothing; a later call finds it.
    std::optional<NextHop> resolve(const IpAddr& dst);

private:
    struct Route {
        int ifindex = 0;
        IpAddr via;  // the gateway, or dst itself when on-link
    };
    std::optional<Route> route_to(const IpAddr& dst);
    void kick(const Route& r);

    netlink::SockPtr sock_;        // neighbour table and NTF_USE requests
    netlink::SockPtr route_sock_;  // route queries: one reply each, no ACK
    netlink::CachePtr cache_;
};

}  // namespace lbd::net
