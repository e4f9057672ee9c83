// Addresses, routes and rules as a router sees them: what keepalived adds on
// becoming MASTER and deletes on leaving it, and the static ones it sets at
// start. AddressManager (vrrp/address_manager.h) does it through rtnetlink;
// unit tests give a fake.
#pragma once

#include "config/model_vrrp.h"

#include <algorithm>
#include <string>
#include <vector>

namespace lbd::vrrp {

// The entries of `list` that `other` lacks: what a reload from `list` to
// `other` removes (and, the other way round, adds).
template <class T>
std::vector<T> missing_from(const std::vector<T>& list, const std::vector<T>& other) {
    std::vector<T> out;
    for (const T& e : list)
        if (std::find(other.begin(), other.end(), e) == other.end()) out.push_back(e);
    return out;
}

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
    // Rules name their interfaces (iif, oif) themselves.
    virtual std::vector<std::string> add_rules(const std::vector<config::IpRule>& rules) = 0;
    virtual std::vector<std::string> remove_rules(const std::vector<config::IpRule>& rules) = 0;
};

}  // namespace lbd::vrrp
