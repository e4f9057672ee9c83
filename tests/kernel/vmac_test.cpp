// Vmac against the kernel: what it creates and sets is read back with
// `ip -j` and /proc/sys, independent of libnl.
#include "ip_tool.h"
#include "kernel_test.h"
#include "vrrp/packet.h"
#include "vrrp/vmac.h"

#include <net/if.h>
#include <sys/socket.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lbd::vrrp {
namespace {

using nlohmann::json;
using test::ip_json;
using test::run;

int ifindex(const std::string& name) { return static_cast<int>(if_nametoindex(name.c_str())); }

// `ip -d link show NAME`, or null when there is no such link.
json link(const std::string& name) {
    const json all = ip_json("-d link show dev " + name);
    return all.empty() ? json(nullptr) : all[0];
}

std::optional<int> sysctl(const std::string& path) {
    std::ifstream f("/proc/sys/net/" + path);
    int v = 0;
    if (f >> v)
        return v;
    return std::nullopt;
}

std::string mac_text(const Mac& m) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return buf;
}

class VmacTest : public testing::Test {
protected:
    void SetUp() override {
        LBD_REQUIRE_NETNS();
        ASSERT_EQ(run("ip link add v0 type veth peer name v1 && ip link set v1 up && ip link set v0 up"), 0);
        v0 = ifindex("v0");
    }
    // For when every test runs in one process (one namespace); the vmacs go
    // with their parent.
    void TearDown() override {
        if (!kernel_test_skip_reason().empty())
            return;  // not in a namespace of our own: nothing of ours to delete
        run("ip link del v0");
        run("ip link del vrrp.8");
    }
    int v0 = 0;
};

TEST_F(VmacTest, Ipv4IsAPrivateMacvlanWithTheVrrpMacUpAndKeepalivedsSysctls) {
    const Mac mac = virtual_mac(7, AF_INET);
    std::optional<Vmac> vmac;
    vmac.emplace(v0, "vrrp.7", mac);
    EXPECT_EQ(vmac->name(), "vrrp.7");
    EXPECT_EQ(vmac->ifindex(), ifindex("vrrp.7"));

    const json l = link("vrrp.7");
    ASSERT_FALSE(l.is_null());
    EXPECT_EQ(l["address"], "00:00:5e:00:01:07");
    EXPECT_EQ(l["link"], "v0");
    EXPECT_EQ(l["linkinfo"]["info_kind"], "macvlan");
    EXPECT_EQ(l["linkinfo"]["info_data"]["mode"], "private");
    EXPECT_NE(std::find(l["flags"].begin(), l["flags"].end(), "UP"), l["flags"].end());
    EXPECT_EQ(sysctl("ipv4/conf/vrrp.7/arp_ignore"), 1);
    EXPECT_EQ(sysctl("ipv4/conf/vrrp.7/accept_local"), 1);
    EXPECT_EQ(sysctl("ipv4/conf/vrrp.7/rp_filter"), 0);
    EXPECT_EQ(sysctl("ipv4/conf/vrrp.7/promote_secondaries"), 1);
    EXPECT_EQ(sysctl("ipv6/conf/vrrp.7/disable_ipv6"), 1);
    EXPECT_EQ(sysctl("ipv4/conf/v0/arp_ignore"), 1);
    EXPECT_EQ(sysctl("ipv4/conf/v0/arp_filter"), 1);

    vmac.reset();
    EXPECT_TRUE(link("vrrp.7").is_null()) << "removed on destruction";
    EXPECT_EQ(sysctl("ipv4/conf/v0/arp_ignore"), 0) << "the parent's own values come back";
    EXPECT_EQ(sysctl("ipv4/conf/v0/arp_filter"), 0);
}

TEST_F(VmacTest, ParentSettingsStayWhileAnyVmacIsOnIt) {
    std::ofstream("/proc/sys/net/ipv4/conf/v0/arp_ignore") << "2";
    std::optional<Vmac> a, b;
    a.emplace(v0, "vrrp.1", virtual_mac(1, AF_INET));
    b.emplace(v0, "vrrp.2", virtual_mac(2, AF_INET));
    a.reset();
    EXPECT_EQ(sysctl("ipv4/conf/v0/arp_ignore"), 1) << "vrrp.2 still needs it";
    b.reset();
    EXPECT_EQ(sysctl("ipv4/conf/v0/arp_ignore"), 2);
}

TEST_F(VmacTest, Ipv6CarriesTheParentsLinkLocalAndNoneOfItsOwn) {
    ASSERT_EQ(run("ip addr add fe80::abcd/64 dev v0 nodad"), 0);
    const Mac mac = virtual_mac(9, AF_INET6);
    Vmac vmac(v0, "vrrp6.9", mac);

    const json l = link("vrrp6.9");
    ASSERT_FALSE(l.is_null());
    EXPECT_EQ(l["address"], mac_text(mac));
    EXPECT_EQ(l["address"], "00:00:5e:00:02:09");
    EXPECT_EQ(l["linkinfo"]["info_data"]["mode"], "private");
    EXPECT_EQ(l["inet6_addr_gen_mode"], "none");
    const json addrs = ip_json("-6 addr show dev vrrp6.9");
    ASSERT_EQ(addrs.size(), 1u);
    ASSERT_EQ(addrs[0]["addr_info"].size(), 1u) << addrs.dump();
    const json ll = addrs[0]["addr_info"][0];
    EXPECT_EQ(ll["local"], "fe80::abcd");
    EXPECT_EQ(ll["prefixlen"], 64);
    EXPECT_EQ(ll.value("nodad", false), true) << "the parent holds the same address";
    EXPECT_EQ(sysctl("ipv4/conf/v0/arp_ignore"), 0) << "IPv4 ARP settings are for IPv4 vmacs";
}

TEST_F(VmacTest, ReusesAMatchingOneAndReplacesAMismatchedMacvlan) {
    ASSERT_EQ(run("ip link add link v0 name vrrp.5 address 00:00:5e:00:01:05 type macvlan mode private"), 0);
    const int existing = ifindex("vrrp.5");
    {
        Vmac vmac(v0, "vrrp.5", virtual_mac(5, AF_INET));
        EXPECT_EQ(vmac.ifindex(), existing) << "reused";
        const json flags = link("vrrp.5")["flags"];
        EXPECT_NE(std::find(flags.begin(), flags.end(), "UP"), flags.end()) << "and brought up";
    }
    EXPECT_TRUE(link("vrrp.5").is_null()) << "a reused vmac is ours to remove";

    ASSERT_EQ(run("ip link add link v0 name vrrp.6 address 02:00:00:00:00:06 type macvlan mode bridge"), 0);
    const int wrong = ifindex("vrrp.6");
    Vmac vmac(v0, "vrrp.6", virtual_mac(6, AF_INET));
    EXPECT_NE(vmac.ifindex(), wrong);
    EXPECT_EQ(link("vrrp.6")["address"], "00:00:5e:00:01:06");
    EXPECT_EQ(link("vrrp.6")["linkinfo"]["info_data"]["mode"], "private");
}

TEST_F(VmacTest, RefusesToReplaceAnInterfaceThatIsNoMacvlan) {
    ASSERT_EQ(run("ip link add vrrp.8 type veth peer name vrrp.8p"), 0);
    try {
        Vmac vmac(v0, "vrrp.8", virtual_mac(8, AF_INET));
        FAIL() << "a veth was taken for a vmac";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("vrrp.8 on v0"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("not a macvlan"), std::string::npos) << e.what();
    }
    EXPECT_EQ(link("vrrp.8")["linkinfo"]["info_kind"], "veth") << "left alone";
}

TEST_F(VmacTest, MissingParentThrowsWithContext) {
    try {
        Vmac vmac(9999, "vrrp.3", virtual_mac(3, AF_INET));
        FAIL() << "created on a missing parent";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("vmac vrrp.3 on #9999"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(link("vrrp.3").is_null());
}

}  // namespace
}  // namespace lbd::vrrp
