// virtual_ipaddress, virtual_ipaddress_excluded, virtual_routes and their
// static_ipaddress / static_routes twins: lines with the syntax of
// `ip address add` / `ip route add`, as keepalived reads them.
#include "config/interpret.h"

#include <sys/socket.h>

#include <fmt/format.h>

#include <limits>

namespace lbd::config::detail {
namespace {

uint8_t max_len(int family) {
    return family == AF_INET ? 32 : 128;
}

}  // namespace

std::optional<IpPrefix> parse_prefix(std::string_view text) {
    const size_t slash = text.find('/');
    const auto addr = IpAddr::parse(text.substr(0, slash));
    if (!addr) return std::nullopt;
    IpPrefix p{*addr, max_len(addr->family)};
    if (slash != std::string_view::npos) {
        const auto len = parse_decimal(text.substr(slash + 1));
        if (!len) return std::nullopt;
        p.len = static_cast<uint8_t>(std::min<uint32_t>(*len, 255));
    }
    return p;
}

IpPrefix prefix_arg(const Location& loc, std::string_view what, std::string_view text) {
    const auto p = parse_prefix(text);
    if (!p) {
        const size_t slash = text.find('/');
        if (slash != std::string_view::npos && IpAddr::parse(text.substr(0, slash)))
            throw ConfigError(loc, fmt::format("{} '{}': the prefix length is not a number", what, text));
        throw ConfigError(loc, fmt::format("{} '{}' is not an IP address", what, text.substr(0, slash)));
    }
    const uint8_t limit = max_len(p->addr.family);
    if (p->len > limit)
        throw ConfigError(loc, fmt::format("{} {}: prefix length {} is out of range 0..{}", what, text,
                                           text.substr(text.find('/') + 1), limit));
    return *p;
}

IpAddr host_bits(const IpPrefix& p, bool set) {
    IpAddr a = p.addr;
    for (int bit = p.len; bit < max_len(a.family); ++bit) {
        const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
        a.bytes[bit / 8] = set ? (a.bytes[bit / 8] | mask) : (a.bytes[bit / 8] & ~mask);
    }
    return a;
}

void require_network(const Location& loc, std::string_view subject, std::string_view what, const IpPrefix& p) {
    const IpAddr network = host_bits(p, false);
    if (network != p.addr)
        throw ConfigError(loc, fmt::format("{} {}: the {} has host bits set (the network is {}/{})", subject,
                                           p.str(), what, network.str(), p.len));
}

uint32_t table_arg(const Location& loc, std::string_view subject, std::string_view text) {
    if (text == "main") return 254;
    if (text == "local") return 255;
    if (text == "default") return 253;
    if (!parse_decimal(text))
        throw ConfigError(loc,
                          fmt::format("{}: table '{}' is not main, local, default or a number", subject, text));
    return number_arg(loc, "table", text, 0, std::numeric_limits<uint32_t>::max());
}

uint8_t protocol_arg(const Location& loc, std::string_view subject, std::string_view text) {
    static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
        {"redirect", 1}, {"kernel", 2}, {"boot", 3}, {"static", 4}, {"keepalived", 18},
    };
    for (const auto& [name, value] : kNames)
        if (text == name) return value;
    if (!parse_decimal(text))
        throw ConfigError(loc, fmt::format("{}: proto '{}' is not kernel, boot, static, keepalived or a number",
                                           subject, text));
    return static_cast<uint8_t>(number_arg(loc, "proto", text, 0, 255));
}

namespace {

uint8_t scope_arg(const Location& loc, std::string_view subject, std::string_view text) {
    static constexpr std::pair<std::string_view, Scope> kNames[] = {
        {"global", Scope::global}, {"universe", Scope::global}, {"site", Scope::site},
        {"link", Scope::link},     {"host", Scope::host},       {"nowhere", Scope::nowhere},
    };
    for (const auto& [name, scope] : kNames)
        if (text == name) return static_cast<uint8_t>(scope);
    if (parse_decimal(text)) return static_cast<uint8_t>(number_arg(loc, "scope", text, 0, 255));
    throw ConfigError(
        loc, fmt::format("{}: scope '{}' is not global, site, link, host, nowhere or 0..255", subject, text));
}

constexpr std::string_view kVipFlags[] = {
    "home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin", "no_track", "use_vmac",
};

void set_vip_flag(VirtualAddress& vip, std::string_view flag) {
    if (flag == "home")
        vip.home = true;
    else if (flag == "-nodad" || flag == "nodad")
        vip.nodad = true;
    else if (flag == "mngtmpaddr")
        vip.mngtmpaddr = true;
    else if (flag == "noprefixroute")
        vip.noprefixroute = true;
    else if (flag == "autojoin")
        vip.autojoin = true;
    else if (flag == "no_track")
        vip.no_track = true;
    else
        vip.use_vmac = true;
}

void set_broadcast(Line& line, const std::string& subject, VirtualAddress& vip) {
    const std::string& text = line.value(subject, "brd");
    if (vip.prefix.addr.family != AF_INET)
        throw ConfigError(line.loc(), fmt::format("{}: brd is for IPv4 addresses", subject));
    if (text == "+" || text == "-")
        vip.broadcast = host_bits(vip.prefix, text == "+");
    else if (const auto addr = IpAddr::parse(text); addr && addr->family == AF_INET)
        vip.broadcast = addr;
    else
        throw ConfigError(line.loc(),
                          fmt::format("{}: brd '{}' is not an IPv4 address, + or -", subject, text));
}

// The rest of a virtual_ipaddress line after its address; another address
// on the same line starts the next entry.
void read_vip_options(Line& line, const std::string& subject, bool is_static, VirtualAddress& vip) {
    while (!line.done() && !parse_prefix(line.peek())) {
        const std::string& opt = line.next();
        if (opt == "dev") {
            vip.dev = interface_arg(line.loc(), "dev", line.value(subject, opt));
        } else if (opt == "label") {
            vip.label = line.value(subject, opt);
            if (vip.label.size() > 15)
                throw ConfigError(
                    line.loc(), fmt::format("{}: label '{}' is longer than 15 characters", subject, vip.label));
        } else if (opt == "scope") {
            vip.scope = scope_arg(line.loc(), subject, line.value(subject, opt));
        } else if (opt == "brd" || opt == "broadcast") {
            set_broadcast(line, subject, vip);
        } else if (opt == "peer") {
            vip.peer = prefix_arg(line.loc(), "peer", line.value(subject, opt));
        } else if (opt == "preferred_lft") {
            const std::string& v = line.value(subject, opt);
            vip.preferred_lft = v == "forever" ? std::numeric_limits<uint32_t>::max()
                                               : number_arg(line.loc(), "preferred_lft", v, 0, 0xfffffffe);
        } else if (opt == "track_group" && is_static) {
            vip.track_group = line.value(subject, opt);
        } else if (one_of(opt, kVipFlags)) {
            set_vip_flag(vip, opt);
        } else {
            throw ConfigError(line.loc(), fmt::format("{}: unknown option '{}'", subject, opt));
        }
    }
}

std::optional<RouteType> route_type(std::string_view word) {
    if (word == "blackhole") return RouteType::blackhole;
    if (word == "unreachable") return RouteType::unreachable;
    if (word == "prohibit") return RouteType::prohibit;
    if (word == "throw") return RouteType::throw_;
    return std::nullopt;
}

void check_route_family(const VirtualRoute& r, std::string_view subject, std::string_view what,
                        const std::optional<IpAddr>& addr) {
    if (addr && addr->family != r.dest.addr.family)
        throw ConfigError(
            r.loc, fmt::format("{} {}: {} {} is {} but the destination is {}", subject, r.dest.str(), what,
                               addr->str(), family_name(addr->family), family_name(r.dest.addr.family)));
}

// `subject` is the block's keyword, virtual_routes or static_routes.
VirtualRoute read_route(const Node& node, const std::string& subject) {
    Line line(node);
    VirtualRoute r;
    r.loc = node.loc;
    const bool is_static = subject == "static_routes";
    bool have_dest = false, default_dest = false, inet6 = false;
    if (const auto type = route_type(line.peek())) {
        r.type = *type;
        line.next();
    }
    while (!line.done()) {
        const std::string& opt = line.next();
        if (opt == "src")
            r.src = address_arg(line.loc(), "src", line.value(subject, opt));
        else if (opt == "via" || opt == "gw")
            r.via = address_arg(line.loc(), opt, line.value(subject, opt));
        else if (opt == "or")
            r.or_via = address_arg(line.loc(), opt, line.value(subject, opt));
        else if (opt == "dev" || opt == "oif")
            r.dev = interface_arg(line.loc(), opt, line.value(subject, opt));
        else if (opt == "metric" || opt == "priority" || opt == "preference")
            r.metric =
                number_arg(line.loc(), opt, line.value(subject, opt), 0, std::numeric_limits<uint32_t>::max());
        else if (opt == "table")
            r.table = table_arg(line.loc(), subject, line.value(subject, opt));
        else if (opt == "scope")
            r.scope = scope_arg(line.loc(), subject, line.value(subject, opt));
        else if (opt == "proto" || opt == "protocol")
            r.protocol = protocol_arg(line.loc(), subject, line.value(subject, opt));
        else if (opt == "onlink")
            r.onlink = true;
        else if (opt == "no_track")
            r.no_track = true;
        else if (opt == "inet6")
            inet6 = true;
        else if (opt == "track_group" && is_static)
            r.track_group = line.value(subject, opt);
        else if (!have_dest && (opt == "to" || opt == "default" || parse_prefix(opt))) {
            const std::string& dest = opt == "to" ? line.value(subject, opt) : opt;
            default_dest = dest == "default";
            if (!default_dest) r.dest = prefix_arg(line.loc(), subject, dest);
            have_dest = true;
        } else {
            throw ConfigError(line.loc(), fmt::format("{}: unknown option '{}'", subject, opt));
        }
    }
    if (!have_dest) throw ConfigError(node.loc, fmt::format("{}: the route has no destination", subject));
    if (default_dest) {
        const bool v6 = inet6 || (r.via && r.via->family == AF_INET6) || (r.src && r.src->family == AF_INET6);
        r.dest = IpPrefix{*IpAddr::parse(v6 ? "::" : "0.0.0.0"), 0};
    }
    require_network(node.loc, subject, "destination", r.dest);
    check_route_family(r, subject, "src", r.src);
    check_route_family(r, subject, "via", r.via);
    check_route_family(r, subject, "or", r.or_via);
    return r;
}

}  // namespace

std::vector<VirtualAddress> read_virtual_addresses(const Node& block) {
    require_block(block);
    if (!block.args.empty())
        throw ConfigError(block.loc,
                          fmt::format("{} takes its addresses in the {{ ... }} block", block.keyword));
    const bool is_static = block.keyword == "static_ipaddress";
    std::vector<VirtualAddress> out;
    for (const Node& node : block.children) {
        Line line(node);
        while (!line.done()) {
            VirtualAddress vip;
            vip.loc = node.loc;
            const std::string& text = line.next();
            vip.prefix = prefix_arg(node.loc, block.keyword, text);
            read_vip_options(line, fmt::format("{} {}", block.keyword, text), is_static, vip);
            out.push_back(std::move(vip));
        }
    }
    return out;
}

std::vector<VirtualRoute> read_virtual_routes(const Node& block) {
    require_block(block);
    if (!block.args.empty())
        throw ConfigError(block.loc, fmt::format("{} takes its routes in the {{ ... }} block", block.keyword));
    std::vector<VirtualRoute> out;
    for (const Node& node : block.children) out.push_back(read_route(node, block.keyword));
    return out;
}

}  // namespace lbd::config::detail
