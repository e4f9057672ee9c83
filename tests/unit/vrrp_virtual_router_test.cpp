// VirtualRouter against fakes of the wire, the addresses and the data plane:
// what one vrrp_instance does to the world as its state machine moves, with
// time given by the test. The instance lives on lo, which every process sees.
#include "config/load.h"
#include "util/child_process.h"
#include "util/netif.h"
#include "vrrp/notifier.h"
#include "vrrp/virtual_router.h"
#include "vrrp_fakes.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <set>
#include <string>
#include <vector>

namespace lbd::vrrp {
namespace {

using namespace std::chrono_literals;
using test::FakeAddresses;
using test::FakeForwarding;
using test::World;
using test::advert_from;

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

config::Config instance_on_lo(const std::string& extra = "") {
    return config::parse_string(R"(vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    priority 100
    version 3
    advert_int 1
    mcast_src_ip 127.0.0.1
    virtual_ipaddress {
        192.0.2.100/32
    }
)" + extra + "}\n",
                                "router.conf");
}

// What a master holds besides its address.
const std::string kRoutesAndRules = R"(    virtual_routes {
        198.51.100.0/24 dev lo
    }
    virtual_rules {
        from 192.0.2.0/24 table 100 priority 100
        to 198.51.100.0/24 table 100 priority 101
    }
)";

class Router : public ::testing::Test {
protected:
    Router() : cfg_(instance_on_lo(kRoutesAndRules)), notifier_(children_, cfg_.global, nullptr) {}

    std::unique_ptr<VirtualRouter> make() {
        return std::make_unique<VirtualRouter>(
            cfg_.vrrp_instances.at(0), 0, 7,
            RouterEnv{dataplane_, addresses_, notifier_, [this](size_t, State s) { states_.push_back(s); }});
    }

    size_t adverts(uint8_t priority) {
        std::lock_guard lock(world_.mutex);
        size_t n = 0;
        for (const auto& s : dataplane_.fake_wire().sent) n += s.kind == 'A' && s.priority == priority;
        return n;
    }
    size_t garps() {
        std::lock_guard lock(world_.mutex);
        size_t n = 0;
        for (const auto& s : dataplane_.fake_wire().sent) n += s.kind == 'G' && s.vip == ip("192.0.2.100");
        return n;
    }

    World world_;
    FakeForwarding dataplane_{world_};
    FakeAddresses addresses_{world_};
    const config::Config cfg_;
    ChildProcesses children_;
    Notifier notifier_;
    std::vector<State> states_;
};

TEST_F(Router, ConfiguresItsInstanceOnTheWireAndJoinsTheGroup) {
    auto router = make();
    const auto& wire = dataplane_.fake_wire();
    ASSERT_EQ(wire.configured.count(7), 1u);
    const ChannelInstance& c = wire.configured.at(7);
    EXPECT_EQ(c.ifindex, netif::lookup("lo").ifindex);
    EXPECT_EQ(c.src, ip("127.0.0.1"));
    EXPECT_EQ(c.advert.vrid, 51);
    EXPECT_EQ(c.advert.addresses, std::vector<IpAddr>{ip("192.0.2.100")});
    EXPECT_TRUE(c.live_frames);
    ASSERT_EQ(wire.joined.size(), 1u);
    EXPECT_EQ(wire.joined[0].second, vrrp_group(AF_INET));
    router.reset();
    EXPECT_EQ(wire.configured.count(7), 0u) << "a router removes its instance from the wire";
}

TEST_F(Router, BecomesMasterAfterSilenceThenYieldsToAHigherPriority) {
    auto router = make();
    const TimePoint t0 = Clock::now();
    router->instance().start(t0);
    EXPECT_EQ(router->instance().state(), State::BACKUP);
    EXPECT_EQ(adverts(100), 0u);

    // No master heard within Master_Down_Interval: MASTER, with an advert,
    // the VIP on the interface, served by the data plane and announced.
    const TimePoint down = *router->next_deadline();
    EXPECT_EQ(down - t0, router->instance().master_down_interval());
    router->on_timer(down);
    EXPECT_EQ(router->instance().state(), State::MASTER);
    EXPECT_EQ(adverts(100), 1u);
    EXPECT_TRUE(addresses_.held.contains("192.0.2.100/32"));
    EXPECT_EQ(addresses_.routes, (std::set<std::string>{"198.51.100.0/24"}));
    EXPECT_EQ(addresses_.rules, (std::set<uint32_t>{100, 101}));
    EXPECT_TRUE(dataplane_.owned.at(ip("192.0.2.100")));
    EXPECT_GE(garps(), 1u);
    EXPECT_EQ(router->status("").state, State::MASTER);
    EXPECT_EQ(router->status("").master, "127.0.0.1");

    // A higher priority speaks: BACKUP, the VIP released everywhere.
    router->on_packet(down + 10ms, advert_from("127.0.0.2", 200));
    EXPECT_EQ(router->instance().state(), State::BACKUP);
    EXPECT_FALSE(addresses_.held.contains("192.0.2.100/32"));
    EXPECT_TRUE(addresses_.routes.empty());
    EXPECT_TRUE(addresses_.rules.empty());
    EXPECT_FALSE(dataplane_.owned.at(ip("192.0.2.100")));
    EXPECT_EQ(router->status("").master, "127.0.0.2");
    EXPECT_EQ(states_, (std::vector<State>{State::BACKUP, State::MASTER, State::BACKUP}));
}

TEST_F(Router, IgnoresAnAdvertWithOtherAddresses) {
    auto router = make();
    const TimePoint t0 = Clock::now();
    router->instance().start(t0);
    router->on_timer(*router->next_deadline());
    ASSERT_EQ(router->instance().state(), State::MASTER);
    Advert other;
    other.vrid = 51;
    other.priority = 200;
    other.family = AF_INET;
    other.addresses = {ip("192.0.2.200")};
    router->on_packet(Clock::now(), build_packet(other, ip("127.0.0.2"), vrrp_group(AF_INET)));
    EXPECT_EQ(router->instance().state(), State::MASTER) << "keepalived's address check rejects it";
    EXPECT_EQ(router->status("").adverts_received, 0u);
}

TEST_F(Router, ShutdownSendsPriorityZeroAndReleases) {
    auto router = make();
    router->instance().start(Clock::now());
    router->on_timer(*router->next_deadline());
    ASSERT_EQ(router->instance().state(), State::MASTER);
    router->instance().shutdown(Clock::now());
    EXPECT_EQ(adverts(0), 1u);
    EXPECT_FALSE(addresses_.held.contains("192.0.2.100/32"));
    EXPECT_TRUE(addresses_.rules.empty());
    EXPECT_EQ(router->instance().state(), State::INIT);
}

TEST_F(Router, AKeptMasterLetsGoOfWhatTheReloadDropped) {
    auto router = make();
    router->instance().start(Clock::now());
    router->on_timer(*router->next_deadline());
    ASSERT_EQ(router->instance().state(), State::MASTER);
    const config::Config next = instance_on_lo(R"(    virtual_rules {
        from 192.0.2.0/24 table 100 priority 100
    }
)");
    router->drop_what_is_not_in(next.vrrp_instances.at(0));
    EXPECT_TRUE(addresses_.held.contains("192.0.2.100/32")) << "kept";
    EXPECT_TRUE(addresses_.routes.empty());
    EXPECT_EQ(addresses_.rules, (std::set<uint32_t>{100}));
}

}  // namespace
}  // namespace lbd::vrrp
