// AddressManager's rules (static_rules, virtual_rules) against the kernel:
// what it sets is read back with `ip -j rule`, independent of libnl.
#include "ip_tool.h"
#include "kernel_test.h"
#include "vrrp/address_manager.h"

#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lbd::vrrp {
namespace {

using nlohmann::json;
using test::ip_json;
using test::joined;
using test::prefix;
using test::run;

// The rules of `family` at `priority`, as `ip` lists them.
std::vector<json> at_priority(int family, uint32_t priority) {
    std::vector<json> out;
    for (const json& r : ip_json(family == AF_INET ? "-4 rule show" : "-6 rule show"))
        if (r["priority"] == priority)
            out.push_back(r);
    return out;
}

config::IpRule rule(uint32_t priority, uint32_t table) {
    config::IpRule r;
    r.family = AF_INET;
    r.priority = priority;
    r.table = table;
    return r;
}

// Rules name v0 and v1.
class RulesTest : public test::VethTest {
protected:
    void TearDown() override {
        VethTest::TearDown();
        // Ours, for when every test runs in one process (one namespace).
        if (kernel_test_skip_reason().empty())
            run("ip -4 rule flush protocol keepalived; ip -6 rule flush protocol keepalived; "
                "ip rule del pref 61; ip rule del pref 71");
    }
    AddressManager am;
};

TEST_F(RulesTest, AddsWhatLibnlSetsAndWhatItCannot) {
    auto r = rule(50, 100);
    r.invert = true;
    r.from = prefix("10.0.0.0/8");
    r.to = prefix("10.1.0.0/16");
    r.iif = "v0";
    r.oif = "v1";
    r.tos = 0x10;
    r.fwmark = 0x10;
    r.fwmask = 0xff;
    r.realms = 3 << 16 | 4;
    r.suppress_prefixlength = 0;
    r.suppress_ifgroup = 5;
    r.uidrange = config::NumberRange{100, 200};
    r.ipproto = 17;
    r.sport = config::NumberRange{10, 20};
    r.dport = config::NumberRange{53, 53};
    auto tunnel = rule(51, 5);
    tunnel.tunnel_id = 31;

    EXPECT_EQ(joined(am.add_rules({r, tunnel})), "");

    const auto got = at_priority(AF_INET, 50);
    ASSERT_EQ(got.size(), 1u);
    const json& g = got[0];
    EXPECT_TRUE(g.contains("not"));
    EXPECT_EQ(g["src"], "10.0.0.0");
    EXPECT_EQ(g["srclen"], 8);
    EXPECT_EQ(g["dst"], "10.1.0.0");
    EXPECT_EQ(g["dstlen"], 16);
    EXPECT_EQ(g["iif"], "v0");
    EXPECT_EQ(g["oif"], "v1");
    EXPECT_EQ(g["tos"], "0x10");
    EXPECT_EQ(g["fwmark"], "0x10");
    EXPECT_EQ(g["fwmask"], "0xff");
    EXPECT_EQ(g["flow_from"], "3");
    EXPECT_EQ(g["flow_to"], "4");
    EXPECT_EQ(g["suppress_prefixlen"], 0);
    EXPECT_EQ(g["suppress_ifgroup"], "5");
    EXPECT_EQ(g["uid_start"], 100);
    EXPECT_EQ(g["uid_end"], 200);
    EXPECT_EQ(g["ipproto"], "udp");
    EXPECT_EQ(g["sport_start"], 10);
    EXPECT_EQ(g["sport_end"], 20);
    EXPECT_EQ(g["dport"], 53);
    EXPECT_EQ(g["table"], "100");
    EXPECT_EQ(g["protocol"], "keepalived");
    const auto t = at_priority(AF_INET, 51);
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0]["tun_id"], 31);

    EXPECT_EQ(joined(am.remove_rules({r, tunnel})), "");
    EXPECT_TRUE(at_priority(AF_INET, 50).empty());
    EXPECT_TRUE(at_priority(AF_INET, 51).empty());
}

TEST_F(RulesTest, ActionsAndIpv6) {
    auto go = rule(55, 0);
    go.action = config::RuleAction::goto_;
    go.goto_target = 60;
    auto nop = rule(56, 0);
    nop.action = config::RuleAction::nop;
    auto prohibit = rule(57, 0);
    prohibit.action = config::RuleAction::prohibit;
    prohibit.from = prefix("10.0.0.0/8");
    auto l3mdev = rule(58, 0);
    l3mdev.action = config::RuleAction::l3mdev;
    auto v6 = rule(59, 0);
    v6.family = AF_INET6;
    v6.to = prefix("2001:db8::/32");
    v6.action = config::RuleAction::unreachable;
    auto main = rule(61, 254);
    main.protocol = 4;

    EXPECT_EQ(joined(am.add_rules({go, nop, prohibit, l3mdev, v6, main})), "");

    EXPECT_EQ(at_priority(AF_INET, 55).at(0)["goto"], 60);
    EXPECT_TRUE(at_priority(AF_INET, 56).at(0).contains("nop"));
    EXPECT_EQ(at_priority(AF_INET, 57).at(0)["action"], "prohibit");
    EXPECT_TRUE(at_priority(AF_INET, 58).at(0).contains("l3mdev"));
    const auto six = at_priority(AF_INET6, 59);
    ASSERT_EQ(six.size(), 1u);
    EXPECT_EQ(six[0]["dst"], "2001:db8::");
    EXPECT_EQ(six[0]["action"], "unreachable");
    EXPECT_TRUE(at_priority(AF_INET, 59).empty()) << "an IPv6 rule only";
    EXPECT_EQ(at_priority(AF_INET, 61).at(0)["table"], "main");
    EXPECT_EQ(at_priority(AF_INET, 61).at(0)["protocol"], "static");

    EXPECT_EQ(joined(am.remove_rules({go, nop, prohibit, l3mdev, v6, main})), "");
    for (uint32_t p : {55u, 56u, 57u, 58u, 61u})
        EXPECT_TRUE(at_priority(AF_INET, p).empty()) << p;
    EXPECT_TRUE(at_priority(AF_INET6, 59).empty());
}

TEST_F(RulesTest, AddTwiceMakesOneRuleAndRemoveOfAbsentIsFine) {
    auto r = rule(70, 100);
    r.from = prefix("192.168.100.0/24");
    EXPECT_EQ(joined(am.add_rules({r})), "");
    EXPECT_EQ(joined(am.add_rules({r})), "") << "already there is success";
    EXPECT_EQ(at_priority(AF_INET, 70).size(), 1u) << "and not a second rule";
    EXPECT_EQ(joined(am.remove_rules({r})), "");
    EXPECT_TRUE(at_priority(AF_INET, 70).empty());
    EXPECT_EQ(joined(am.remove_rules({r})), "") << "absent is success";
}

TEST_F(RulesTest, RemoveLeavesARuleItDidNotAdd) {
    ASSERT_EQ(run("ip rule add from 192.168.100.0/24 lookup 100 pref 71"), 0);  // protocol boot, not keepalived
    auto r = rule(71, 100);
    r.from = prefix("192.168.100.0/24");
    EXPECT_EQ(joined(am.remove_rules({r})), "");
    EXPECT_EQ(at_priority(AF_INET, 71).size(), 1u);
}

TEST_F(RulesTest, KernelRefusalNamesTheRule) {
    auto bad = rule(80, 0);
    bad.action = config::RuleAction::goto_;
    bad.goto_target = 80;  // the kernel refuses a goto to itself or before
    auto fine = rule(81, 100);
    const auto errors = am.add_rules({bad, fine});
    ASSERT_EQ(errors.size(), 1u) << joined(errors);
    EXPECT_EQ(errors[0].rfind("cannot add rule 80: from all goto 80: ", 0), 0u) << errors[0];
    EXPECT_EQ(at_priority(AF_INET, 81).size(), 1u) << "the others are still added";
}

}  // namespace
}  // namespace lbd::vrrp
