// global_defs: keepalived's own keywords plus the lbd extensions (lb_*).
#include "config/interpret.h"
#include "dataplane/maglev.h"

#include <net/if.h>
#include <sys/socket.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace lbd::config::detail {
namespace {

// Maglev needs a prime table; 1048573 is the largest prime below 2^20, which
// bounds the per-VIP ring map.
constexpr uint32_t kMinRingSize = 3;
constexpr uint32_t kMaxRingSize = 1048573;

// keepalived global_defs keywords that lbd reads but does not act on yet.
constexpr std::string_view kIgnored[] = {
    "notification_email", "notification_email_from", "smtp_server", "smtp_helo_name",
    "smtp_connect_timeout", "smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker", "no_email_faults",
    "checker_log_all_failures", "enable_script_security", "script_user", "lvs_id", "lvs_sync_daemon",
    "lvs_timeouts", "lvs_flush", "lvs_flush_on_stop", "default_interface", "dynamic_interfaces",
    "log_unknown_vrrps", "vrrp_strict", "vrrp_skip_check_adv_addr", "vrrp_check_unicast_src",
    "vrrp_version", "vrrp_mcast_group4", "vrrp_mcast_group6", "vrrp_iptables", "vrrp_ipsets",
    "vrrp_nftables", "vrrp_nftables_priority", "vrrp_nftables_ifindex", "vrrp_garp_interval",
    "vrrp_gna_interval", "vrrp_min_garp", "vrrp_garp_master_delay", "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh", "vrrp_garp_master_refresh_repeat", "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat", "vrrp_garp_extra_if", "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert", "vrrp_owner_ignore_adverts", "vrrp_startup_delay",
    "max_auto_priority", "min_auto_priority_delay", "vrrp_priority", "checker_priority", "bfd_priority",
    "vrrp_no_swap", "checker_no_swap", "bfd_no_swap", "vrrp_rt_priority", "checker_rt_priority",
    "bfd_rt_priority", "vrrp_rlimit_rttime", "checker_rlimit_rttime", "bfd_rlimit_rttime",
    "vrrp_cpu_affinity", "checker_cpu_affinity", "bfd_cpu_affinity", "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier", "vrrp_netlink_cmd_rcv_bufs", "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs", "vrrp_netlink_monitor_rcv_bufs_force", "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force", "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force", "process_monitor_rcv_bufs", "process_monitor_rcv_bufs_force",
    "snmp_socket", "enable_traps", "enable_snmp_keepalived", "enable_snmp_vrrp", "enable_snmp_checker",
    "enable_snmp_rfc", "enable_snmp_rfcv2", "enable_snmp_rfcv3", "enable_dbus", "dbus_service_name",
    "notify_fifo", "notify_fifo_script", "vrrp_notify_fifo", "vrrp_notify_fifo_script",
    "lvs_notify_fifo", "lvs_notify_fifo_script", "vrrp_notify_priority_changes",
    "fifo_write_vrrp_states_on_reload", "rs_init_notifies", "no_checker_emails", "umask", "random_seed",
    "reload_check_config", "reload_time_file", "reload_repeat", "config_save_dir",
    "tmp_config_directory", "startup_script", "startup_script_timeout", "shutdown_script",
    "shutdown_script_timeout", "data_use_instance", "use_symlink_paths", "process_names", "process_name",
    "vrrp_process_name", "checker_process_name", "bfd_process_name", "disable_local_igmp",
    "net_namespace", "namespace_with_ipsets", "instance", "use_pid_dir", "linkbeat_use_polling",
    "linkbeat_interfaces",
};

void add_interfaces(const Node& node, GlobalDefs& global) {
    reject_block(node);
    if (node.args.empty()) throw ConfigError(node.loc, "lb_interface needs at least one interface name");
    for (const std::string& name : node.args) {
        if (name.empty() || name.size() >= IFNAMSIZ)
            throw ConfigError(node.loc,
                              fmt::format("lb_interface '{}' is not an interface name of 1 to {} characters",
                                          name, IFNAMSIZ - 1));
        if (std::find(global.lb_interfaces.begin(), global.lb_interfaces.end(), name) !=
            global.lb_interfaces.end())
            throw ConfigError(node.loc, fmt::format("lb_interface {} is listed twice", name));
        global.lb_interfaces.push_back(name);
    }
}

// Once per address family: TUN encapsulates each real in its own family.
void set_tunnel_source(const Node& node, GlobalDefs& global) {
    const std::string& text = single_value(node);
    const auto addr = IpAddr::parse(text);
    if (!addr) throw ConfigError(node.loc, fmt::format("lb_tunnel_source '{}' is not an IP address", text));
    const bool v4 = addr->family == AF_INET;
    std::optional<IpAddr>& slot = v4 ? global.tunnel_source4 : global.tunnel_source6;
    if (slot)
        throw ConfigError(node.loc, fmt::format("lb_tunnel_source {}: the IPv{} tunnel source is already {}",
                                                text, v4 ? 4 : 6, slot->str()));
    slot = addr;
}

void set_ring_size(const Node& node, GlobalDefs& global) {
    const uint32_t size = number_value(node, kMinRingSize, kMaxRingSize);
    if (!maglev::is_prime(size))
        throw ConfigError(node.loc, fmt::format("lb_ring_size {} is not a prime", size));
    global.ring_size = size;
}

}  // namespace

void read_global_defs(const Node& node, GlobalDefs& global, std::vector<std::string>& warnings) {
    if (!node.args.empty())
        throw ConfigError(node.loc,
                          fmt::format("global_defs takes no arguments, got '{}'", fmt::join(node.args, " ")));
    if (!node.has_block) throw ConfigError(node.loc, "global_defs needs a { ... } block");
    for (const Node& child : node.children) {
        const std::string& kw = child.keyword;
        if (kw == "router_id")
            global.router_id = single_value(child);
        else if (kw == "lb_interface")
            add_interfaces(child, global);
        else if (kw == "lb_tunnel_source")
            set_tunnel_source(child, global);
        else if (kw == "lb_ring_size")
            set_ring_size(child, global);
        else if (one_of(kw, kIgnored))
            warn_ignored(child, warnings);
        else
            throw ConfigError(child.loc, fmt::format("unknown keyword '{}' in global_defs", kw));
    }
}

}  // namespace lbd::config::detail
