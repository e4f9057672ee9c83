// Next hops of real servers from the kernel's routing and neighbour tables
// (netlink through libnl-route-3). The lb program rewrites MACs from what
// this finds, so it must follow the kernel: the daemon calls refresh() and
// resolve() for every real once a second.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "config/model.h"

struct nl_sock;
struct nl_cache;

namespace lbd::dataplane {

struct NextHop {
    int ifindex = 0;
    std::array<uint8_t, 6> mac{};
    bool operator==(const NextHop&) const = default;
};

class Neighbours {
public:
    Neighbours();  // throws when netlink is unavailable
    ~Neighbours();
    Neighbours(const Neighbours&) = delete;
    Neighbours& operator=(const Neighbours&) = delete;

    // Reloads the kernel's neighbour table; resolve() reads this copy.
    void refresh();
    // The MAC to send `dst` to: its own when on-link, else its gateway's.
    // When the kernel has no entry yet, asks it to resolve one (NTF_USE) and
    // returns nothing; a later call finds it.
    std::optional<NextHop> resolve(const config::IpAddr& dst);

private:
    struct Route {
        int ifindex = 0;
        config::IpAddr via;  // the gateway, or dst itself when on-link
    };
    std::optional<Route> route_to(const config::IpAddr& dst);
    void kick(const Route& r);

    nl_sock* sock_ = nullptr;        // neighbour table and NTF_USE requests
    nl_sock* route_sock_ = nullptr;  // route queries: one reply each, no ACK
    nl_cache* cache_ = nullptr;
};

}  // namespace lbd::dataplane
