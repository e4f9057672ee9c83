// StaticNetwork over the real AddressManager: static_ipaddress,
// static_routes and static_rules set at start, changed by difference on a
// reload and removed at stop, read back with `ip -j`.
#include "config/load.h"
#include "ip_tool.h"
#include "kernel_test.h"
#include "vrrp/address_manager.h"
#include "vrrp/static_network.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace lbd::vrrp {
namespace {

using nlohmann::json;
using test::ip_json;
using test::run;

bool has_address(const std::string& dev, const std::string& local) {
    for (const json& link : ip_json("addr show dev " + dev))
        for (const json& a : link["addr_info"])
            if (a["local"] == local)
                return true;
    return false;
}

bool has_route(const std::string& dst) {
    for (const json& r : ip_json("-4 route show table all"))
        if (r["dst"] == dst)
            return true;
    return false;
}

bool has_rule(uint32_t priority) {
    for (const json& r : ip_json("-4 rule show"))
        if (r["priority"] == priority)
            return true;
    return false;
}

config::Config cfg(const std::string& text) { return config::parse_string(text, "static.conf"); }

const std::string kStart = R"(static_ipaddress {
    10.7.0.5/24 dev v0
    10.8.0.5/24
}
static_routes {
    10.70.0.0/16 via 10.7.0.1
    10.71.0.0/16 dev v0
}
static_rules {
    from 10.7.0.0/24 table 70 priority 700
    to 10.71.0.0/16 table 71 priority 701
}
global_defs {
    default_interface v0
}
)";

// v0 up, for gateways on its static subnet to be reachable.
class StaticNetworkTest : public test::VethTest {
protected:
    void SetUp() override {
        VethTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        ASSERT_EQ(run("ip link set v1 up && ip link set v0 up"), 0);
    }
    void TearDown() override {
        VethTest::TearDown();
        if (kernel_test_skip_reason().empty())
            run("ip -4 rule flush protocol keepalived");
    }
    AddressManager am;
};

TEST_F(StaticNetworkTest, SetAtStartChangedByDifferenceRemovedAtStop) {
    std::optional<StaticNetwork> net;
    net.emplace(cfg(kStart), am);
    EXPECT_TRUE(has_address("v0", "10.7.0.5"));
    EXPECT_TRUE(has_address("v0", "10.8.0.5")) << "no dev: default_interface";
    EXPECT_TRUE(has_route("10.70.0.0/16"));
    EXPECT_TRUE(has_route("10.71.0.0/16"));
    EXPECT_TRUE(has_rule(700));
    EXPECT_TRUE(has_rule(701));

    ASSERT_EQ(run("ip addr add 10.9.0.5/24 dev v0"), 0);  // not lbd's
    net->change_to(cfg(R"(static_ipaddress {
    10.7.0.5/24 dev v0
    10.6.0.5/24 dev v0
}
static_routes {
    10.70.0.0/16 via 10.7.0.1
}
static_rules {
    from 10.7.0.0/24 table 70 priority 700
    to 10.72.0.0/16 table 72 priority 702
}
)"));
    EXPECT_TRUE(has_address("v0", "10.7.0.5"));
    EXPECT_FALSE(has_address("v0", "10.8.0.5"));
    EXPECT_TRUE(has_address("v0", "10.6.0.5"));
    EXPECT_TRUE(has_route("10.70.0.0/16")) << "kept";
    EXPECT_FALSE(has_route("10.71.0.0/16"));
    EXPECT_TRUE(has_rule(700));
    EXPECT_FALSE(has_rule(701));
    EXPECT_TRUE(has_rule(702));

    net.reset();
    EXPECT_FALSE(has_address("v0", "10.7.0.5"));
    EXPECT_FALSE(has_address("v0", "10.6.0.5"));
    EXPECT_FALSE(has_route("10.70.0.0/16"));
    EXPECT_FALSE(has_rule(700));
    EXPECT_FALSE(has_rule(702));
    EXPECT_TRUE(has_address("v0", "10.9.0.5")) << "only lbd's go";
}

TEST_F(StaticNetworkTest, RemoveStaticNetworkTakesWhatAKilledDaemonLeft) {
    {
        const config::Config c = cfg(kStart);
        EXPECT_EQ(am.add(c.static_addresses, 0).size(), 0u);
        EXPECT_EQ(am.add_routes(c.static_routes, 0).size(), 0u);
        EXPECT_EQ(am.add_rules(c.static_rules).size(), 0u);
    }
    ASSERT_TRUE(has_rule(700));
    remove_static_network(cfg(kStart), am);
    EXPECT_FALSE(has_address("v0", "10.7.0.5"));
    EXPECT_FALSE(has_address("v0", "10.8.0.5"));
    EXPECT_FALSE(has_route("10.70.0.0/16"));
    EXPECT_FALSE(has_route("10.71.0.0/16"));
    EXPECT_FALSE(has_rule(700));
    EXPECT_FALSE(has_rule(701));
}

}  // namespace
}  // namespace lbd::vrrp
