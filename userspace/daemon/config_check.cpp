#include "daemon/config_check.h"

#include <fmt/format.h>

#include <set>

#include "config/load.h"
#include "config/nat.h"
#include "util/child_process.h"
#include "util/netif.h"
#include "util/netns.h"

namespace lbd {
namespace {

std::string at(const config::Location& loc, std::string_view what) {
    return fmt::format("{}: {}", config::to_string(loc), what);
}

}  // namespace

std::vector<std::string> not_acted_on(const config::Config& cfg) {
    std::vector<std::string> out;
    for (const auto& vs : cfg.virtual_servers) {
        const std::string name = config::service_name(vs.addr, vs.port, vs.proto);
        if (vs.ha_suspend)
            out.push_back(at(vs.loc, fmt::format("virtual_server {}: ha_suspend is read but not acted on: its "
                                                 "checkers run on backup nodes too",
                                                 name)));
        for (const auto& rs : vs.reals)
            if (rs.uthreshold || rs.lthreshold)
                out.push_back(at(rs.loc, fmt::format("real server [{}] in {}: uthreshold/lthreshold are read but "
                                                     "not acted on (connection limits per real are not kept)",
                                                     rs.addr.str(), name)));
    }
    const config::GlobalDefs defaults;
    if (cfg.global.vrrp_mcast_group4 != defaults.vrrp_mcast_group4 ||
        cfg.global.vrrp_mcast_group6 != defaults.vrrp_mcast_group6)
        out.push_back("vrrp_mcast_group4/6 are read but lbd sends and receives adverts on 224.0.0.18 and "
                      "ff02::12 only (RFC 5798 5.1.1.2, 5.1.2.2)");
    for (const auto& vi : cfg.vrrp_instances) {
        for (const auto& p : vi.unicast_peers)
            if (p.min_ttl || p.max_ttl)
                out.push_back(at(p.loc, fmt::format("unicast_peer {}: min_ttl/max_ttl are read but not checked: "
                                                    "adverts must arrive with TTL 255",
                                                    p.addr.str())));
    }
    const auto& g = cfg.global;
    auto global_unused = [&](bool set, const char* keyword, const char* why) {
        if (set) out.push_back(fmt::format("global_defs {} is read but not acted on: {}", keyword, why));
    };
    global_unused(g.max_auto_priority != 0, "max_auto_priority", "the VRRP thread asks for SCHED_RR 1 itself");
    global_unused(g.vrrp_priority.has_value(), "vrrp_priority", "lbd is one process; its VRRP thread runs SCHED_RR");
    global_unused(g.checker_priority.has_value(), "checker_priority", "lbd is one process");
    global_unused(g.vrrp_no_swap || g.checker_no_swap, "vrrp_no_swap / checker_no_swap", "no memory is locked");
    global_unused(g.dynamic_interfaces || g.allow_if_changes, "dynamic_interfaces / allow_if_changes",
                  "interfaces must exist at start-up");
    global_unused(g.lvs_notify_fifo.has_value(), "lvs_notify_fifo", "checkers write no fifo lines");
    const auto addresses = [&](const std::vector<config::VirtualAddress>& list) {
        for (const auto& a : list)
            if (a.no_track || a.use_vmac)
                out.push_back(at(a.loc, fmt::format("{}: no_track and use_vmac on an address are read but not "
                                                    "acted on",
                                                    a.prefix.str())));
    };
    // lbd does not watch routes and rules once added: no_track is what it
    // always does.
    const auto no_track = [&](std::string_view block, const auto& list) {
        for (const auto& e : list)
            if (e.no_track) out.push_back(at(e.loc, fmt::format("{} no_track is read but not acted on", block)));
    };
    const auto track_group = [&](std::string_view block, const auto& list) {
        for (const auto& e : list)
            if (!e.track_group.empty())
                out.push_back(at(e.loc, fmt::format("{} track_group {} is read but not acted on "
                                                    "(static_track_group is not supported)",
                                                    block, e.track_group)));
    };
    addresses(cfg.static_addresses);
    track_group("static_ipaddress", cfg.static_addresses);
    no_track("static_routes", cfg.static_routes);
    track_group("static_routes", cfg.static_routes);
    no_track("static_rules", cfg.static_rules);
    track_group("static_rules", cfg.static_rules);
    for (const auto& vi : cfg.vrrp_instances) {
        if (vi.debug != 0)
            out.push_back(at(vi.loc, fmt::format("vrrp_instance {}: debug is read but not acted on (lbd -D logs "
                                                 "details for all)",
                                                 vi.name)));
        addresses(vi.virtual_addresses);
        addresses(vi.excluded_addresses);
        no_track("virtual_routes", vi.virtual_routes);
        no_track("virtual_rules", vi.virtual_rules);
    }
    for (const auto& vs : cfg.virtual_servers)
        for (const auto& rs : vs.reals)
            for (const auto& c : rs.checkers)
                if (const auto* h = std::get_if<config::HttpCheck>(&c.detail); h && (h->fast_recovery || h->tls_compliant))
                    out.push_back(at(c.loc, "fast_recovery and tls_compliant are read but not acted on"));
    if (cfg.global.smtp_server && !cfg.global.notification_email.empty() &&
        cfg.global.smtp_alert_checker.value_or(cfg.global.smtp_alert))
        out.push_back("smtp_alert for checkers is read but not acted on: only VRRP state changes are mailed");
    return out;
}

std::vector<std::string> caveats(const config::Config& cfg) {
    std::vector<std::string> out;
    for (const auto& [key, served] : config::nat_reply_keys(cfg.virtual_servers)) {
        if (served.size() < 2)
            continue;
        std::string names;
        for (const auto* vs : served)
            names += (names.empty() ? "" : ", ") + config::service_name(vs->addr, vs->port, vs->proto);
        const config::RealServer* first = nullptr;
        for (const auto& rs : served.front()->reals)
            if (config::reply_key(*served.front(), rs) == key) first = &rs;
        out.push_back(at(first->loc, fmt::format("real server {} answers for the NAT services {}: its replies "
                                                 "are matched to their flows by connection state, which a node "
                                                 "taking over does not have (lbd.conf(5), NAT)",
                                                 config::service_name(key.addr, key.port, key.proto), names)));
    }
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

std::optional<std::string> script_security_warning(const config::Config& cfg) {
    if (cfg.global.enable_script_security) return std::nullopt;
    for (const Command& script : cfg.scripts()) {
        try {
            if (runs_as_root(with_default_user(script, cfg.global.script_user, cfg.global.script_group)))
                return "SECURITY VIOLATION - scripts are being executed but script_security not enabled.";
        } catch (const std::runtime_error&) {
            // A user that does not exist: the script fails to start, and says so then.
        }
    }
    return std::nullopt;
}

namespace {

// missing_interfaces() in the config's net_namespace, which this process
// enters; or, when it cannot, why (its interfaces are not checked then).
std::vector<std::string> missing_here(const config::Config& cfg) {
    const config::GlobalDefs& g = cfg.global;
    if (!g.net_namespace.empty()) {
        try {
            enter_net_namespace(net_namespace_path(g.net_namespace));
        } catch (const std::exception& e) {
            return {at(g.net_namespace_loc, fmt::format("net_namespace {} does not exist on this host ({}); the "
                                                        "interfaces in it are not looked for",
                                                        g.net_namespace, e.what()))};
        }
    }
    return missing_interfaces(cfg);
}

}  // namespace

int check_config(const std::string& path, const std::string& config_id, std::FILE* out) {
    try {
        config::Config cfg = config::load(path, config_id);
        for (const auto& w : cfg.warnings) fmt::print(out, "{}\n", w);
        for (const auto& w : not_acted_on(cfg)) fmt::print(out, "{}\n", w);
        for (const auto& w : caveats(cfg)) fmt::print(out, "{}\n", w);
        for (const auto& w : missing_here(cfg)) fmt::print(out, "warning: {}\n", w);
        if (const auto w = script_security_warning(cfg)) fmt::print(out, "warning: {}\n", *w);
        return 0;
    } catch (const std::exception& e) {
        fmt::print(out, "{}\n", e.what());
        return 1;
    }
}

}  // namespace lbd
