// The host-network part of keepalived.conf: static_ipaddress, static_routes,
// static_rules, virtual_rules, default_interface, net_namespace, and the
// sync group members keepalived's own sample writes outside `group { }`.
#include "config/load.h"
#include "config_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>
#include <utility>

namespace lbd::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

Config parse(std::string_view text) { return parse_string(text, "n.conf"); }

std::string error_of(std::string_view text) { return test::error_of(text, "n.conf"); }

// A rule line in static_rules, on line 2 of the file.
std::string error_of_rule(std::string_view rule) {
    return error_of("static_rules {\n    " + std::string(rule) + "\n}\n");
}

IpRule rule_of(std::string_view rule) {
    return parse("static_rules {\n    " + std::string(rule) + "\n}\n").static_rules.at(0);
}

TEST(StaticIpaddress, AddressesWithoutDevGoOnDefaultInterface) {
    const Config c = parse(R"(static_ipaddress {
    192.168.200.16/24 dev eth1 scope link
    192.168.200.17 brd + label eth0:s
    2001:db8::5/64 track_group G1
}
)");
    ASSERT_EQ(c.static_addresses.size(), 3u);
    EXPECT_EQ(c.static_addresses[0].prefix.str(), "192.168.200.16/24");
    EXPECT_EQ(c.static_addresses[0].dev, "eth1");
    EXPECT_EQ(c.static_addresses[0].scope, static_cast<uint8_t>(Scope::link));
    EXPECT_EQ(c.static_addresses[1].dev, "eth0");  // keepalived's default_interface
    EXPECT_EQ(c.static_addresses[1].label, "eth0:s");
    EXPECT_EQ(c.static_addresses[2].track_group, "G1");
    EXPECT_EQ(c.static_addresses[2].loc.line, 4);
    EXPECT_THAT(c.warnings, IsEmpty());
}

TEST(StaticIpaddress, DefaultInterfaceWrittenAfterTheBlockStillApplies) {
    const Config c = parse("static_ipaddress {\n    10.0.0.1/24\n}\nglobal_defs {\n    default_interface bond0\n}\n");
    EXPECT_EQ(c.global.default_interface, "bond0");
    EXPECT_EQ(c.static_addresses.at(0).dev, "bond0");
}

TEST(StaticRoutes, RouteSyntaxAndDefaults) {
    const Config c = parse(R"(static_routes {
    src 192.168.100.1 192.168.209.0/24 via 192.168.200.254 dev eth0
    192.168.212.0/24 dev eth3 scope site
    192.168.214.0/24 track_group G1
    blackhole 192.168.215.0/24
}
)");
    const auto& r = c.static_routes;
    ASSERT_EQ(r.size(), 4u);
    EXPECT_EQ(r[0].src->str(), "192.168.100.1");
    EXPECT_EQ(r[0].via->str(), "192.168.200.254");
    EXPECT_EQ(r[1].scope, 200);
    EXPECT_EQ(r[2].dev, "eth0");  // no gateway, no dev: default_interface
    EXPECT_EQ(r[2].track_group, "G1");
    EXPECT_TRUE(r[3].dev.empty());  // nothing to send out of
}

TEST(StaticRoutes, ErrorsNameTheBlock) {
    EXPECT_EQ(error_of("static_routes {\n    10.1.0.0/16 via 10.0.0.1 mtu 1400\n}\n"),
              "n.conf:2: static_routes: unknown option 'mtu'");
    EXPECT_EQ(error_of("static_routes {\n    10.1.0.1/16 via 10.0.0.1\n}\n"),
              "n.conf:2: static_routes 10.1.0.1/16: the destination has host bits set (the network is "
              "10.1.0.0/16)");
    EXPECT_EQ(error_of("static_routes {\n    10.1.0.0/16 table nosuch\n}\n"),
              "n.conf:2: static_routes: table 'nosuch' is not main, local, default or a number");
    // track_group is keepalived's for static routes only.
    EXPECT_EQ(error_of("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  virtual_routes {\n"
                       "    10.1.0.0/16 via 10.0.0.1 track_group G\n  }\n}\n"),
              "n.conf:5: virtual_routes: unknown option 'track_group'");
}

TEST(StaticRules, KeepalivedSampleRulesNumberedInFileOrder) {
    const Config c = parse(R"(static_rules {
    from 192.168.100.0/24 table 1
    to 192.168.101.0/24 table 1 priority 100
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_rules {
        from 192.168.200.0/24 table 2
    }
}
)");
    ASSERT_EQ(c.static_rules.size(), 2u);
    const IpRule& a = c.static_rules[0];
    EXPECT_EQ(a.family, AF_INET);
    EXPECT_EQ(a.from->str(), "192.168.100.0/24");
    EXPECT_FALSE(a.to);
    EXPECT_EQ(a.action, RuleAction::table);
    EXPECT_EQ(a.table, 1u);
    EXPECT_EQ(a.priority, 16384u);
    EXPECT_EQ(a.protocol, 18);  // keepalived's
    EXPECT_EQ(c.static_rules[1].priority, 100u);
    EXPECT_EQ(c.static_rules[1].to->str(), "192.168.101.0/24");
    const auto& v = c.vrrp_instances.at(0).virtual_rules;
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].priority, 16383u);
    EXPECT_EQ(v[0].table, 2u);
    EXPECT_THAT(c.warnings,
                ElementsAre("n.conf:2: the rule has no priority; it gets 16384, as keepalived numbers such rules in "
                            "file order (give it one: rules are matched by priority)",
                            "n.conf:9: the rule has no priority; it gets 16383, as keepalived numbers such rules in "
                            "file order (give it one: rules are matched by priority)"));
}

TEST(StaticRules, EveryOption) {
    const IpRule r = rule_of(
        "not from 192.168.28.0/24 to 192.168.29.0/26 lookup main iif eth1 oif wlan0 tos 0x10 fwmark 24/0xff "
        "preference 39 realms 30/20 suppress_prefixlength 0 sup_group 5 tunnel-id 0x1f uidrange 1000-1999 "
        "ipproto udp sport 10-20 dport 53 protocol static no_track track_group G1");
    EXPECT_TRUE(r.invert);
    EXPECT_EQ(r.from->str(), "192.168.28.0/24");
    EXPECT_EQ(r.to->str(), "192.168.29.0/26");
    EXPECT_EQ(r.table, 254u);
    EXPECT_EQ(r.iif, "eth1");
    EXPECT_EQ(r.oif, "wlan0");
    EXPECT_EQ(r.tos, 0x10);
    EXPECT_EQ(r.fwmark, 24u);
    EXPECT_EQ(r.fwmask, 0xffu);
    EXPECT_EQ(r.priority, 39u);
    EXPECT_EQ(r.realms, (30u << 16) | 20u);
    EXPECT_EQ(r.suppress_prefixlength, 0u);
    EXPECT_EQ(r.suppress_ifgroup, 5u);
    EXPECT_EQ(r.tunnel_id, 0x1fu);
    EXPECT_EQ(r.uidrange, (NumberRange{1000, 1999}));
    EXPECT_EQ(r.ipproto, 17);
    EXPECT_EQ(r.sport, (NumberRange{10, 20}));
    EXPECT_EQ(r.dport, (NumberRange{53, 53}));
    EXPECT_EQ(r.protocol, 4);
    EXPECT_TRUE(r.no_track);
    EXPECT_EQ(r.track_group, "G1");
}

TEST(StaticRules, Actions) {
    EXPECT_EQ(rule_of("from 10.0.0.0/8 goto 60 priority 55").action, RuleAction::goto_);
    EXPECT_EQ(rule_of("from 10.0.0.0/8 goto 60 priority 55").goto_target, 60u);
    EXPECT_EQ(rule_of("priority 1 nop").action, RuleAction::nop);
    EXPECT_EQ(rule_of("priority 1 from 10.0.0.0/8 prohibit").action, RuleAction::prohibit);
    EXPECT_EQ(rule_of("priority 1 to 10.0.0.0/8 type blackhole").action, RuleAction::blackhole);
    EXPECT_EQ(rule_of("priority 1 unreachable").action, RuleAction::unreachable);
    EXPECT_EQ(rule_of("priority 1 l3mdev").action, RuleAction::l3mdev);
    EXPECT_FALSE(rule_of("from all to default table 7 priority 1").from);
}

TEST(StaticRules, Families) {
    EXPECT_EQ(rule_of("from all table 7 priority 1").family, AF_INET);
    EXPECT_EQ(rule_of("from all table 7 priority 1 inet6").family, AF_INET6);
    EXPECT_EQ(rule_of("to 2001:db8::/32 table 7 priority 1").family, AF_INET6);
    EXPECT_EQ(error_of_rule("from 10.0.0.0/8 to 2001:db8::/32 table 7 priority 1"),
              "n.conf:2: static_rules: 2001:db8::/32 is IPv6, but the rule is IPv4 by what comes before it");
    EXPECT_EQ(error_of_rule("inet6 from 10.0.0.0/8 table 7 priority 1"),
              "n.conf:2: static_rules: 10.0.0.0/8 is IPv4, but the rule is IPv6 by what comes before it");
    EXPECT_EQ(error_of_rule("from 2001:db8::/32 realms 2 table 7 priority 1"),
              "n.conf:2: static_rules: realms are for IPv4 rules");
}

TEST(StaticRules, Refused) {
    const std::pair<const char*, const char*> cases[] = {
        {"from 10.0.0.0/8 priority 5", "static_rules: the rule has no action (table, goto, nop, blackhole, "
                                       "unreachable, prohibit or l3mdev)"},
        {"from 10.0.0.0/8 table 5 blackhole", "static_rules: both table and blackhole given; a rule has one action"},
        {"from 10.0.0.0/8 table 0", "static_rules: table 0 is not a routing table"},
        {"from 10.0.0.0/8 goto 60", "static_rules: goto 60 needs a priority on the rule, below its target"},
        {"from 10.0.0.0/8 goto 60 priority 60",
         "static_rules: goto 60 must go to a priority after the rule's own 60"},
        {"from 10.0.0.5/8 table 5", "static_rules from 10.0.0.5/8: the prefix has host bits set (the network is "
                                    "10.0.0.0/8)"},
        {"to 192.168.100./24 table 1", "static_rules: to '192.168.100.' is not an IP address"},
        {"from 10.0.0.0/8 table 5 pref 7", "static_rules: unknown option 'pref'"},
        {"fwmark 0x1/zz table 5", "static_rules: fwmark '0x1/zz' is not a 32-bit MARK or MARK/MASK"},
        {"sport 20-10 table 5", "static_rules: sport 20-10 is not a range within 0..65535"},
        {"uidrange x table 5", "static_rules: uidrange 'x' is not a number or a range A-B"},
        {"ipproto bogus table 5", "static_rules: ipproto 'bogus' is not a protocol name or 0..255"},
        {"tos 256 table 5", "static_rules: tos 256 is out of range 0..255"},
        {"type nop table 5", "static_rules: type 'nop' is not blackhole, unreachable or prohibit"},
        {"realms 1/70000 table 5", "static_rules: realms '1/70000' is not [FROM/]TO, each 0..65535"},
        {"from 10.0.0.0/8 table", "static_rules: table needs a value"},
        {"iif a/b table 5", "iif 'a/b' is not an interface name (no '/', ':' or spaces)"},
    };
    for (const auto& [rule, message] : cases)
        EXPECT_EQ(error_of_rule(rule), std::string("n.conf:2: ") + message) << rule;
}

TEST(VirtualRules, TrackGroupIsForStaticRulesOnly) {
    EXPECT_EQ(error_of("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n  virtual_rules {\n"
                       "    from 10.0.0.0/8 table 5 priority 9 track_group G\n  }\n}\n"),
              "n.conf:5: virtual_rules: unknown option 'track_group'");
}

TEST(Interfaces, StaticDevicesAndRuleInterfacesAreUsed) {
    const Config c = parse(R"(static_ipaddress {
    10.0.0.1/24
}
static_routes {
    10.2.0.0/16 dev eth7
}
static_rules {
    iif eth8 table 5 priority 1
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    virtual_rules {
        oif eth9 table 5 priority 2
    }
}
)");
    EXPECT_THAT(c.interfaces_used(), ElementsAre(Pair("eth0", testing::_), Pair("eth7", testing::_),
                                                 Pair("eth8", testing::_), Pair("eth0", testing::_),
                                                 Pair("eth9", testing::_)));
}

TEST(NetNamespace, TopLevelAsKeepalivedAndInGlobalDefs) {
    const Config top = parse("net_namespace blue\n");
    EXPECT_EQ(top.global.net_namespace, "blue");
    EXPECT_EQ(top.global.net_namespace_loc.line, 1);
    EXPECT_EQ(parse("global_defs {\n    net_namespace red\n}\n").global.net_namespace, "red");
    EXPECT_TRUE(parse("global_defs {\n}\n").global.net_namespace.empty());
    EXPECT_EQ(error_of("net_namespace a/b\n"), "n.conf:1: net_namespace 'a/b' is not a name of /run/netns (no '/')");
    EXPECT_EQ(error_of("net_namespace\n"), "n.conf:1: net_namespace needs a value");
}

TEST(NetNamespace, ConditionalPerNodeAsInKeepalivedsSample) {
    const std::string text = "@high net_namespace high\n@low net_namespace low\n";
    EXPECT_EQ(parse_string(text, "n.conf", "high").global.net_namespace, "high");
    EXPECT_EQ(parse_string(text, "n.conf", "low").global.net_namespace, "low");
}

TEST(LvsSyncDaemon, AcceptedWithNoEffectWhenWellFormed) {
    const Config c = parse(R"(global_defs {
    lvs_sync_daemon eth1 VI_1 id 5 maxlen 1400 port 8848 ttl 2 group 224.0.0.81
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    lvs_sync_daemon_interface eth1
}
)");
    EXPECT_THAT(c.warnings, IsEmpty());
    EXPECT_EQ(parse("global_defs {\n lvs_sync_daemon eth1 inst VI_1\n}\n").warnings.size(), 0u);
    EXPECT_EQ(error_of("global_defs {\n lvs_sync_daemon eth1 VI_1 ttl 0\n}\n"),
              "n.conf:2: lvs_sync_daemon ttl 0 is out of range 1..255");
    EXPECT_EQ(error_of("global_defs {\n lvs_sync_daemon eth1 VI_1 VI_2\n}\n"),
              "n.conf:2: lvs_sync_daemon: unknown option 'VI_2'");
    EXPECT_EQ(error_of("global_defs {\n lvs_sync_daemon eth1 group\n}\n"),
              "n.conf:2: lvs_sync_daemon: group needs a value");
}

// keepalived's keepalived.conf.vrrp.lvs_syncd writes the members bare.
TEST(VrrpSyncGroup, BareInstanceNamesAreMembersWithAWarning) {
    const Config c = parse(R"(vrrp_sync_group VG1 {
  VI_2
  VI_3
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
}
vrrp_instance VI_3 {
    interface eth1
    virtual_router_id 53
}
)");
    const auto& members = c.vrrp_sync_groups.at(0).members;
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0].instance, "VI_2");
    EXPECT_EQ(members[1].instance, "VI_3");
    EXPECT_EQ(members[1].loc.line, 3);
    EXPECT_THAT(c.warnings, ElementsAre("n.conf:2: vrrp_sync_group VG1: VI_2 is read as a member, as if in group "
                                        "{ ... }; keepalived reads members only there and reports this line as an "
                                        "unknown keyword",
                                        "n.conf:3: vrrp_sync_group VG1: VI_3 is read as a member, as if in group "
                                        "{ ... }; keepalived reads members only there and reports this line as an "
                                        "unknown keyword"));
}

TEST(VrrpSyncGroup, ABareWordThatNamesNoInstanceIsAnUnknownKeyword) {
    EXPECT_EQ(error_of("vrrp_sync_group VG1 {\n  group { VI_1 }\n  sync_group_tracking_weigth\n}\n"
                       "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n}\n"),
              "n.conf:3: unknown keyword 'sync_group_tracking_weigth' in vrrp_sync_group");
}

}  // namespace
}  // namespace lbd::config
