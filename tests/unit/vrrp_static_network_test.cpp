// StaticNetwork against the fake addresses: the static_* entries are held
// from construction to destruction, and a reload changes only what differs.
#include "config/load.h"
#include "vrrp/static_network.h"
#include "vrrp_fakes.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>

namespace lbd::vrrp {
namespace {

using test::FakeAddresses;
using test::World;

config::Config cfg(const std::string& text) { return config::parse_string(text, "static.conf"); }

const std::string kFirst = R"(static_ipaddress {
    10.7.0.5/24 dev eth0
    10.8.0.5/24 dev eth0
}
static_routes {
    10.70.0.0/16 via 10.7.0.1
}
static_rules {
    from 10.7.0.0/24 table 70 priority 700
    to 10.71.0.0/16 table 71 priority 701
}
)";

// A fake that counts what it was asked to add, to see a reload leave alone
// what it keeps.
class CountingAddresses : public FakeAddresses {
public:
    using FakeAddresses::FakeAddresses;
    std::vector<std::string> add(const std::vector<config::VirtualAddress>& a, int i) override {
        added += a.size();
        return FakeAddresses::add(a, i);
    }
    std::vector<std::string> add_rules(const std::vector<config::IpRule>& r) override {
        rules_added += r.size();
        return FakeAddresses::add_rules(r);
    }
    size_t added = 0, rules_added = 0;
};

TEST(StaticNetwork, HeldFromStartToStop) {
    World world;
    FakeAddresses netlink(world);
    std::optional<StaticNetwork> net;
    net.emplace(cfg(kFirst), netlink);
    EXPECT_EQ(netlink.held, (std::set<std::string>{"10.7.0.5/24", "10.8.0.5/24"}));
    EXPECT_EQ(netlink.routes, (std::set<std::string>{"10.70.0.0/16"}));
    EXPECT_EQ(netlink.rules, (std::set<uint32_t>{700, 701}));
    net.reset();
    EXPECT_TRUE(netlink.held.empty());
    EXPECT_TRUE(netlink.routes.empty());
    EXPECT_TRUE(netlink.rules.empty());
}

TEST(StaticNetwork, AReloadChangesOnlyWhatDiffers) {
    World world;
    CountingAddresses netlink(world);
    StaticNetwork net(cfg(kFirst), netlink);
    ASSERT_EQ(netlink.added, 2u);
    ASSERT_EQ(netlink.rules_added, 2u);
    net.change_to(cfg(R"(static_ipaddress {
    10.7.0.5/24 dev eth0
    10.9.0.5/24 dev eth0
}
static_rules {
    from 10.7.0.0/24 table 70 priority 700
    to 10.71.0.0/16 table 72 priority 701
}
)"));
    EXPECT_EQ(netlink.added, 3u) << "10.9.0.5 only";
    EXPECT_EQ(netlink.held, (std::set<std::string>{"10.7.0.5/24", "10.9.0.5/24"}));
    EXPECT_TRUE(netlink.routes.empty());
    EXPECT_EQ(netlink.rules, (std::set<uint32_t>{700, 701}));
    EXPECT_EQ(netlink.rules_added, 3u) << "701 changed its table: removed and added again; 700 left alone";
    net.change_to(cfg(""));
    EXPECT_TRUE(netlink.held.empty());
    EXPECT_TRUE(netlink.rules.empty());
}

}  // namespace
}  // namespace lbd::vrrp
