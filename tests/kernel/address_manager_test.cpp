// AddressManager, primary_address and ipv6_forwarding against the kernel:
// what they set is read back with `ip -j`, independent of libnl.
#include "ip_tool.h"
#include "kernel_test.h"
#include "vrrp/address_manager.h"

#include <net/if.h>
#include <sys/socket.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace lbd::vrrp {
namespace {

using nlohmann::json;
using test::ip_json;
using test::joined;
using test::prefix;
using test::run;
using test::VethTest;

config::IpAddr ip(const std::string& text) { return *config::IpAddr::parse(text); }

config::VirtualAddress vip(const std::string& text, const std::string& dev = {}) {
    config::VirtualAddress v;
    v.prefix = prefix(text);
    v.dev = dev;
    return v;
}

// The addr_info entry of `local` on dev, or null.
json address(const std::string& dev, const std::string& local) {
    for (const json& link : ip_json("addr show dev " + dev))
        for (const json& a : link["addr_info"])
            if (a["local"] == local)
                return a;
    return nullptr;
}

// The route to dst (as `ip` prints it) in any table, or null.
json route(int family, const std::string& dst) {
    for (const json& r : ip_json(std::string(family == AF_INET ? "-4" : "-6") + " route show table all"))
        if (r["dst"] == dst && r.value("type", "unicast") != "local")
            return r;
    return nullptr;
}

// v0 up, with carrier from v1, and 10.1.0.5/24, 2001:db8:1::5/64 on it for
// gateways to be reachable; a test may add w0/w1.
class AddressManagerTest : public VethTest {
protected:
    void SetUp() override {
        VethTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        ASSERT_EQ(run("ip link set v1 up && ip link set v0 up && ip addr add 10.1.0.5/24 dev v0 && "
                      "ip addr add 2001:db8:1::5/64 dev v0 nodad"),
                  0);
    }
    void TearDown() override {
        VethTest::TearDown();
        if (kernel_test_skip_reason().empty())
            run("ip link del w0");
    }
    AddressManager am;
};

TEST_F(AddressManagerTest, AddsIpv4WithLabelScopeBroadcastAndFlags) {
    auto host = vip("10.0.0.1/32");
    host.label = "v0:vip";
    host.scope = static_cast<uint8_t>(config::Scope::host);
    auto subnet = vip("10.2.0.7/24");
    subnet.label = "v0:1";
    subnet.scope = static_cast<uint8_t>(config::Scope::link);
    subnet.broadcast = ip("10.2.0.255");
    subnet.noprefixroute = true;

    EXPECT_EQ(joined(am.add({host, subnet}, v0)), "");

    const json h = address("v0", "10.0.0.1");
    ASSERT_FALSE(h.is_null());
    EXPECT_EQ(h["prefixlen"], 32);
    EXPECT_EQ(h["label"], "v0:vip");
    EXPECT_EQ(h["scope"], "host");
    EXPECT_EQ(h["preferred_life_time"], 4294967295u) << "IPv4 is never deprecated by default";
    const json s = address("v0", "10.2.0.7");
    ASSERT_FALSE(s.is_null());
    EXPECT_EQ(s["prefixlen"], 24);
    EXPECT_EQ(s["label"], "v0:1");
    EXPECT_EQ(s["scope"], "link");
    EXPECT_EQ(s["broadcast"], "10.2.0.255");
    EXPECT_EQ(s.value("noprefixroute", false), true);
    EXPECT_TRUE(route(AF_INET, "10.2.0.0/24").is_null()) << "noprefixroute: no subnet route";
}

TEST_F(AddressManagerTest, AddsIpv6WithoutDadAndDeprecatesSlash128) {
    auto mngt = vip("2001:db8:2::1/64");
    mngt.mngtmpaddr = true;
    EXPECT_EQ(joined(am.add({vip("2001:db8::1/128"), mngt}, v0)), "");

    const json host = address("v0", "2001:db8::1");
    ASSERT_FALSE(host.is_null());
    EXPECT_EQ(host["prefixlen"], 128);
    EXPECT_EQ(host.value("nodad", false), true);
    EXPECT_EQ(host.value("deprecated", false), true);
    EXPECT_EQ(host["preferred_life_time"], 0);
    EXPECT_EQ(host["valid_life_time"], 4294967295u);
    const json subnet = address("v0", "2001:db8:2::1");
    ASSERT_FALSE(subnet.is_null());
    EXPECT_EQ(subnet["prefixlen"], 64);
    EXPECT_EQ(subnet.value("nodad", false), true);
    EXPECT_EQ(subnet.value("mngtmpaddr", false), true);
    EXPECT_EQ(subnet.value("deprecated", false), false) << "only /128 is deprecated by default";
    EXPECT_EQ(subnet.value("tentative", false), false);
}

TEST_F(AddressManagerTest, HonoursPreferredLftMinusNodadHomeAndPeer) {
    auto forever = vip("2001:db8::2/128");
    forever.preferred_lft = 0xffffffff;
    auto dad = vip("2001:db8:3::1/64");
    dad.nodad = true;  // keepalived's `-nodad`: DAD runs
    dad.home = true;
    auto p2p = vip("10.9.0.1/32");
    p2p.peer = prefix("10.9.0.2/32");
    auto p2p6 = vip("2001:db8:4::1/128");
    p2p6.peer = prefix("2001:db8:4::2/128");
    auto lft = vip("2001:db8:5::1/64");
    lft.preferred_lft = 300;

    EXPECT_EQ(joined(am.add({forever, dad, p2p, p2p6, lft}, v0)), "");

    EXPECT_EQ(address("v0", "2001:db8::2").value("deprecated", false), false);
    const json d = address("v0", "2001:db8:3::1");
    ASSERT_FALSE(d.is_null());
    EXPECT_EQ(d.value("nodad", false), false);
    EXPECT_EQ(d.value("home", false), true);
    EXPECT_EQ(address("v0", "10.9.0.1")["address"], "10.9.0.2");
    EXPECT_EQ(address("v0", "2001:db8:4::1")["address"], "2001:db8:4::2");
    const json l = address("v0", "2001:db8:5::1");
    ASSERT_FALSE(l.is_null());
    EXPECT_LE(l["preferred_life_time"].get<uint32_t>(), 300u);
    EXPECT_GT(l["preferred_life_time"].get<uint32_t>(), 0u);
    EXPECT_EQ(l["valid_life_time"], 4294967295u);

    EXPECT_EQ(joined(am.remove({forever, dad, p2p, p2p6, lft}, v0)), "");
    for (const char* a : {"2001:db8::2", "2001:db8:3::1", "10.9.0.1", "2001:db8:4::1", "2001:db8:5::1"})
        EXPECT_TRUE(address("v0", a).is_null()) << a;
}

TEST_F(AddressManagerTest, AddIsIdempotentAndRemoveOfAbsentIsFine) {
    const std::vector<config::VirtualAddress> addrs = {vip("10.0.0.1/32"), vip("2001:db8::1/128")};
    EXPECT_EQ(joined(am.add(addrs, v0)), "");
    EXPECT_EQ(joined(am.add(addrs, v0)), "") << "already there is success";
    EXPECT_FALSE(address("v0", "10.0.0.1").is_null());

    EXPECT_EQ(joined(am.remove(addrs, v0)), "");
    EXPECT_TRUE(address("v0", "10.0.0.1").is_null());
    EXPECT_TRUE(address("v0", "2001:db8::1").is_null());
    EXPECT_FALSE(address("v0", "10.1.0.5").is_null()) << "only the VIPs go";
    EXPECT_EQ(joined(am.remove(addrs, v0)), "") << "absent is success";
}

TEST_F(AddressManagerTest, UsesTheAddressesOwnDevOverTheDefault) {
    ASSERT_EQ(run("ip link add w0 type veth peer name w1"), 0);
    EXPECT_EQ(joined(am.add({vip("10.5.0.1/32", "w0")}, v0)), "");
    EXPECT_FALSE(address("w0", "10.5.0.1").is_null());
    EXPECT_TRUE(address("v0", "10.5.0.1").is_null());
    EXPECT_EQ(joined(am.remove({vip("10.5.0.1/32", "w0")}, v0)), "");
    EXPECT_TRUE(address("w0", "10.5.0.1").is_null());
}

TEST_F(AddressManagerTest, MissingDevIsNamedAndTheOthersAreStillAdded) {
    const auto errors = am.add({vip("10.0.0.1/32"), vip("10.0.0.2/32", "nosuch0"), vip("10.0.0.3/32")}, v0);
    ASSERT_EQ(errors.size(), 1u) << joined(errors);
    EXPECT_NE(errors[0].find("10.0.0.2/32"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("nosuch0"), std::string::npos) << errors[0];
    EXPECT_FALSE(address("v0", "10.0.0.1").is_null());
    EXPECT_FALSE(address("v0", "10.0.0.3").is_null());
    EXPECT_EQ(joined(am.remove({vip("10.0.0.2/32", "nosuch0")}, v0)), "") << "no device, no address";
}

TEST_F(AddressManagerTest, KernelRefusalIsReportedWithItsReason) {
    ASSERT_EQ(run("ip link del v1"), 0);  // v0 goes with its peer: v0's ifindex is stale
    const auto errors = am.add({vip("10.0.0.8/32")}, v0);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("10.0.0.8/32 dev #"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("No such device"), std::string::npos) << errors[0];
}

config::VirtualRoute rt(const std::string& dest) {
    config::VirtualRoute r;
    r.dest = prefix(dest);
    return r;
}

TEST_F(AddressManagerTest, AddsAndRemovesRoutes) {
    auto via = rt("192.168.50.0/24");
    via.via = ip("10.1.0.254");
    via.metric = 50;
    auto dev_only = rt("192.168.51.0/24");
    dev_only.dev = "v0";
    auto blackhole = rt("192.168.52.0/24");
    blackhole.type = config::RouteType::blackhole;
    auto table = rt("192.168.53.0/24");
    table.via = ip("10.1.0.254");
    table.table = 100;
    auto multipath = rt("192.168.54.0/24");
    multipath.via = ip("10.1.0.253");
    multipath.or_via = ip("10.1.0.254");
    multipath.dev = "v0";
    auto no_dev = rt("192.168.55.0/24");  // neither via nor dev: the default device
    auto unreachable = rt("192.168.56.0/24");
    unreachable.type = config::RouteType::unreachable;
    auto v6 = rt("2001:db8:9::/48");
    v6.via = ip("2001:db8:1::fe");
    v6.src = ip("2001:db8:1::5");
    auto boot = rt("192.168.57.0/24");
    boot.via = ip("10.1.0.254");
    boot.protocol = 3;
    const std::vector<config::VirtualRoute> routes = {via, dev_only, blackhole, table, multipath,
                                                      no_dev, unreachable, v6, boot};

    EXPECT_EQ(joined(am.add_routes(routes, v0)), "");
    EXPECT_EQ(joined(am.add_routes(routes, v0)), "") << "already there is success";

    const json r1 = route(AF_INET, "192.168.50.0/24");
    ASSERT_FALSE(r1.is_null());
    EXPECT_EQ(r1["gateway"], "10.1.0.254");
    EXPECT_EQ(r1["dev"], "v0");
    EXPECT_EQ(r1["metric"], 50);
    EXPECT_EQ(r1["protocol"], "keepalived");
    const json r2 = route(AF_INET, "192.168.51.0/24");
    ASSERT_FALSE(r2.is_null());
    EXPECT_EQ(r2["dev"], "v0");
    EXPECT_EQ(r2["scope"], "link");
    EXPECT_FALSE(r2.contains("gateway"));
    const json r3 = route(AF_INET, "192.168.52.0/24");
    ASSERT_FALSE(r3.is_null());
    EXPECT_EQ(r3["type"], "blackhole");
    const json r4 = route(AF_INET, "192.168.53.0/24");
    ASSERT_FALSE(r4.is_null());
    EXPECT_EQ(r4["table"], "100");
    EXPECT_EQ(r4["gateway"], "10.1.0.254");
    const json r5 = route(AF_INET, "192.168.54.0/24");
    ASSERT_FALSE(r5.is_null());
    ASSERT_EQ(r5["nexthops"].size(), 2u);
    EXPECT_EQ(r5["nexthops"][0]["gateway"], "10.1.0.253");
    EXPECT_EQ(r5["nexthops"][1]["gateway"], "10.1.0.254");
    EXPECT_EQ(r5["nexthops"][1]["dev"], "v0");
    EXPECT_EQ(route(AF_INET, "192.168.55.0/24")["dev"], "v0");
    EXPECT_EQ(route(AF_INET, "192.168.56.0/24")["type"], "unreachable");
    const json r8 = route(AF_INET6, "2001:db8:9::/48");
    ASSERT_FALSE(r8.is_null());
    EXPECT_EQ(r8["gateway"], "2001:db8:1::fe");
    EXPECT_EQ(r8["prefsrc"], "2001:db8:1::5");
    EXPECT_EQ(r8["protocol"], "keepalived");
    const json r9 = route(AF_INET, "192.168.57.0/24");
    ASSERT_FALSE(r9.is_null());
    EXPECT_EQ(r9.value("protocol", "boot"), "boot");

    EXPECT_EQ(joined(am.remove_routes(routes, v0)), "");
    for (const auto& r : routes)
        EXPECT_TRUE(route(r.dest.addr.family, r.dest.str()).is_null()) << r.dest.str();
    EXPECT_FALSE(route(AF_INET, "10.1.0.0/24").is_null()) << "only the configured routes go";
    EXPECT_EQ(joined(am.remove_routes(routes, v0)), "") << "absent is success";
}

TEST_F(AddressManagerTest, RemoveLeavesARouteItDidNotAdd) {
    ASSERT_EQ(run("ip route add 192.168.60.0/24 via 10.1.0.254 proto static"), 0);
    auto r = rt("192.168.60.0/24");
    r.via = ip("10.1.0.254");
    EXPECT_EQ(joined(am.remove_routes({r}, v0)), "");
    EXPECT_FALSE(route(AF_INET, "192.168.60.0/24").is_null());
}

TEST_F(AddressManagerTest, RouteErrorsNameTheRouteAndDev) {
    auto missing = rt("192.168.61.0/24");
    missing.dev = "nosuch0";
    auto unreachable_gw = rt("192.168.62.0/24");
    unreachable_gw.via = ip("172.31.0.1");
    auto fine = rt("192.168.63.0/24");
    fine.via = ip("10.1.0.254");
    const auto errors = am.add_routes({missing, unreachable_gw, fine}, v0);
    ASSERT_EQ(errors.size(), 2u) << joined(errors);
    EXPECT_NE(errors[0].find("192.168.61.0/24 dev nosuch0"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find("no such interface"), std::string::npos) << errors[0];
    EXPECT_NE(errors[1].find("192.168.62.0/24 via 172.31.0.1"), std::string::npos) << errors[1];
    EXPECT_NE(errors[1].find("unreachable"), std::string::npos) << errors[1];
    EXPECT_FALSE(route(AF_INET, "192.168.63.0/24").is_null());
}

using PrimaryAddress = VethTest;

TEST_F(PrimaryAddress, Ipv4IsTheFirstPrimary) {
    EXPECT_FALSE(primary_address(v0, AF_INET)) << "no address yet";
    ASSERT_EQ(run("ip addr add 10.2.0.1/24 dev v0 && ip addr add 10.2.0.2/24 dev v0 && "
                  "ip addr add 10.3.0.1/24 dev v0 && ip addr add 2001:db8::1/64 dev v0 nodad"),
              0);
    EXPECT_EQ(primary_address(v0, AF_INET), ip("10.2.0.1"));
    ASSERT_EQ(run("ip addr del 10.2.0.2/24 dev v0 && ip addr del 10.2.0.1/24 dev v0"), 0);
    EXPECT_EQ(primary_address(v0, AF_INET), ip("10.3.0.1"));
}

TEST_F(PrimaryAddress, Ipv6IsTheLinkLocal) {
    ASSERT_EQ(run("ip addr add 2001:db8::1/64 dev v0 nodad && ip addr add 10.2.0.1/24 dev v0"), 0);
    EXPECT_FALSE(primary_address(v0, AF_INET6)) << "a global address is no advert source";
    ASSERT_EQ(run("ip addr add fe80::1234/64 dev v0"), 0);  // tentative: v0 is down
    ASSERT_EQ(run("ip addr add fe80::5678/64 dev v1 nodad"), 0);
    EXPECT_EQ(primary_address(v0, AF_INET6), ip("fe80::1234"));
    EXPECT_EQ(primary_address(static_cast<int>(if_nametoindex("v1")), AF_INET6), ip("fe80::5678"));
}

using Ipv6Forwarding = VethTest;

TEST_F(Ipv6Forwarding, ReadsTheInterfaceSysctl) {
    EXPECT_FALSE(ipv6_forwarding("v0"));
    std::ofstream("/proc/sys/net/ipv6/conf/v0/forwarding") << "1";
    EXPECT_TRUE(ipv6_forwarding("v0"));
    EXPECT_FALSE(ipv6_forwarding("v1"));
    EXPECT_FALSE(ipv6_forwarding("nosuch0"));
}

}  // namespace
}  // namespace lbd::vrrp
