// The VRRP part of the model: vrrp_instance, vrrp_script, vrrp_sync_group,
// track_file. Values are resolved: an instance setting left out carries
// global_defs' value or keepalived's default, never "unset".
#pragma once

#include "config/model_base.h"
#include "util/track_files.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lbd::config {

// rtnetlink scopes (RT_SCOPE_*), as `ip address` and keepalived name them.
enum class Scope : uint8_t { global = 0, site = 200, link = 253, host = 254, nowhere = 255 };

// One line of virtual_ipaddress / virtual_ipaddress_excluded:
// ADDR[/LEN] [dev IF] [label L] [scope S] [brd B|+|-] [peer P] [home] [-nodad]
// [mngtmpaddr] [noprefixroute] [autojoin] [no_track] [use_vmac] [preferred_lft N|forever]
struct VirtualAddress {
    IpPrefix prefix;  // without /LEN: /32 or /128
    std::string dev;  // empty: the instance's interface
    std::string label;
    uint8_t scope = 0;                // a Scope or any number 0..255
    std::optional<IpAddr> broadcast;  // IPv4 only; `+`/`-` already applied
    std::optional<IpPrefix> peer;
    bool home = false;
    bool nodad = false;
    bool mngtmpaddr = false;
    bool noprefixroute = false;
    bool autojoin = false;
    bool no_track = false;  // a deleted address does not take the instance out of MASTER
    bool use_vmac = false;
    std::optional<uint32_t> preferred_lft;  // seconds; 0xffffffff is "forever"
    std::string track_group;                // static_ipaddress only: keepalived's static_track_group
    Location loc;
    bool operator==(const VirtualAddress&) const = default;
};

enum class RouteType { unicast, blackhole, unreachable, prohibit, throw_ };

// One line of virtual_routes:
// [TYPE] [src A] [to] DEST/LEN [via|gw GW] [or GW2] [dev IF] [metric N] [table T]
// [scope S] [proto P] [onlink] [no_track] [inet6]
struct VirtualRoute {
    RouteType type = RouteType::unicast;
    IpPrefix dest;  // host bits clear; `default` is 0/0
    std::optional<IpAddr> src;
    std::optional<IpAddr> via;
    std::optional<IpAddr> or_via;  // keepalived's alternative gateway
    std::string dev;
    std::optional<uint32_t> metric;  // also written priority / preference
    std::optional<uint32_t> table;   // main 254, local 255, default 253
    std::optional<uint8_t> scope;
    std::optional<uint8_t> protocol;  // kernel 2, boot 3, static 4, or a number
    bool onlink = false;
    bool no_track = false;
    std::string track_group;  // static_routes only
    Location loc;
    bool operator==(const VirtualRoute&) const = default;
};

// What a rule does with a packet it matches (`ip rule`'s action).
enum class RuleAction { table, goto_, nop, blackhole, unreachable, prohibit, l3mdev };

// first..last, both included: ports, uids.
struct NumberRange {
    uint32_t first = 0, last = 0;
    bool operator==(const NumberRange&) const = default;
};

// One line of static_rules / virtual_rules, in `ip rule` syntax as keepalived
// reads it: [not] [from P|all] [to P|all] [priority|preference|order N]
// [tos|dsfield N] [fwmark N[/MASK]] [iif IF] [oif IF] [realms [FROM/]TO]
// [suppress_prefixlength|sup_pl N] [suppress_ifgroup|sup_group N]
// [tunnel-id N] [uidrange A-B] [ipproto P] [sport A[-B]] [dport A[-B]]
// [protocol P] ACTION [no_track] [track_group G] [inet|inet6], ACTION being
// table|lookup T, goto N, nop, [type] blackhole|unreachable|prohibit, or l3mdev.
struct IpRule {
    int family = 0;                     // AF_INET or AF_INET6: the addresses', else inet6's, else IPv4
    std::optional<IpPrefix> from, to;   // unset: all; host bits clear
    bool invert = false;                // `not`
    uint32_t priority = 0;              // written, else keepalived's 16384 downwards in file order
    RuleAction action = RuleAction::table;
    uint32_t table = 0;                 // RuleAction::table: main 254, local 255, default 253, never 0
    uint32_t goto_target = 0;           // RuleAction::goto_: a priority above this rule's
    std::optional<uint8_t> tos;
    std::optional<uint32_t> fwmark;
    std::optional<uint32_t> fwmask;     // with fwmark only
    std::string iif, oif;
    std::optional<uint32_t> realms;     // source realm << 16 | destination realm (IPv4)
    std::optional<uint32_t> suppress_prefixlength;
    std::optional<uint32_t> suppress_ifgroup;
    std::optional<uint64_t> tunnel_id;
    std::optional<NumberRange> uidrange;
    std::optional<uint8_t> ipproto;
    std::optional<NumberRange> sport, dport;
    uint8_t protocol = 18;              // who added the rule: keepalived's number unless `protocol` says
    bool no_track = false;
    std::string track_group;            // static_rules only
    Location loc;
    bool operator==(const IpRule&) const = default;
};

// An entry of track_script / track_interface / track_file:
// NAME [weight N] [reverse|noreverse].
struct Tracked {
    std::string name;
    std::optional<int32_t> weight;  // unset: the script's or file's own; 0 for an interface
    bool reverse = false;
    Location loc;
    bool operator==(const Tracked&) const = default;
};

struct UnicastPeer {
    IpAddr addr;
    std::optional<uint8_t> min_ttl;
    std::optional<uint8_t> max_ttl;
    Location loc;
    bool operator==(const UnicastPeer&) const = default;
};

struct NotifyScripts {
    std::optional<Script> master, backup, fault, stop;
    std::optional<Script> any;  // `notify`: every transition, with GROUP|INSTANCE NAME STATE PRIORITY appended
    bool operator==(const NotifyScripts&) const = default;
};

enum class VrrpState { BACKUP, MASTER };

struct VrrpInstance {
    std::string name;
    VrrpState initial_state = VrrpState::BACKUP;  // a hint: the election decides
    std::string interface;                        // empty only with unicast peers
    uint8_t vrid = 0;                             // virtual_router_id, 1..255 (RFC 5798 5.2.3)
    uint8_t priority = 100;                       // 1..255; 255 = address owner (RFC 5798 5.2.4)
    int version = 2;                              // 2 (RFC 3768) or 3 (RFC 5798)
    int family = 0;                               // AF_INET or AF_INET6: of the virtual addresses
    uint32_t advert_int_cs = 100;                 // centiseconds: v3 1..4095, v2 whole seconds 1..255
    bool preempt = true;                          // false: nopreempt
    Duration preempt_delay{0};                    // 0..1000 s
    bool auth_pass_enabled = false;               // auth_type PASS (v2 only; AH is refused)
    std::string auth_pass;                        // at most 8 characters, as keepalived uses it

    std::vector<VirtualAddress> virtual_addresses;   // one family (in adverts)
    std::vector<VirtualAddress> excluded_addresses;  // any family (not in adverts)
    std::vector<VirtualRoute> virtual_routes;
    std::vector<IpRule> virtual_rules;

    std::vector<Tracked> track_scripts;
    std::vector<Tracked> track_interfaces;
    std::vector<Tracked> track_files;
    bool dont_track_primary = false;

    NotifyScripts notify;
    std::optional<Script> notify_fifo;
    std::optional<bool> smtp_alert;  // unset: global_defs smtp_alert_vrrp, then smtp_alert

    // Gratuitous ARP / unsolicited NA: instance value, else global_defs' vrrp_garp_*.
    Duration garp_master_delay{0};
    uint32_t garp_master_repeat = 0;
    Duration garp_master_refresh{0};  // 0: no refresh
    uint32_t garp_master_refresh_repeat = 0;
    Duration garp_interval{0};
    Duration gna_interval{0};

    bool use_vmac = false;
    std::string vmac_name;  // empty: keepalived's vrrp.<VRID>
    bool vmac_xmit_base = false;

    std::optional<IpAddr> unicast_src_ip;
    std::vector<UnicastPeer> unicast_peers;  // empty: multicast
    std::optional<IpAddr> mcast_src_ip;

    bool accept = true;        // accept packets to the VIPs when not owner
    bool strict_mode = false;  // instance strict_mode, else global vrrp_strict
    bool skip_check_adv_addr = false;
    uint32_t debug = 0;

    Location loc;
    Location interface_loc;  // line of `interface` (line 0: none)
    bool operator==(const VrrpInstance&) const = default;
};

struct VrrpScript {
    std::string name;
    std::string command;  // the whole `script` line, quotes removed
    Duration interval = std::chrono::seconds(1);
    Duration timeout = std::chrono::seconds(1);  // default: interval
    int32_t weight = 0;                          // -253..253; 0: failure means FAULT
    bool reverse = false;
    uint32_t rise = 1;
    uint32_t fall = 1;
    std::string user;  // empty: global script_user
    std::string group;
    bool init_fail = false;
    Location loc;
    bool operator==(const VrrpScript&) const = default;
};

struct VrrpSyncGroup {
    struct Member {
        std::string instance;
        Location loc;
        bool bare = false;  // written outside `group { }` (keepalived's lvs_syncd sample)
        bool operator==(const Member&) const = default;
    };
    std::string name;
    std::vector<Member> members;
    std::vector<Tracked> track_scripts;
    std::vector<Tracked> track_interfaces;
    std::vector<Tracked> track_files;
    NotifyScripts notify;
    std::optional<bool> smtp_alert;  // unset: global_defs smtp_alert_vrrp, then smtp_alert
    bool sync_group_tracking_weight = false;
    Location loc;
    bool operator==(const VrrpSyncGroup&) const = default;
};

// `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`
// (vrrp_track_file is keepalived's older name).
struct TrackFile : TrackedFile {
    int32_t weight = 1;
    bool reverse = false;
    Location loc;
    bool operator==(const TrackFile&) const = default;
};

}  // namespace lbd::config
