// keepalived's static_ipaddress, static_routes and static_rules: the host's
// own addresses, routes and rules, held from start to stop whatever the
// VRRP state. keepalived adds them when it starts and removes them when it
// stops cleanly; after a SIGKILL they stay, and `lbd --cleanup` removes
// them. keepalived puts back a static address deleted behind its back;
// lbd does not watch them.
#pragma once

#include "config/model.h"
#include "vrrp/addresses.h"

namespace lbd::vrrp {

class StaticNetwork {
public:
    // Adds addresses, then routes (which may need them), then rules. An
    // entry that fails is logged and the others are still added, as
    // keepalived does. `netlink` outlives this.
    StaticNetwork(const config::Config& cfg, Addresses& netlink);
    // Removes them, rules first.
    ~StaticNetwork();
    StaticNetwork(const StaticNetwork&) = delete;
    StaticNetwork& operator=(const StaticNetwork&) = delete;

    // A reload: removes what `next` no longer has, adds what it gained.
    void change_to(const config::Config& next);

private:
    struct Held {
        std::vector<config::VirtualAddress> addresses;
        std::vector<config::VirtualRoute> routes;
        std::vector<config::IpRule> rules;
        bool empty() const { return addresses.empty() && routes.empty() && rules.empty(); }
    };
    static Held of(const config::Config& cfg);
    void add(const Held& h);
    void remove(const Held& h);

    Addresses& netlink_;
    Held held_;
};

// Removes every static address, route and rule `cfg` names, quietly: what
// a killed lbd left (`lbd --cleanup`), where most may already be gone.
void remove_static_network(const config::Config& cfg, Addresses& netlink);

}  // namespace lbd::vrrp
