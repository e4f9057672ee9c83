// A master's addresses and routes, as its router sees them: what keepalived
// adds on becoming MASTER and deletes on leaving it. AddressManager
// (vrrp/address_manager.h) does it through rtnetlink; unit tests give a fake.
#pragma once

#include "config/model_vrrp.h"

#include <string>
#include <vector>

namespace lbd::vrrp {

class Addresses {
public:
    virtual ~Addresses() = default;
    // Each returns one error text per entry that failed, naming it and its
    // device; the other entries are still applied. Empty: all fine.
    // default_ifindex: for entries without `dev`.
    virtual std::vector<std::string> add(const std::vector<config::VirtualAddress>& addrs, int default_ifindex) = 0;
    virtual std::vector<std::string> remove(const std::vector<config::VirtualAddress>& addrs,
                                            int default_ifindex) = 0;
    virtual std::vector<std::string> add_routes(const std::vector<config::VirtualRoute>& routes,
                                                int default_ifindex) = 0;
    virtual std::vector<std::string> remove_routes(const std::vector<config::VirtualRoute>& routes,
                                                   int default_ifindex) = 0;
};

}  // namespace lbd::vrrp
