#include "capabilities.h"

#include <fmt/format.h>

#include <set>

#include "util/netif.h"

namespace lbd {
namespace {

std::string at(const config::Location& loc, std::string_view what) {
    return fmt::format("{}: {}", config::to_string(loc), what);
}

}  // namespace

std::vector<std::string> not_acted_on(const config::Config& cfg) {
    std::vector<std::string> out;
    for (const auto& vi : cfg.vrrp_instances)
        out.push_back(at(vi.loc, fmt::format("vrrp_instance {} is read but VRRP does not run yet: "
                                             "its addresses are not managed",
                                             vi.name)));
    for (const auto& vs : cfg.vrrp_scripts)
        out.push_back(at(vs.loc, fmt::format("vrrp_script {} is read but not run yet", vs.name)));
    for (const auto& sg : cfg.vrrp_sync_groups)
        out.push_back(at(sg.loc, fmt::format("vrrp_sync_group {} is read but not run yet", sg.name)));
    for (const auto& vs : cfg.virtual_servers) {
        std::string name = fmt::format("[{}]:{}:{}", vs.addr.str(), vs.proto == config::Proto::TCP ? "tcp" : "udp", vs.port);
        if (vs.mode == config::Mode::NAT)
            out.push_back(at(vs.loc, fmt::format("virtual_server {} uses lb_kind NAT, which the data "
                                                 "plane cannot serve yet: not served",
                                                 name)));
        for (const auto& rs : vs.reals)
            for (const auto& c : rs.checkers)
                out.push_back(at(c.loc, fmt::format("{} of real server [{}] in {} is read but health "
                                                    "checks do not run yet: the real counts as up",
                                                    config::to_string(c.type), rs.addr.str(), name)));
    }
    if (cfg.global.smtp_server && !cfg.global.notification_email.empty())
        out.push_back(fmt::format("SMTP notification is configured; nothing sends alerts until VRRP "
                                  "and health checks run"));
    return out;
}

std::vector<config::VirtualServer> servable(const config::Config& cfg) {
    std::vector<config::VirtualServer> out;
    for (const auto& vs : cfg.virtual_servers)
        if (vs.mode != config::Mode::NAT)
            out.push_back(vs);
    return out;
}

std::vector<std::string> missing_interfaces(const config::Config& cfg) {
    std::vector<std::string> out;
    std::set<std::string> told;
    for (const auto& name : cfg.global.lb_interfaces)
        if (!netif::exists(name) && told.insert(name).second)
            out.push_back(fmt::format("lb_interface {} does not exist on this host", name));
    for (const auto& [name, loc] : cfg.interfaces_used())
        if (!netif::exists(name) && told.insert(name).second)
            out.push_back(at(loc, fmt::format("interface {} does not exist on this host", name)));
    return out;
}

}  // namespace lbd
