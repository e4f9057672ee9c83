// The configuration lbd runs from, as read from a keepalived.conf: immutable
// once loaded; the data plane, the VRRP engine and the health checkers are
// built from it. Every value is resolved (defaults and inherited settings
// filled in) and every statement keeps the Location it was written at.
#pragma once

#include "config/model_base.h"
#include "config/model_checkers.h"
#include "config/model_vrrp.h"
#include "lbd_abi.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lbd::config {

enum class Proto { TCP, UDP };
enum class Mode { DR, TUN, NAT };

constexpr int ip_protocol(Proto p) { return p == Proto::TCP ? 6 : 17; }  // IPPROTO_TCP, IPPROTO_UDP

// keepalived's "[10.0.0.2]:tcp:80" (util/ip_addr.h).
inline std::string service_name(const IpAddr& addr, uint16_t port, Proto proto) {
    return lbd::service_name(addr, ip_protocol(proto), port);
}

// As keepalived.conf spells them: "TCP", "DR".
constexpr std::string_view to_string(Proto p) {
    return p == Proto::TCP ? "TCP" : "UDP";
}
constexpr std::string_view to_string(Mode m) {
    return m == Mode::DR ? "DR" : m == Mode::TUN ? "TUN" : "NAT";
}

struct RealServer {
    IpAddr addr;
    uint16_t port = 0;
    uint32_t weight = 1;
    Location loc;

    bool inhibit_on_failure = false;  // a failed real keeps weight 0 rather than leaving
    std::optional<Script> notify_up;
    std::optional<Script> notify_down;
    std::optional<uint32_t> uthreshold;  // most connections
    std::optional<uint32_t> lthreshold;  // fewest connections
    std::optional<bool> smtp_alert;      // unset: global_defs smtp_alert_checker, then smtp_alert
    std::string virtualhost;             // real's, else the virtual_server's
    std::vector<Checker> checkers;       // none: always up
};

struct SorryServer {
    IpAddr addr;
    uint16_t port = 0;  // default: the virtual server's
    bool inhibit = false;
    Location loc;
};

struct VirtualServer {
    IpAddr addr;
    uint16_t port = 0;  // 0: every port of the address
    Proto proto = Proto::TCP;
    Mode mode = Mode::DR;
    std::string algo = "wrr";          // lb_algo as written; weighted spread when unset
    uint32_t persistence_timeout = 0;  // seconds; >0 pins a client to one real
    bool hash_source = false;          // sh/mh without -port, or persistence: by client address only
    std::vector<RealServer> reals;
    Location loc;

    std::string group;                               // virtual_server group NAME: this is one member of it
    Duration delay_loop = std::chrono::seconds(60);  // checkers' default interval
    std::optional<SorryServer> sorry_server;
    uint32_t quorum = 1;  // total weight of live reals needed
    uint32_t hysteresis = 0;
    std::optional<Script> quorum_up;
    std::optional<Script> quorum_down;
    bool alpha = false;               // reals start down until checked
    bool omega = false;               // run quorum_down / notify_down at shutdown
    bool inhibit_on_failure = false;  // the reals' default
    bool ha_suspend = false;
    std::optional<bool> smtp_alert;  // unset: global_defs smtp_alert_checker, then smtp_alert
    std::string virtualhost;         // HTTP_GET/SSL_GET default Host
};
// lc / wlc: new flows go to the real with the fewest active flows for its
// weight. Persistence (a client pinned to one real) takes precedence, as in
// IPVS, where a persistent template decides before the scheduler.
inline bool least_connection(const VirtualServer& vs) {
    return (vs.algo == "lc" || vs.algo == "wlc") && !vs.hash_source;
}


// `virtual_server_group NAME { ADDR PORT ... }`; ranges A.B.C.D-E expanded.
struct VirtualServerGroup {
    struct Member {
        IpAddr addr;
        uint16_t port = 0;
        Location loc;
    };
    std::string name;
    std::vector<Member> members;
    Location loc;
};

struct SmtpServer {
    std::string host;  // an address or a name
    uint16_t port = 25;
    bool operator==(const SmtpServer&) const = default;
};

// Where a TCP listener binds: `10.0.0.1:9165`, `[2001:db8::1]:9165`.
struct ListenAddr {
    IpAddr addr;
    uint16_t port = 0;
    std::string str() const;  // as written in keepalived.conf, IPv6 in brackets
    bool operator==(const ListenAddr&) const = default;
};

// lb_flood_guard's default: a table of LBD_CONNTRACK_SIZE takes at least
// five seconds per CPU to turn over (docs/dataplane.md, "Floods").
inline constexpr uint32_t kFloodGuardDefault = 50000;

struct GlobalDefs {
    std::string router_id;                   // also written lvs_id
    std::vector<std::string> lb_interfaces;  // lbd: where the lb program attaches
    std::optional<IpAddr> tunnel_source4;    // lbd: outer source of TUN packets
    std::optional<IpAddr> tunnel_source6;
    uint32_t ring_size = LBD_RING_SIZE_DEFAULT;  // lbd: Maglev slots per VIP (prime)
    uint32_t conntrack_size = LBD_CONNTRACK_SIZE;  // lbd: entries of each flow table
    uint32_t flood_guard = kFloodGuardDefault;     // lbd: new flow entries per CPU and second; 0: no limit
    std::optional<ListenAddr> metrics_listen;  // lbd: Prometheus metrics over HTTP; unset: no listener
    // lbd: the kernel routing table where the VIPs this node serves are kept
    // as host routes for a BGP engine to announce (docs/scale-out.md); unset:
    // nothing is announced.
    std::optional<uint32_t> announce_table;

    std::vector<std::string> notification_email;
    std::string notification_email_from;  // empty: lbd@ and the HELO name (notify/smtp.h)
    std::optional<SmtpServer> smtp_server;
    std::string smtp_helo_name;  // empty: the host name
    Duration smtp_connect_timeout = std::chrono::seconds(30);
    bool smtp_alert = false;                 // the default of every smtp_alert
    std::optional<bool> smtp_alert_vrrp;     // unset: smtp_alert
    std::optional<bool> smtp_alert_checker;  // unset: smtp_alert

    bool enable_script_security = false;
    std::string script_user;  // empty: keepalived_script if it exists, else root
    std::string script_group;
    std::optional<Script> notify_fifo;
    std::optional<Script> vrrp_notify_fifo;
    std::optional<Script> lvs_notify_fifo;

    // VRRP defaults. keepalived's own default version is 2 (IPv6 instances
    // always run 3); lbd keeps it so that a node joining keepalived peers
    // speaks their protocol.
    int vrrp_version = 2;
    bool vrrp_strict = false;
    bool vrrp_skip_check_adv_addr = false;
    bool vrrp_check_unicast_src = false;
    IpAddr vrrp_mcast_group4 = *IpAddr::parse("224.0.0.18");  // RFC 5798 5.1.1.2
    IpAddr vrrp_mcast_group6 = *IpAddr::parse("ff02::12");    // RFC 5798 5.1.2.2
    Duration vrrp_garp_interval{0};
    Duration vrrp_gna_interval{0};
    Duration vrrp_garp_master_delay = std::chrono::seconds(5);
    uint32_t vrrp_garp_master_repeat = 5;
    Duration vrrp_garp_master_refresh{0};  // 0: no refresh
    uint32_t vrrp_garp_master_refresh_repeat = 1;

    // Process settings.
    int max_auto_priority = 0;         // -1..99; 0: never raise
    std::optional<int> vrrp_priority;  // nice, -20..19
    std::optional<int> checker_priority;
    bool vrrp_no_swap = false;
    bool checker_no_swap = false;
    bool dynamic_interfaces = false;  // interfaces may come and go
    bool allow_if_changes = false;

    std::string default_interface = "eth0";  // static_ipaddress entries without `dev`, as keepalived
    std::string net_namespace;               // run in /run/netns/NAME; empty: where lbd was started
    Location net_namespace_loc;
    bool operator==(const GlobalDefs&) const = default;
};

struct Config {
    GlobalDefs global;
    std::vector<VirtualServer> virtual_servers;  // groups expanded, in file order
    std::vector<VirtualServerGroup> virtual_server_groups;
    std::vector<VrrpInstance> vrrp_instances;
    std::vector<VrrpScript> vrrp_scripts;
    std::vector<VrrpSyncGroup> vrrp_sync_groups;
    std::vector<TrackFile> track_files;
    // static_ipaddress, static_routes, static_rules: the host's own, set at
    // start whatever the VRRP state; every address has its `dev`.
    std::vector<VirtualAddress> static_addresses;
    std::vector<VirtualRoute> static_routes;
    std::vector<IpRule> static_rules;
    std::vector<std::string> warnings;  // "file:line: ..." for what is read but not acted on

    // Every interface the file names (instance interface, track_interface,
    // dev of addresses and routes, iif/oif of rules, checker bind_if), each with where: the
    // daemon warns about missing ones at -t and refuses them at start-up.
    std::vector<std::pair<std::string, Location>> interfaces_used() const;
    // Every command the file has lbd run (notify scripts, vrrp_script,
    // MISC_CHECK, notify_up/down, quorum_up/down), each with the user it
    // names, if any; FIFOs are not commands.
    std::vector<Command> scripts() const;
};

}  // namespace lbd::config
