#include "vrrp/static_network.h"

#include "util/log.h"

namespace lbd::vrrp {
namespace {

void report(const std::vector<std::string>& errors) {
    for (const auto& e : errors) log::error("static: {}", e);
}

}  // namespace

StaticNetwork::Held StaticNetwork::of(const config::Config& cfg) {
    return {cfg.static_addresses, cfg.static_routes, cfg.static_rules};
}

StaticNetwork::StaticNetwork(const config::Config& cfg, Addresses& netlink) : netlink_(netlink), held_(of(cfg)) {
    add(held_);
    if (!held_.empty())
        log::info("Static addresses, routes and rules set: {}, {}, {}", held_.addresses.size(), held_.routes.size(),
                  held_.rules.size());
}

StaticNetwork::~StaticNetwork() { remove(held_); }

void StaticNetwork::change_to(const config::Config& next) {
    Held wanted = of(next);
    const Held gone{missing_from(held_.addresses, wanted.addresses), missing_from(held_.routes, wanted.routes),
                    missing_from(held_.rules, wanted.rules)};
    const Held added{missing_from(wanted.addresses, held_.addresses), missing_from(wanted.routes, held_.routes),
                     missing_from(wanted.rules, held_.rules)};
    remove(gone);
    add(added);
    held_ = std::move(wanted);
    if (!gone.empty() || !added.empty())
        log::info("Static addresses, routes and rules removed: {}, {}, {}; added: {}, {}, {}", gone.addresses.size(),
                  gone.routes.size(), gone.rules.size(), added.addresses.size(), added.routes.size(),
                  added.rules.size());
}

void StaticNetwork::add(const Held& h) {
    report(netlink_.add(h.addresses, 0));
    report(netlink_.add_routes(h.routes, 0));
    report(netlink_.add_rules(h.rules));
}

void StaticNetwork::remove(const Held& h) {
    report(netlink_.remove_rules(h.rules));
    report(netlink_.remove_routes(h.routes, 0));
    report(netlink_.remove(h.addresses, 0));
}

void remove_static_network(const config::Config& cfg, Addresses& netlink) {
    netlink.remove_rules(cfg.static_rules);
    netlink.remove_routes(cfg.static_routes, 0);
    netlink.remove(cfg.static_addresses, 0);
}

}  // namespace lbd::vrrp
