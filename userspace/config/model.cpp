#include "config/model.h"

#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>

namespace lbd::config {

std::string to_string(const Location& loc) {
    return loc.line > 0 ? fmt::format("{}:{}", loc.file, loc.line) : loc.file;
}

ConfigError::ConfigError(const Location& loc, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", to_string(loc), message)) {}

std::string IpPrefix::str() const {
    return fmt::format("{}/{}", addr.str(), len);
}

std::string ListenAddr::str() const {
    return addr.family == AF_INET6 ? fmt::format("[{}]:{}", addr.str(), port) : fmt::format("{}:{}", addr.str(), port);
}

std::string_view to_string(CheckerType t) {
    switch (t) {
        case CheckerType::TCP_CHECK:
            return "TCP_CHECK";
        case CheckerType::HTTP_GET:
            return "HTTP_GET";
        case CheckerType::SSL_GET:
            return "SSL_GET";
        case CheckerType::UDP_CHECK:
            return "UDP_CHECK";
        case CheckerType::PING_CHECK:
            return "PING_CHECK";
        case CheckerType::DNS_CHECK:
            return "DNS_CHECK";
        case CheckerType::SMTP_CHECK:
            return "SMTP_CHECK";
        case CheckerType::MISC_CHECK:
            return "MISC_CHECK";
        case CheckerType::FILE_CHECK:
            return "FILE_CHECK";
    }
    return "?";
}

std::vector<std::pair<std::string, Location>> Config::interfaces_used() const {
    std::vector<std::pair<std::string, Location>> out;
    const auto tracked = [&](const std::vector<Tracked>& list) {
        for (const Tracked& t : list) out.emplace_back(t.name, t.loc);
    };
    const auto addresses = [&](const std::vector<VirtualAddress>& list) {
        for (const VirtualAddress& a : list)
            if (!a.dev.empty()) out.emplace_back(a.dev, a.loc);
    };
    const auto routes = [&](const std::vector<VirtualRoute>& list) {
        for (const VirtualRoute& r : list)
            if (!r.dev.empty()) out.emplace_back(r.dev, r.loc);
    };
    const auto rules = [&](const std::vector<IpRule>& list) {
        for (const IpRule& r : list)
            for (const std::string* name : {&r.iif, &r.oif})
                if (!name->empty()) out.emplace_back(*name, r.loc);
    };
    addresses(static_addresses);
    routes(static_routes);
    rules(static_rules);
    for (const VrrpInstance& inst : vrrp_instances) {
        if (!inst.interface.empty()) out.emplace_back(inst.interface, inst.interface_loc);
        tracked(inst.track_interfaces);
        addresses(inst.virtual_addresses);
        addresses(inst.excluded_addresses);
        routes(inst.virtual_routes);
        rules(inst.virtual_rules);
    }
    for (const VrrpSyncGroup& group : vrrp_sync_groups) tracked(group.track_interfaces);
    // A group's members share one body: list its checkers once.
    std::vector<std::string> groups_seen;
    for (const VirtualServer& vs : virtual_servers) {
        if (!vs.group.empty()) {
            if (std::find(groups_seen.begin(), groups_seen.end(), vs.group) != groups_seen.end()) continue;
            groups_seen.push_back(vs.group);
        }
        for (const RealServer& real : vs.reals)
            for (const Checker& c : real.checkers) {
                if (!c.target.bind_if.empty()) out.emplace_back(c.target.bind_if, c.target.loc);
                if (const auto* smtp = std::get_if<SmtpCheck>(&c.detail))
                    for (const CheckTarget& host : smtp->hosts)
                        if (!host.bind_if.empty()) out.emplace_back(host.bind_if, host.loc);
            }
    }
    return out;
}

std::vector<Command> Config::scripts() const {
    std::vector<Command> out;
    const auto add = [&](const std::optional<Script>& s) {
        if (s) out.push_back(*s);
    };
    const auto notify = [&](const NotifyScripts& n) {
        for (const auto* s : {&n.master, &n.backup, &n.fault, &n.stop, &n.any}) add(*s);
    };
    for (const VrrpInstance& inst : vrrp_instances) notify(inst.notify);
    for (const VrrpSyncGroup& group : vrrp_sync_groups) notify(group.notify);
    for (const VrrpScript& s : vrrp_scripts) out.push_back({s.command, s.user, s.group});
    for (const VirtualServer& vs : virtual_servers) {
        add(vs.quorum_up);
        add(vs.quorum_down);
        for (const RealServer& real : vs.reals) {
            add(real.notify_up);
            add(real.notify_down);
            for (const Checker& c : real.checkers)
                if (const auto* misc = std::get_if<MiscCheck>(&c.detail)) out.push_back({misc->command, misc->user, misc->group});
        }
    }
    return out;
}

}  // namespace lbd::config
