// virtual_server blocks, their real_servers, and virtual_server_group.
#include "config/interpret.h"

#include <sys/socket.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace lbd::config::detail {
namespace {

using namespace std::chrono_literals;

// keepalived persistence_timeout without a value: six minutes.
constexpr uint32_t kDefaultPersistence = 360;
// Why fwmark services cannot be: the lb program runs at XDP, before
// netfilter (which sets the marks) has seen the packet.
constexpr std::string_view kNoMarks = "the XDP program forwards packets before netfilter marks them";

// A virtual_server_group range expands to at most this many addresses.
constexpr uint32_t kMaxGroupRange = 1024;

// rr/wrr are Maglev's even/weighted spread, sh and mh its hash; lc and wlc
// count active flows (bpf/lib/flows.h).
constexpr std::string_view kAlgos[] = {"rr", "wrr", "lc", "wlc", "sh", "mh"};

// keepalived virtual_server keywords that lbd reads but does not act on.
constexpr std::string_view kIgnoredVirtual[] = {
    "persistence_granularity", "persistence_engine", "ip_family", "ops", "nat_mask", "sh-fallback",
    "mh-fallback", "flag-1", "flag-3", "sorry_server_lvs_method", "snmp_name",
};

// keepalived real_server keywords that lbd reads but does not act on.
constexpr std::string_view kIgnoredReal[] = {"BFD_CHECK", "snmp_name"};

struct Endpoint {
    IpAddr addr;
    uint16_t port = 0;
};

std::optional<Endpoint> endpoint(const std::vector<std::string>& args) {
    if (args.size() != 2) return std::nullopt;
    const auto addr = IpAddr::parse(args[0]);
    const auto port = parse_decimal(args[1]);
    if (!addr || !port || *port > std::numeric_limits<uint16_t>::max()) return std::nullopt;
    return Endpoint{*addr, static_cast<uint16_t>(*port)};
}

ConfigError needs_endpoint(const Node& node) {
    std::string message = node.keyword + " needs an address and a port";
    if (!node.args.empty()) message += fmt::format(", got '{}'", fmt::join(node.args, " "));
    return ConfigError(node.loc, message);
}

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

struct RealDraft {
    RealServer real;
    TimingWritten timing;
    std::optional<bool> inhibit_on_failure;
    std::vector<CheckerDraft> checkers;
};

// The body of a virtual_server: everything but the address and port, which
// a group supplies once per member.
struct Body {
    VirtualServer vs;
    TimingWritten timing;
    std::vector<RealDraft> reals;
    bool hash_ports = false;
    bool sorry_inhibit = false;
    std::optional<std::pair<Endpoint, Location>> sorry;  // port 0: the virtual server's
};

void set_algo(const Node& node, VirtualServer& vs) {
    const std::string& algo = single_value(node);
    if (!one_of(algo, kAlgos))
        throw ConfigError(node.loc, fmt::format("{} {} is not supported (use one of {})", node.keyword, algo,
                                                fmt::join(kAlgos, ", ")));
    vs.algo = algo;
}

void set_mode(const Node& node, VirtualServer& vs) {
    const std::string& kind = single_value(node);
    const std::string canonical = upper(kind);
    if (canonical == "DR")
        vs.mode = Mode::DR;
    else if (canonical == "TUN")
        vs.mode = Mode::TUN;
    else if (canonical == "NAT")
        vs.mode = Mode::NAT;
    else
        throw ConfigError(node.loc, fmt::format("unknown {} '{}' (use DR, TUN or NAT)", node.keyword, kind));
}

void set_proto(const Node& node, VirtualServer& vs) {
    const std::string& proto = single_value(node);
    const std::string canonical = upper(proto);
    if (canonical == "TCP")
        vs.proto = Proto::TCP;
    else if (canonical == "UDP")
        vs.proto = Proto::UDP;
    else if (canonical == "SCTP")
        throw ConfigError(node.loc, fmt::format("protocol {} is not supported", proto));
    else
        throw ConfigError(node.loc, fmt::format("unknown protocol '{}' (use TCP or UDP)", proto));
}

void set_sorry_server(const Node& node, Body& b) {
    reject_block(node);
    const auto addr = node.args.empty() ? std::nullopt : IpAddr::parse(node.args[0]);
    if (!addr || node.args.size() > 2)
        throw ConfigError(node.loc, fmt::format("sorry_server needs an address and an optional port, got '{}'",
                                                fmt::join(node.args, " ")));
    Endpoint ep{*addr, 0};
    if (node.args.size() == 2)
        ep.port = static_cast<uint16_t>(number_arg(node.loc, "sorry_server port", node.args[1], 0, 65535));
    b.sorry = std::make_pair(ep, node.loc);
}

using W = Warnings;
constexpr Keyword<RealDraft> kRealKeywords[] = {
    {"weight", [](const Node& n, RealDraft& r, W&) {
         r.real.weight = number_value(n, 0, std::numeric_limits<uint16_t>::max());
     }},
    {"inhibit_on_failure", [](const Node& n, RealDraft& r, W&) { r.inhibit_on_failure = bool_value(n); }},
    {"notify_up", [](const Node& n, RealDraft& r, W&) { r.real.notify_up = script_value(n); }},
    {"notify_down", [](const Node& n, RealDraft& r, W&) { r.real.notify_down = script_value(n); }},
    {"uthreshold", [](const Node& n, RealDraft& r, W&) {
         r.real.uthreshold = number_value(n, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"lthreshold", [](const Node& n, RealDraft& r, W&) {
         r.real.lthreshold = number_value(n, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"smtp_alert", [](const Node& n, RealDraft& r, W&) { r.real.smtp_alert = bool_value(n); }},
    {"virtualhost", [](const Node& n, RealDraft& r, W&) { r.real.virtualhost = single_value(n); }},
};

RealDraft read_real(const Node& node, Warnings& warnings) {
    const auto ep = endpoint(node.args);
    if (!ep) throw needs_endpoint(node);
    RealDraft r;
    r.real.addr = ep->addr;
    r.real.port = ep->port;
    r.real.loc = node.loc;
    Node rest = node;  // what the table does not read: timing and checkers
    rest.children.clear();
    for (const Node& child : node.children) {
        if (is_checker(child.keyword))
            r.checkers.push_back(read_checker(child, warnings));
        else if (!read_timing(child, r.timing))
            rest.children.push_back(child);
    }
    read_children(rest, "real_server", kRealKeywords, kIgnoredReal, r, warnings);
    return r;
}

constexpr Keyword<Body> kVirtualKeywords[] = {
    {"lb_algo", [](const Node& n, Body& b, W&) { set_algo(n, b.vs); }},
    {"lvs_sched", [](const Node& n, Body& b, W&) { set_algo(n, b.vs); }},
    {"lb_kind", [](const Node& n, Body& b, W&) { set_mode(n, b.vs); }},
    {"lvs_method", [](const Node& n, Body& b, W&) { set_mode(n, b.vs); }},
    {"protocol", [](const Node& n, Body& b, W&) { set_proto(n, b.vs); }},
    {"persistence_timeout", [](const Node& n, Body& b, W&) {
         b.vs.persistence_timeout = n.args.empty() && !n.has_block
                                        ? kDefaultPersistence
                                        : number_value(n, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"sh-port", [](const Node& n, Body& b, W&) { flag_value(n); b.hash_ports = true; }},
    {"mh-port", [](const Node& n, Body& b, W&) { flag_value(n); b.hash_ports = true; }},
    {"flag-2", [](const Node& n, Body& b, W&) { flag_value(n); b.hash_ports = true; }},
    {"delay_loop", [](const Node& n, Body& b, W&) { b.vs.delay_loop = seconds_value(n, 1ms, 86400s); }},
    {"sorry_server", [](const Node& n, Body& b, W&) { set_sorry_server(n, b); }},
    {"sorry_server_inhibit", [](const Node& n, Body& b, W&) { b.sorry_inhibit = bool_value(n); }},
    {"quorum", [](const Node& n, Body& b, W&) {
         b.vs.quorum = number_value(n, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"hysteresis", [](const Node& n, Body& b, W&) {
         b.vs.hysteresis = number_value(n, 0, std::numeric_limits<uint32_t>::max());
     }},
    {"quorum_up", [](const Node& n, Body& b, W&) { b.vs.quorum_up = script_value(n); }},
    {"quorum_down", [](const Node& n, Body& b, W&) { b.vs.quorum_down = script_value(n); }},
    {"alpha", [](const Node& n, Body& b, W&) { b.vs.alpha = bool_value(n); }},
    {"omega", [](const Node& n, Body& b, W&) { b.vs.omega = bool_value(n); }},
    {"inhibit_on_failure", [](const Node& n, Body& b, W&) { b.vs.inhibit_on_failure = bool_value(n); }},
    {"ha_suspend", [](const Node& n, Body& b, W&) { b.vs.ha_suspend = bool_value(n); }},
    {"smtp_alert", [](const Node& n, Body& b, W&) { b.vs.smtp_alert = bool_value(n); }},
    {"virtualhost", [](const Node& n, Body& b, W&) { b.vs.virtualhost = single_value(n); }},
    {"real_server", [](const Node& n, Body& b, W& w) { b.reals.push_back(read_real(n, w)); }},
};

// Checked once the block is read: lb_kind may follow the real_servers.
// DR only rewrites MACs and TUN only wraps the packet, so neither can
// change the destination port; DR and NAT cannot change the address family.
void check_forwarding(const VirtualServer& vs) {
    for (const RealServer& real : vs.reals) {
        if (vs.mode != Mode::TUN && real.addr.family != vs.addr.family)
            throw ConfigError(
                real.loc, fmt::format("{} needs the real server in the VIP's address family (VIP {}, real {})",
                                      to_string(vs.mode), vs.addr.str(), real.addr.str()));
        if (vs.mode != Mode::NAT && vs.port != 0 && real.port != vs.port)
            throw ConfigError(real.loc, fmt::format("lb_kind {} cannot change the port (virtual {}, real {})",
                                                    to_string(vs.mode), vs.port, real.port));
    }
}

// One VirtualServer from the body, at `ep`.
VirtualServer build(const Body& b, const Endpoint& ep) {
    VirtualServer vs = b.vs;
    vs.addr = ep.addr;
    vs.port = ep.port;
    for (const RealDraft& draft : b.reals) {
        RealServer real = draft.real;
        real.inhibit_on_failure = draft.inhibit_on_failure.value_or(vs.inhibit_on_failure);
        if (real.virtualhost.empty()) real.virtualhost = vs.virtualhost;
        for (const CheckerDraft& c : draft.checkers)
            real.checkers.push_back(resolve_checker(c, real, draft.timing, vs, b.timing));
        for (const RealServer& other : vs.reals)
            if (other.addr == real.addr && other.port == real.port)
                throw ConfigError(real.loc, fmt::format("real_server {} {} is already defined at {}",
                                                        real.addr.str(), real.port, to_string(other.loc)));
        vs.reals.push_back(std::move(real));
    }
    if (b.sorry) {
        const auto& [sorry, loc] = *b.sorry;
        vs.sorry_server = SorryServer{sorry.addr, sorry.port != 0 ? sorry.port : vs.port, b.sorry_inhibit, loc};
    }
    // IPVS's sh and mh hash the client address alone unless told to add the
    // ports (sh-port / mh-port, alias flag-2); persistence pins a client.
    const bool source_hash = (vs.algo == "sh" || vs.algo == "mh") && !b.hash_ports;
    vs.hash_source = source_hash || vs.persistence_timeout > 0;
    check_forwarding(vs);
    if (least_connection(vs) && vs.reals.size() > LBD_LC_MAX_REALS)
        throw ConfigError(vs.loc, fmt::format("lb_algo {} picks among at most {} real servers, this one has {}",
                                              vs.algo, LBD_LC_MAX_REALS, vs.reals.size()));
    return vs;
}

// `A.B.C.D-E` or `A.B.C.D-A.B.C.E` (and the IPv6 forms, last group in hex).
std::vector<IpAddr> address_range(const Location& loc, const std::string& text) {
    const size_t dash = text.find('-');
    const auto first = IpAddr::parse(text.substr(0, dash));
    if (!first)
        throw ConfigError(loc, fmt::format("virtual_server_group: '{}' is not an IP address or range", text));
    if (dash == std::string::npos) return {*first};
    const std::string end_text = text.substr(dash + 1);
    IpAddr last = *first;
    if (const auto full = IpAddr::parse(end_text)) {
        last = *full;
    } else {
        const bool v4 = first->family == AF_INET;
        size_t used = 0;
        unsigned long value = 0;
        try {
            value = std::stoul(end_text, &used, v4 ? 10 : 16);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used == 0 || used != end_text.size() || value > (v4 ? 0xffu : 0xffffu))
            throw ConfigError(loc,
                              fmt::format("virtual_server_group: '{}' is not an IP address or range", text));
        if (v4) {
            last.bytes[3] = static_cast<uint8_t>(value);
        } else {
            last.bytes[14] = static_cast<uint8_t>(value >> 8);
            last.bytes[15] = static_cast<uint8_t>(value);
        }
    }
    if (last.family != first->family || last < *first)
        throw ConfigError(loc, fmt::format("virtual_server_group: range '{}' is empty", text));
    std::vector<IpAddr> out{*first};
    while (out.back() != last) {
        if (out.size() == kMaxGroupRange)
            throw ConfigError(loc, fmt::format("virtual_server_group: range '{}' has more than {} addresses",
                                               text, kMaxGroupRange));
        IpAddr next = out.back();
        for (int i = (next.family == AF_INET ? 3 : 15); i >= 0 && ++next.bytes[i] == 0; --i) {
        }
        out.push_back(next);
    }
    return out;
}

}  // namespace

VirtualServerGroup read_virtual_server_group(const Node& node) {
    VirtualServerGroup g;
    g.name = block_name(node);
    g.loc = node.loc;
    for (const Node& line : node.children) {
        reject_block(line);
        if (line.keyword == "fwmark")
            throw ConfigError(line.loc, fmt::format("virtual_server_group {}: fwmark members are not supported: {}; "
                                                    "list the addresses and ports the mark stands for "
                                                    "(A.B.C.D-E PORT for a range, port 0 for every port)",
                                                    g.name, kNoMarks));
        if (line.keyword.find('/') != std::string::npos)
            throw ConfigError(line.loc,
                              fmt::format("virtual_server_group: prefix ranges like {} are not supported "
                                          "(write A.B.C.D-E)",
                                          line.keyword));
        if (line.args.size() != 1) {
            std::vector<std::string> words{line.keyword};
            words.insert(words.end(), line.args.begin(), line.args.end());
            throw ConfigError(line.loc,
                              fmt::format("virtual_server_group {}: a member needs an address and a port, "
                                          "got '{}'",
                                          g.name, fmt::join(words, " ")));
        }
        const uint16_t port = static_cast<uint16_t>(number_arg(line.loc, "port", line.args[0], 0, 65535));
        for (const IpAddr& addr : address_range(line.loc, line.keyword)) {
            for (const auto& m : g.members)
                if (m.addr == addr && m.port == port)
                    throw ConfigError(line.loc, fmt::format("virtual_server_group {}: {} {} is listed twice",
                                                            g.name, addr.str(), port));
            g.members.push_back({addr, port, line.loc});
        }
    }
    if (g.members.empty())
        throw ConfigError(node.loc, fmt::format("virtual_server_group {} has no members", g.name));
    return g;
}

std::vector<VirtualServer> read_virtual_server(const Node& node, const std::vector<VirtualServerGroup>& groups,
                                               Warnings& warnings) {
    const bool is_group = !node.args.empty() && node.args[0] == "group";
    if (!node.args.empty() && node.args[0] == "fwmark")
        throw ConfigError(node.loc, fmt::format("virtual_server {} is not supported: {}; write a virtual_server "
                                                "ADDR PORT for each address and port the mark stands for (port 0 "
                                                "for every port), or a virtual_server_group of ranges and "
                                                "virtual_server group NAME",
                                                fmt::join(node.args, " "), kNoMarks));
    const VirtualServerGroup* group = nullptr;
    std::optional<Endpoint> ep;
    if (is_group) {
        if (node.args.size() != 2) throw ConfigError(node.loc, "virtual_server group needs one group name");
        for (const VirtualServerGroup& g : groups)
            if (g.name == node.args[1]) group = &g;
        if (group == nullptr)
            throw ConfigError(node.loc,
                              fmt::format("virtual_server group {}: no virtual_server_group {} is defined",
                                          node.args[1], node.args[1]));
    } else if (!(ep = endpoint(node.args))) {
        throw needs_endpoint(node);
    }
    if (!node.has_block)
        throw ConfigError(
            node.loc, fmt::format("virtual_server {} {} needs a {{ ... }} block", node.args[0], node.args[1]));

    Body body;
    body.vs.loc = node.loc;
    Node rest = node;  // timing keywords are read apart, for the checkers
    rest.children.clear();
    for (const Node& child : node.children)
        if (!read_timing(child, body.timing) || child.keyword == "delay_loop" || child.keyword == "alpha")
            rest.children.push_back(child);
    read_children(rest, "virtual_server", kVirtualKeywords, kIgnoredVirtual, body, warnings);

    std::vector<VirtualServer> out;
    if (group == nullptr) {
        out.push_back(build(body, *ep));
        return out;
    }
    body.vs.group = group->name;
    for (const auto& member : group->members) out.push_back(build(body, Endpoint{member.addr, member.port}));
    return out;
}

}  // namespace lbd::config::detail
