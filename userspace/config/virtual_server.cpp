// virtual_server blocks and their real_servers.
#include "config/interpret.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace lbd::config::detail {
namespace {

// keepalived persistence_timeout without a value: six minutes.
constexpr uint32_t kDefaultPersistence = 360;

// The data plane is Maglev: rr/wrr are its even/weighted spread, sh and mh
// its hash; the connection-counting ones are approximated (warned).
constexpr std::string_view kAlgos[] = {"rr", "wrr", "lc", "wlc", "sh", "mh"};
constexpr std::string_view kApproximatedAlgos[] = {"lc", "wlc"};

// keepalived virtual_server keywords that lbd reads but does not act on yet.
constexpr std::string_view kIgnoredVirtual[] = {
    "delay_loop", "delay_before_retry", "retry", "warmup", "connect_timeout", "quorum", "quorum_up",
    "quorum_down", "hysteresis", "alpha", "omega", "inhibit_on_failure", "sorry_server",
    "sorry_server_inhibit", "sorry_server_lvs_method", "virtualhost", "persistence_granularity",
    "persistence_engine", "ha_suspend", "ip_family", "smtp_alert", "ops", "nat_mask",
    "sh-fallback", "mh-fallback", "flag-1", "flag-3",
};

// keepalived real_server keywords and checkers that lbd does not act on yet.
constexpr std::string_view kIgnoredReal[] = {
    "inhibit_on_failure", "notify_up", "notify_down", "uthreshold", "lthreshold", "smtp_alert",
    "virtualhost", "alpha", "retry", "delay_before_retry", "warmup", "delay_loop", "connect_timeout",
    "TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK",
    "PING_CHECK", "FILE_CHECK", "BFD_CHECK",
};

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

void set_algo(const Node& node, VirtualServer& vs, std::vector<std::string>& warnings) {
    const std::string& algo = single_value(node);
    if (!one_of(algo, kAlgos))
        throw ConfigError(node.loc, fmt::format("{} {} is not supported (use one of {})", node.keyword, algo,
                                                fmt::join(kAlgos, ", ")));
    if (one_of(algo, kApproximatedAlgos))
        warnings.push_back(fmt::format("{}: {} {} is served as weighted Maglev, not by connection count",
                                       to_string(node.loc), node.keyword, algo));
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
        throw ConfigError(node.loc, fmt::format("{} {} is not supported yet", node.keyword, kind));
    else
        throw ConfigError(node.loc, fmt::format("unknown {} '{}' (use DR or TUN)", node.keyword, kind));
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

void set_persistence(const Node& node, VirtualServer& vs) {
    vs.persistence_timeout = node.args.empty() && !node.has_block
                                 ? kDefaultPersistence
                                 : number_value(node, 0, std::numeric_limits<uint32_t>::max());
}

RealServer read_real(const Node& node, std::vector<std::string>& warnings) {
    const auto ep = endpoint(node.args);
    if (!ep) throw needs_endpoint(node);
    RealServer real{ep->addr, ep->port, 1, node.loc};
    for (const Node& child : node.children) {
        if (child.keyword == "weight")
            real.weight = number_value(child, 0, std::numeric_limits<uint16_t>::max());
        else if (one_of(child.keyword, kIgnoredReal))
            warn_ignored(child, warnings);
        else
            throw ConfigError(child.loc, fmt::format("unknown keyword '{}' in real_server", child.keyword));
    }
    return real;
}

void add_real(VirtualServer& vs, RealServer real) {
    for (const RealServer& other : vs.reals) {
        if (other.addr == real.addr && other.port == real.port)
            throw ConfigError(real.loc, fmt::format("real_server {} {} is already defined at {}",
                                                    real.addr.str(), real.port, to_string(other.loc)));
    }
    vs.reals.push_back(std::move(real));
}

// Checked once the block is read: lb_kind may follow the real_servers.
// DR only rewrites MACs and TUN only wraps the packet, so neither can
// change the destination port, and DR cannot change the address family.
void check_forwarding(const VirtualServer& vs) {
    for (const RealServer& real : vs.reals) {
        if (vs.mode == Mode::DR && real.addr.family != vs.addr.family)
            throw ConfigError(
                real.loc,
                fmt::format("DR needs the real server in the VIP's address family (VIP {}, real {})",
                            vs.addr.str(), real.addr.str()));
        if (vs.port != 0 && real.port != vs.port)
            throw ConfigError(real.loc, fmt::format("lb_kind {} cannot change the port (virtual {}, real {})",
                                                    to_string(vs.mode), vs.port, real.port));
    }
}

}  // namespace

VirtualServer read_virtual_server(const Node& node, std::vector<std::string>& warnings) {
    if (!node.args.empty() && node.args[0] == "fwmark")
        throw ConfigError(node.loc,
                          fmt::format("fwmark virtual servers are not supported (virtual_server {})",
                                      fmt::join(node.args, " ")));
    if (!node.args.empty() && node.args[0] == "group")
        throw ConfigError(node.loc,
                          fmt::format("virtual_server {} is not supported yet", fmt::join(node.args, " ")));
    const auto ep = endpoint(node.args);
    if (!ep) throw needs_endpoint(node);
    if (!node.has_block)
        throw ConfigError(node.loc, fmt::format("virtual_server {} {} needs a {{ ... }} block", node.args[0],
                                                node.args[1]));

    VirtualServer vs;
    bool hash_ports = false;
    vs.addr = ep->addr;
    vs.port = ep->port;
    vs.loc = node.loc;
    for (const Node& child : node.children) {
        const std::string& kw = child.keyword;
        if (kw == "lb_algo" || kw == "lvs_sched")
            set_algo(child, vs, warnings);
        else if (kw == "lb_kind" || kw == "lvs_method")
            set_mode(child, vs);
        else if (kw == "protocol")
            set_proto(child, vs);
        else if (kw == "persistence_timeout")
            set_persistence(child, vs);
        else if (kw == "sh-port" || kw == "mh-port" || kw == "flag-2")
            hash_ports = true;
        else if (kw == "real_server")
            add_real(vs, read_real(child, warnings));
        else if (one_of(kw, kIgnoredVirtual))
            warn_ignored(child, warnings);
        else
            throw ConfigError(child.loc, fmt::format("unknown keyword '{}' in virtual_server", kw));
    }
    // IPVS's sh and mh hash the client address alone unless told to add the
    // ports (sh-port / mh-port, alias flag-2); persistence pins a client.
    bool source_hash = (vs.algo == "sh" || vs.algo == "mh") && !hash_ports;
    vs.hash_source = source_hash || vs.persistence_timeout > 0;
    check_forwarding(vs);
    return vs;
}

}  // namespace lbd::config::detail
