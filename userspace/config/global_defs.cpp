// global_defs: keepalived's own keywords plus the lbd extensions (lb_*, metrics_listen).
#include "config/interpret.h"
#include "lbd_abi.h"
#include "util/primes.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cstdint>

namespace lbd::config::detail {
namespace {

using namespace std::chrono_literals;

// Maglev needs a prime table; 1048573 is the largest prime below 2^20, which
// bounds the per-VIP ring map.
constexpr uint32_t kMinRingSize = 3;
// Each flow table preallocates its entries: 1024 is a lab, 16M some 2 GiB.
constexpr uint32_t kMinConntrackSize = 1024;
constexpr uint32_t kMaxConntrackSize = 16u << 20;

// keepalived: max_auto_priority without a value is sched_get_priority_max(SCHED_RR).
constexpr int kMaxAutoPriority = 99;

// A day: longer GARP delays and timeouts than this are typing mistakes.
constexpr Duration kMaxGlobalTimer = 86400s;

// keepalived global_defs keywords that lbd reads but does not act on.
constexpr std::string_view kIgnored[] = {
    "no_email_faults", "checker_log_all_failures", "lvs_timeouts", "lvs_flush",
    "lvs_flush_on_stop", "log_unknown_vrrps", "log_unknown_vrids", "vrrp_iptables",
    "vrrp_ipsets", "vrrp_nftables", "vrrp_nftables_priority", "vrrp_nftables_ifindex", "nftables",
    "nftables_priority", "nftables_counters", "nftables_ifindex", "nftables_ipvs", "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark", "vrrp_min_garp", "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat", "vrrp_garp_extra_if", "vrrp_down_timer_adverts",
    "vrrp_lower_prio_no_advert", "vrrp_higher_prio_send_advert", "vrrp_owner_ignore_adverts",
    "vrrp_startup_delay", "vrrp_delay_after_boot", "v3_checksum_as_v2", "min_auto_priority_delay",
    "bfd_priority", "bfd_no_swap", "vrrp_rt_priority", "checker_rt_priority", "bfd_rt_priority",
    "vrrp_rlimit_rttime", "checker_rlimit_rttime", "bfd_rlimit_rttime", "vrrp_cpu_affinity",
    "checker_cpu_affinity", "bfd_cpu_affinity", "vrrp_rx_bufs_policy", "vrrp_rx_bufs_multiplier",
    "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force", "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs", "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs", "lvs_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force", "snmp_socket", "enable_traps", "enable_snmp_keepalived",
    "enable_snmp_vrrp", "enable_snmp_checker", "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3",
    "snmp_vs_stats_update_interval", "snmp_rs_stats_update_interval", "enable_dbus", "dbus_service_name",
    "dbus_no_interface_name", "notify_fifo_script", "vrrp_notify_fifo_script", "lvs_notify_fifo_script",
    "vrrp_notify_priority_changes", "fifo_write_vrrp_states_on_reload", "rs_init_notifies",
    "no_checker_emails", "umask", "random_seed", "reload_check_config", "reload_time_file", "reload_repeat",
    "reload_file", "include_check", "config_save_dir", "tmp_config_directory", "startup_script",
    "startup_script_timeout", "shutdown_script", "shutdown_script_timeout", "data_use_instance",
    "use_symlink_paths", "set_supplementary_groups", "process_names", "process_name", "vrrp_process_name",
    "checker_process_name", "bfd_process_name", "disable_local_igmp", "vmac_prefix", "vmac_addr_prefix",
    "state_file_location", "stats_file_location", "json_file_location", "json_version", "iproute_usr_dir",
    "iproute_etc_dir", "net_namespace_ipvs", "namespace_with_ipsets", "instance", "use_pid_dir",
    "linkbeat_use_polling", "linkbeat_interfaces", "child_wait_time",
};

void add_interfaces(const Node& node, GlobalDefs& global) {
    reject_block(node);
    if (node.args.empty()) throw ConfigError(node.loc, "lb_interface needs at least one interface name");
    for (const std::string& name : node.args) {
        interface_arg(node.loc, "lb_interface", name);
        if (std::find(global.lb_interfaces.begin(), global.lb_interfaces.end(), name) !=
            global.lb_interfaces.end())
            throw ConfigError(node.loc, fmt::format("lb_interface {} is listed twice", name));
        global.lb_interfaces.push_back(name);
    }
}

// Once per address family: TUN encapsulates each real in its own family.
void set_tunnel_source(const Node& node, GlobalDefs& global) {
    const IpAddr addr = address_value(node);
    const bool v4 = addr.family == AF_INET;
    std::optional<IpAddr>& slot = v4 ? global.tunnel_source4 : global.tunnel_source6;
    if (slot)
        throw ConfigError(node.loc, fmt::format("lb_tunnel_source {}: the IPv{} tunnel source is already {}",
                                                node.args[0], v4 ? 4 : 6, slot->str()));
    slot = addr;
}

void set_ring_size(const Node& node, GlobalDefs& global) {
    const uint32_t size = number_value(node, kMinRingSize, LBD_RING_SIZE_MAX);
    if (!is_prime(size))
        throw ConfigError(node.loc, fmt::format("lb_ring_size {} is not a prime", size));
    global.ring_size = size;
}

// ADDRESS:PORT; an IPv6 address goes in brackets, or its colons would take
// the port in. Brackets around IPv4 are accepted too, as keepalived's
// service names ("[10.0.0.2]:tcp:80") write them.
void set_metrics_listen(const Node& node, GlobalDefs& global) {
    const std::string_view text = single_value(node);
    const auto malformed = [&](std::string_view why) {
        return ConfigError(node.loc, fmt::format("metrics_listen '{}' {}", text, why));
    };
    const bool bracketed = text.starts_with('[');
    const size_t colon = bracketed ? text.find("]:") : text.rfind(':');
    if (colon == std::string_view::npos) throw malformed("is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)");
    const std::string_view addr = bracketed ? text.substr(1, colon - 1) : text.substr(0, colon);
    const std::string_view port = text.substr(colon + (bracketed ? 2 : 1));
    if (!bracketed && addr.find(':') != std::string_view::npos)
        throw malformed("needs its IPv6 address in brackets: [ADDRESS]:PORT");
    const ListenAddr listen{address_arg(node.loc, "metrics_listen address", addr),
                            port_arg(node.loc, "metrics_listen port", port)};
    if (global.metrics_listen)
        throw ConfigError(node.loc, fmt::format("metrics_listen {}: lbd serves metrics on one address, already {}",
                                                listen.str(), global.metrics_listen->str()));
    global.metrics_listen = listen;
}

// A table of its own: the kernel's main, default and local tables hold the
// node's own routes, and 0 is no table.
void set_announce_table(const Node& node, GlobalDefs& global) {
    const uint32_t table = number_value(node, 1, UINT32_MAX);
    if (table == RT_TABLE_DEFAULT || table == RT_TABLE_MAIN || table == RT_TABLE_LOCAL)
        throw ConfigError(node.loc, fmt::format("lb_announce_table {} is one of the kernel's own tables (default 253, "
                                                "main 254, local 255): give lbd a table of its own",
                                                table));
    global.announce_table = table;
}

void set_smtp_server(const Node& node, GlobalDefs& global) {
    reject_block(node);
    if (node.args.empty() || node.args.size() > 2)
        throw ConfigError(node.loc, "smtp_server needs an address or name and an optional port");
    SmtpServer server{node.args[0], 25};
    if (node.args.size() == 2) server.port = port_arg(node.loc, "smtp_server port", node.args[1]);
    global.smtp_server = server;
}

IpAddr mcast_group(const Node& node, int family) {
    const IpAddr addr = address_value(node);
    const bool multicast = family == AF_INET ? (addr.bytes[0] & 0xf0) == 0xe0 : addr.bytes[0] == 0xff;
    if (addr.family != family || !multicast)
        throw ConfigError(node.loc, fmt::format("{} {} is not an {} multicast address", node.keyword,
                                                node.args[0], family_name(family)));
    return addr;
}

int auto_priority(const Node& node) {
    if (node.args.empty() && !node.has_block) return kMaxAutoPriority;
    return static_cast<int>(signed_value(node, -1, kMaxAutoPriority));
}

int nice_value(const Node& node) {
    return static_cast<int>(signed_value(node, -20, 19));
}

void set_dynamic_interfaces(const Node& node, GlobalDefs& g) {
    reject_block(node);
    if (node.args.size() > 1 || (node.args.size() == 1 && node.args[0] != "allow_if_changes"))
        throw ConfigError(node.loc, fmt::format("dynamic_interfaces takes only 'allow_if_changes', got '{}'",
                                                fmt::join(node.args, " ")));
    g.dynamic_interfaces = true;
    g.allow_if_changes = node.args.size() == 1;
}

// INTERFACE [[inst] VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N]
// [group ADDR]: checked, and of no effect (keepalived's IPVS connection
// sync; lbd's flows keep their reals through a failover without one).
void check_lvs_sync_daemon(const Node& node) {
    reject_block(node);
    if (node.args.empty()) throw ConfigError(node.loc, "lvs_sync_daemon needs an interface");
    interface_arg(node.loc, "lvs_sync_daemon", node.args[0]);
    static constexpr std::pair<std::string_view, std::pair<uint32_t, uint32_t>> kNumbers[] = {
        {"id", {0, 255}}, {"maxlen", {1, 65507}}, {"port", {1, 65535}}, {"ttl", {1, 255}},
    };
    bool instance_seen = false;
    for (size_t i = 1; i < node.args.size(); ++i) {
        const std::string& word = node.args[i];
        const bool takes_value = word == "inst" || word == "group" ||
                                 std::any_of(std::begin(kNumbers), std::end(kNumbers),
                                             [&](const auto& k) { return k.first == word; });
        if (!takes_value) {
            if (instance_seen)
                throw ConfigError(node.loc, fmt::format("lvs_sync_daemon: unknown option '{}'", word));
            instance_seen = true;
            continue;
        }
        if (i + 1 == node.args.size())
            throw ConfigError(node.loc, fmt::format("lvs_sync_daemon: {} needs a value", word));
        const std::string& value = node.args[++i];
        instance_seen = instance_seen || word == "inst";
        if (word == "group") address_arg(node.loc, "lvs_sync_daemon group", value);
        for (const auto& [name, range] : kNumbers)
            if (word == name) number_arg(node.loc, fmt::format("lvs_sync_daemon {}", name), value, range.first,
                                         range.second);
    }
}

void set_notification_email(const Node& node, GlobalDefs& g) {
    require_block(node);
    if (!node.args.empty())
        throw ConfigError(node.loc, "notification_email takes its addresses in the { ... } block");
    for (const Word& w : list_words(node)) g.notification_email.push_back(w.text);
}

using W = Warnings;
constexpr Keyword<GlobalDefs> kKeywords[] = {
    {"router_id", [](const Node& n, GlobalDefs& g, W&) { g.router_id = single_value(n); }},
    {"lvs_id", [](const Node& n, GlobalDefs& g, W&) { g.router_id = single_value(n); }},
    {"lb_interface", [](const Node& n, GlobalDefs& g, W&) { add_interfaces(n, g); }},
    {"lb_tunnel_source", [](const Node& n, GlobalDefs& g, W&) { set_tunnel_source(n, g); }},
    {"lb_ring_size", [](const Node& n, GlobalDefs& g, W&) { set_ring_size(n, g); }},
    {"lb_conntrack_size",
     [](const Node& n, GlobalDefs& g, W&) { g.conntrack_size = number_value(n, kMinConntrackSize, kMaxConntrackSize); }},
    {"lb_flood_guard", [](const Node& n, GlobalDefs& g, W&) { g.flood_guard = number_value(n, 0, 100000000); }},
    {"metrics_listen", [](const Node& n, GlobalDefs& g, W&) { set_metrics_listen(n, g); }},
    {"lb_announce_table", [](const Node& n, GlobalDefs& g, W&) { set_announce_table(n, g); }},
    {"notification_email", [](const Node& n, GlobalDefs& g, W&) { set_notification_email(n, g); }},
    {"notification_email_from", [](const Node& n, GlobalDefs& g, W&) {
         g.notification_email_from = single_value(n);
     }},
    {"smtp_server", [](const Node& n, GlobalDefs& g, W&) { set_smtp_server(n, g); }},
    {"smtp_helo_name", [](const Node& n, GlobalDefs& g, W&) { g.smtp_helo_name = single_value(n); }},
    {"smtp_connect_timeout", [](const Node& n, GlobalDefs& g, W&) {
         g.smtp_connect_timeout = seconds_value(n, 1s, 3600s);
     }},
    {"smtp_alert", [](const Node& n, GlobalDefs& g, W&) { g.smtp_alert = bool_value(n); }},
    {"smtp_alert_vrrp", [](const Node& n, GlobalDefs& g, W&) { g.smtp_alert_vrrp = bool_value(n); }},
    {"smtp_alert_checker", [](const Node& n, GlobalDefs& g, W&) { g.smtp_alert_checker = bool_value(n); }},
    {"enable_script_security", [](const Node& n, GlobalDefs& g, W&) {
         flag_value(n);
         g.enable_script_security = true;
     }},
    {"script_user", [](const Node& n, GlobalDefs& g, W&) { user_value(n, g.script_user, g.script_group); }},
    {"notify_fifo", [](const Node& n, GlobalDefs& g, W&) { g.notify_fifo = script_value(n); }},
    {"vrrp_notify_fifo", [](const Node& n, GlobalDefs& g, W&) { g.vrrp_notify_fifo = script_value(n); }},
    {"lvs_notify_fifo", [](const Node& n, GlobalDefs& g, W&) { g.lvs_notify_fifo = script_value(n); }},
    {"vrrp_version", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_version = static_cast<int>(number_value(n, 2, 3));
     }},
    {"vrrp_strict", [](const Node& n, GlobalDefs& g, W&) { flag_value(n); g.vrrp_strict = true; }},
    {"vrrp_skip_check_adv_addr", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_skip_check_adv_addr = bool_value(n);
     }},
    {"vrrp_check_unicast_src", [](const Node& n, GlobalDefs& g, W&) {
         flag_value(n);
         g.vrrp_check_unicast_src = true;
     }},
    {"vrrp_mcast_group4", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_mcast_group4 = mcast_group(n, AF_INET);
     }},
    {"vrrp_mcast_group6", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_mcast_group6 = mcast_group(n, AF_INET6);
     }},
    {"vrrp_garp_interval", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_garp_interval = seconds_value(n, 0s, 1s);
     }},
    {"vrrp_gna_interval", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_gna_interval = seconds_value(n, 0s, 1s);
     }},
    {"vrrp_garp_master_delay", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_garp_master_delay = seconds_value(n, 0s, kMaxGlobalTimer);
     }},
    {"vrrp_garp_master_repeat", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_garp_master_repeat = number_value(n, 0, 255);
     }},
    {"vrrp_garp_master_refresh", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_garp_master_refresh = seconds_value(n, 0s, kMaxGlobalTimer);
     }},
    {"vrrp_garp_master_refresh_repeat", [](const Node& n, GlobalDefs& g, W&) {
         g.vrrp_garp_master_refresh_repeat = number_value(n, 1, 255);
     }},
    {"max_auto_priority", [](const Node& n, GlobalDefs& g, W&) { g.max_auto_priority = auto_priority(n); }},
    {"vrrp_priority", [](const Node& n, GlobalDefs& g, W&) { g.vrrp_priority = nice_value(n); }},
    {"checker_priority", [](const Node& n, GlobalDefs& g, W&) { g.checker_priority = nice_value(n); }},
    {"vrrp_no_swap", [](const Node& n, GlobalDefs& g, W&) { flag_value(n); g.vrrp_no_swap = true; }},
    {"checker_no_swap", [](const Node& n, GlobalDefs& g, W&) { flag_value(n); g.checker_no_swap = true; }},
    {"dynamic_interfaces", [](const Node& n, GlobalDefs& g, W&) { set_dynamic_interfaces(n, g); }},
    {"lvs_sync_daemon", [](const Node& n, GlobalDefs&, W&) { check_lvs_sync_daemon(n); }},
    {"default_interface", [](const Node& n, GlobalDefs& g, W&) {
         g.default_interface = interface_arg(n.loc, "default_interface", single_value(n));
     }},
    {"net_namespace", [](const Node& n, GlobalDefs& g, W&) { set_net_namespace(n, g); }},
};

}  // namespace

// A name under /run/netns, where `ip netns add` puts it.
void set_net_namespace(const Node& node, GlobalDefs& global) {
    const std::string& name = single_value(node);
    if (name.find('/') != std::string::npos || name == "." || name == "..")
        throw ConfigError(node.loc, fmt::format("net_namespace '{}' is not a name of /run/netns (no '/')", name));
    global.net_namespace = name;
    global.net_namespace_loc = node.loc;
}

void read_global_defs(const Node& node, GlobalDefs& global, Warnings& warnings) {
    if (!node.args.empty())
        throw ConfigError(node.loc,
                          fmt::format("global_defs takes no arguments, got '{}'", fmt::join(node.args, " ")));
    require_block(node);
    read_children(node, "global_defs", kKeywords, kIgnored, global, warnings);
}

}  // namespace lbd::config::detail
