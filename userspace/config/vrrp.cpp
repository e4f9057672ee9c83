// vrrp_instance blocks. What depends on other blocks or on global_defs
// (version, advert_int range, inherited GARP settings) is settled in
// validate.cpp once the whole file is read.
#include "config/interpret.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace lbd::config::detail {
namespace {

using namespace std::chrono_literals;

// RFC 3768 5.3.7: the simple-text password field is 8 octets.
constexpr size_t kAuthPassLen = 8;
// keepalived: preempt_delay 0..1000 seconds.
constexpr Duration kMaxPreemptDelay = 1000s;

// keepalived vrrp_instance keywords that lbd reads but does not act on.
constexpr std::string_view kIgnored[] = {
    "native_ipv6", "mcast_dst_ip", "track_src_ip", "check_unicast_src", "unicast_fault_no_peer",
    "unicast_ttl", "old_unicast_checksum", "v3_checksum_as_v2", "garp_lower_prio_delay",
    "garp_lower_prio_repeat", "garp_extra_if", "down_timer_adverts", "timer_expired_backup",
    "lower_prio_no_advert", "higher_prio_send_advert", "no_virtual_ipaddress",
    "promote_secondaries", "notify_master_rx_lower_pri", "notify_priority_changes", "notify_deleted",
    "kernel_rx_buf_size", "linkbeat_use_polling", "track_process", "track_bfd", "use_vmac_addr", "vrf",
    "use_ipvlan",
};

std::string upper(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
    return s;
}

void set_state(const Node& node, VrrpInstance& v) {
    const std::string state = upper(single_value(node));
    if (state == "MASTER")
        v.initial_state = VrrpState::MASTER;
    else if (state == "BACKUP")
        v.initial_state = VrrpState::BACKUP;
    else
        throw ConfigError(node.loc, fmt::format("state '{}' is not MASTER or BACKUP", node.args[0]));
}

// Seconds with at most two decimals, kept in centiseconds; the range
// depends on the version, checked in validate.cpp.
void set_advert_int(const Node& node, InstanceDraft& d) {
    const std::string& text = single_value(node);
    const auto value = parse_seconds(text, 2);
    if (!value)
        throw ConfigError(
            node.loc,
            fmt::format("advert_int '{}' is not a number of seconds with at most two decimals", text));
    const int64_t cs = value->count() / 10'000;
    d.instance.advert_int_cs = static_cast<uint32_t>(std::min<int64_t>(cs, 1'000'000));
}

void set_authentication(const Node& node, InstanceDraft& d, Warnings& warnings) {
    require_block(node);
    if (!node.args.empty())
        throw ConfigError(node.loc, "authentication takes its settings in the { ... } block");
    std::optional<Location> pass_loc;
    for (const Node& child : node.children) {
        if (child.keyword == "auth_type") {
            const std::string type = upper(single_value(child));
            if (type == "AH") throw ConfigError(child.loc, "auth_type AH is not supported (use PASS, or none)");
            if (type != "PASS")
                throw ConfigError(child.loc, fmt::format("auth_type '{}' is not PASS or AH", child.args[0]));
            d.auth_type_given = true;
            d.instance.auth_pass_enabled = true;
        } else if (child.keyword == "auth_pass") {
            std::string pass = single_value(child);
            if (pass.size() > kAuthPassLen) {
                pass.resize(kAuthPassLen);
                warn(child.loc,
                     fmt::format("auth_pass is longer than {} characters; only '{}' is used, as "
                                 "keepalived does",
                                 kAuthPassLen, pass),
                     warnings);
            }
            d.instance.auth_pass = pass;
            pass_loc = child.loc;
        } else {
            throw ConfigError(child.loc, fmt::format("unknown keyword '{}' in authentication", child.keyword));
        }
    }
    if (d.instance.auth_pass_enabled && !pass_loc)
        throw ConfigError(node.loc, "authentication: auth_type PASS needs an auth_pass");
    if (pass_loc && !d.auth_type_given)
        warn(*pass_loc, "auth_pass without auth_type PASS is not used", warnings);
}

void set_use_vmac(const Node& node, VrrpInstance& v) {
    reject_block(node);
    std::vector<std::string> args = node.args;
    if (!args.empty() && args[0] == "name") args.erase(args.begin());
    if (args.size() > 1 || (node.args.size() == 1 && node.args[0] == "name"))
        throw ConfigError(node.loc, fmt::format("use_vmac takes an optional interface name, got '{}'",
                                                fmt::join(node.args, " ")));
    v.use_vmac = true;
    if (!args.empty()) v.vmac_name = interface_arg(node.loc, "use_vmac", args[0]);
}

// ADDR [min_ttl N] [max_ttl N], one or more on a line.
void set_unicast_peers(const Node& node, VrrpInstance& v) {
    require_block(node);
    const std::vector<Word> words = list_words(node);
    for (size_t i = 0; i < words.size();) {
        UnicastPeer peer{address_arg(words[i].loc, "unicast_peer", words[i].text), {}, {}, words[i].loc};
        ++i;
        while (i < words.size() && (words[i].text == "min_ttl" || words[i].text == "max_ttl")) {
            if (i + 1 == words.size() || words[i + 1].loc.line != words[i].loc.line)
                throw ConfigError(words[i].loc, fmt::format("unicast_peer {}: {} needs a value",
                                                            peer.addr.str(), words[i].text));
            const auto ttl =
                static_cast<uint8_t>(number_arg(words[i].loc, words[i].text, words[i + 1].text, 0, 255));
            (words[i].text == "min_ttl" ? peer.min_ttl : peer.max_ttl) = ttl;
            i += 2;
        }
        v.unicast_peers.push_back(peer);
    }
}

using W = Warnings;
constexpr Keyword<InstanceDraft> kKeywords[] = {
    {"state", [](const Node& n, InstanceDraft& d, W&) { set_state(n, d.instance); }},
    {"interface", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.interface = interface_arg(n.loc, "interface", single_value(n));
         d.instance.interface_loc = n.loc;
     }},
    {"virtual_router_id", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.vrid = static_cast<uint8_t>(number_value(n, 1, 255));
     }},
    {"priority", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.priority = static_cast<uint8_t>(number_value(n, 1, 255));
     }},
    {"advert_int", [](const Node& n, InstanceDraft& d, W&) { set_advert_int(n, d); }},
    {"version", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.version = static_cast<int>(number_value(n, 2, 3));
     }},
    {"nopreempt", [](const Node& n, InstanceDraft& d, W&) { flag_value(n); d.instance.preempt = false; }},
    {"preempt", [](const Node& n, InstanceDraft& d, W&) { flag_value(n); d.instance.preempt = true; }},
    {"preempt_delay", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.preempt_delay = seconds_value(n, 0s, kMaxPreemptDelay);
     }},
    {"authentication", [](const Node& n, InstanceDraft& d, W& w) { set_authentication(n, d, w); }},
    {"virtual_ipaddress", [](const Node& n, InstanceDraft& d, W&) {
         append(d.instance.virtual_addresses, read_virtual_addresses(n));
     }},
    {"virtual_ipaddress_excluded", [](const Node& n, InstanceDraft& d, W&) {
         append(d.instance.excluded_addresses, read_virtual_addresses(n));
     }},
    {"virtual_routes", [](const Node& n, InstanceDraft& d, W&) {
         append(d.instance.virtual_routes, read_virtual_routes(n));
     }},
    {"virtual_rules", [](const Node& n, InstanceDraft& d, W&) { append(d.virtual_rules, read_ip_rules(n)); }},
    {"track_script", [](const Node& n, InstanceDraft& d, W&) {
         append(d.instance.track_scripts, read_tracked(n, -kMaxTrackWeight, kMaxTrackWeight));
     }},
    {"track_interface", [](const Node& n, InstanceDraft& d, W&) {
         append(d.instance.track_interfaces, read_tracked(n, -kMaxTrackWeight, kMaxTrackWeight));
     }},
    {"track_file", [](const Node& n, InstanceDraft& d, W&) {
         append(d.instance.track_files, read_tracked(n, -kMaxTrackFileWeight, kMaxTrackFileWeight));
     }},
    {"dont_track_primary", [](const Node& n, InstanceDraft& d, W&) {
         flag_value(n);
         d.instance.dont_track_primary = true;
     }},
    {"notify_master", [](const Node& n, InstanceDraft& d, W&) { read_notify(n, d.instance.notify); }},
    {"notify_backup", [](const Node& n, InstanceDraft& d, W&) { read_notify(n, d.instance.notify); }},
    {"notify_fault", [](const Node& n, InstanceDraft& d, W&) { read_notify(n, d.instance.notify); }},
    {"notify_stop", [](const Node& n, InstanceDraft& d, W&) { read_notify(n, d.instance.notify); }},
    {"notify", [](const Node& n, InstanceDraft& d, W&) { read_notify(n, d.instance.notify); }},
    {"notify_fifo", [](const Node& n, InstanceDraft& d, W&) { d.instance.notify_fifo = script_value(n); }},
    {"smtp_alert", [](const Node& n, InstanceDraft& d, W&) { d.instance.smtp_alert = bool_value(n); }},
    {"garp_master_delay", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.garp_master_delay = seconds_value(n, 0s, 86400s);
     }},
    {"garp_master_repeat", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.garp_master_repeat = number_value(n, 0, 255);
     }},
    {"garp_master_refresh", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.garp_master_refresh = seconds_value(n, 0s, 86400s);
     }},
    {"garp_master_refresh_repeat", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.garp_master_refresh_repeat = number_value(n, 1, 255);
     }},
    {"garp_interval", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.garp_interval = seconds_value(n, 0s, 1s);
     }},
    {"gna_interval", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.gna_interval = seconds_value(n, 0s, 1s);
     }},
    {"use_vmac", [](const Node& n, InstanceDraft& d, W&) { set_use_vmac(n, d.instance); }},
    {"vmac_xmit_base", [](const Node& n, InstanceDraft& d, W&) {
         flag_value(n);
         d.instance.vmac_xmit_base = true;
     }},
    {"unicast_src_ip", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.unicast_src_ip = address_value(n);
     }},
    {"unicast_peer", [](const Node& n, InstanceDraft& d, W&) { set_unicast_peers(n, d.instance); }},
    {"mcast_src_ip", [](const Node& n, InstanceDraft& d, W&) { d.instance.mcast_src_ip = address_value(n); }},
    {"accept", [](const Node& n, InstanceDraft& d, W&) { flag_value(n); d.instance.accept = true; }},
    {"no_accept", [](const Node& n, InstanceDraft& d, W&) { flag_value(n); d.instance.accept = false; }},
    {"strict_mode", [](const Node& n, InstanceDraft& d, W&) { d.instance.strict_mode = bool_value(n); }},
    {"skip_check_adv_addr", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.skip_check_adv_addr = bool_value(n);
     }},
    // keepalived's IPVS connection sync; lbd's flows keep their reals through
    // a failover without one (both nodes build the same rings).
    {"lvs_sync_daemon_interface", [](const Node& n, InstanceDraft&, W&) {
         interface_arg(n.loc, n.keyword, single_value(n));
     }},
    {"debug", [](const Node& n, InstanceDraft& d, W&) {
         d.instance.debug = n.args.empty() && !n.has_block ? 0 : number_value(n, 0, 4);
     }},
};

}  // namespace

InstanceDraft read_vrrp_instance(const Node& node, Warnings& warnings) {
    InstanceDraft d;
    d.instance.name = block_name(node);
    d.instance.loc = node.loc;
    read_children(node, "vrrp_instance", kKeywords, kIgnored, d, warnings);
    for (const Node& child : node.children) d.written[child.keyword] = child.loc;
    if (d.instance.vrid == 0)
        throw ConfigError(node.loc, fmt::format("vrrp_instance {} has no virtual_router_id", d.instance.name));
    if (d.instance.interface.empty() && d.instance.unicast_peers.empty())
        throw ConfigError(node.loc, fmt::format("vrrp_instance {} has no interface (only unicast instances may "
                                                "leave it out)",
                                                d.instance.name));
    return d;
}

}  // namespace lbd::config::detail
