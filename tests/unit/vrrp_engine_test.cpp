// vrrp::Engine on its own thread against fakes of the data plane and the
// addresses: elections, leases, adverts in, failover and shutdown, in real
// time at a 50 ms advert interval. Every wait is for an event the fakes
// report, bounded.
#include "config/load.h"
#include "vrrp/engine.h"
#include "vrrp_fakes.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <thread>
#include <vector>

namespace lbd::vrrp {
namespace {

using namespace std::chrono_literals;
using test::FakeAddresses;
using test::FakeForwarding;
using test::World;
using test::advert_from;

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

const config::Config kConfig = config::parse_string(R"(vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    priority 100
    version 3
    advert_int 0.05
    mcast_src_ip 127.0.0.1
    virtual_ipaddress {
        192.0.2.100/32
    }
}
)",
                                                    "engine.conf");

class VrrpEngine : public ::testing::Test {
protected:
    bool master_held() {
        return world_.wait_for([&] { return addresses_.held.contains("192.0.2.100/32"); });
    }
    size_t adverts(uint8_t priority) {
        size_t n = 0;
        for (const auto& s : dataplane_.fake_wire().sent) n += s.kind == 'A' && s.priority == priority;
        return n;
    }
    size_t adverts_failed() {
        size_t n = 0;
        for (const auto& s : dataplane_.fake_wire().sent) n += s.kind == 'a';
        return n;
    }

    World world_;
    FakeForwarding dataplane_{world_};
    FakeAddresses addresses_{world_};
};

// The engine publishes its status at the end of a loop turn, a moment after
// what the turn did (an address released, an advert sent) can be seen: the
// first instance's published state once it is `want`, or as it is after 5 s.
State published_state(const Engine& engine, State want) {
    const auto deadline = Clock::now() + 5s;
    State state = engine.status().at(0).state;
    while (state != want && Clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
        state = engine.status().at(0).state;
    }
    return state;
}

TEST_F(VrrpEngine, ElectsItselfRenewsItsLeaseAndAnswersStatus) {
    Engine engine(kConfig, dataplane_, addresses_);
    engine.start();
    ASSERT_TRUE(master_held()) << "no master after Master_Down_Interval";
    // It goes on advertising at its interval, and its lease says MASTER.
    ASSERT_TRUE(world_.wait_for([&] { return adverts(100) >= 3; }));
    ASSERT_TRUE(world_.wait_for([&] {
        auto it = dataplane_.fake_leases().slots.find(0);
        return it != dataplane_.fake_leases().slots.end() && it->second.state == LBD_VRRP_MASTER;
    }));
    {
        std::lock_guard lock(world_.mutex);
        EXPECT_TRUE(dataplane_.owned.at(ip("192.0.2.100")));
    }
    const auto status = engine.status();
    ASSERT_EQ(status.size(), 1u);
    EXPECT_EQ(status[0].name, "VI_1");
    EXPECT_EQ(status[0].state, State::MASTER);

    // Shutdown: priority 0, addresses released, before stop() returns.
    engine.stop();
    std::lock_guard lock(world_.mutex);
    EXPECT_EQ(adverts(0), 1u);
    EXPECT_FALSE(addresses_.held.contains("192.0.2.100/32"));
}

TEST_F(VrrpEngine, AnAdvertFromAHigherPriorityTakesMasterAway) {
    Engine engine(kConfig, dataplane_, addresses_);
    engine.start();
    ASSERT_TRUE(master_held());
    dataplane_.fake_wire().arrive(0, advert_from("127.0.0.2", 200, 5));
    ASSERT_TRUE(world_.wait_for([&] { return !addresses_.held.contains("192.0.2.100/32"); }));
    EXPECT_EQ(published_state(engine, State::BACKUP), State::BACKUP);
    EXPECT_EQ(engine.status().at(0).master, "127.0.0.2");
    EXPECT_EQ(engine.failover("VI_1"), "VI_1 is BACKUP, not MASTER: nothing to give up");
    EXPECT_EQ(engine.failover("VI_9"), "no vrrp_instance VI_9");
}

TEST_F(VrrpEngine, FailoverGivesUpMasterWithPriorityZero) {
    Engine engine(kConfig, dataplane_, addresses_);
    engine.start();
    ASSERT_TRUE(master_held());
    EXPECT_EQ(engine.failover("VI_1"), "");
    std::lock_guard lock(world_.mutex);
    EXPECT_EQ(adverts(0), 1u);
}

TEST_F(VrrpEngine, ResumesAsMasterFromACurrentLease) {
    // A previous lbd's lease for this instance, current for a second more.
    lbd_vrrp_lease lease{};
    lease.key = dataplane_.fake_wire().key(0);
    lease.state = LBD_VRRP_MASTER;
    lease.expires_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>((Clock::now() + 1s).time_since_epoch()).count());
    dataplane_.fake_leases().slots[0] = lease;
    Engine engine(kConfig, dataplane_, addresses_);
    // Before the loop runs: the data plane goes on serving the VIP.
    {
        std::lock_guard lock(world_.mutex);
        EXPECT_TRUE(dataplane_.owned.at(ip("192.0.2.100")));
    }
    engine.start();
    ASSERT_TRUE(world_.wait_for([&] { return adverts(100) >= 1; }));
    EXPECT_EQ(published_state(engine, State::MASTER), State::MASTER);
}

// Self-fencing holds only if the lease counts from adverts that left: a
// MASTER whose adverts the wire refuses must stop serving before a backup,
// hearing nothing, takes over (3 x 50 ms here).
TEST_F(VrrpEngine, AMasterWhoseAdvertsFailLetsItsLeaseRunOut) {
    Engine engine(kConfig, dataplane_, addresses_);
    engine.start();
    ASSERT_TRUE(master_held());
    auto lease = [&] { return dataplane_.fake_leases().slots.at(0); };
    auto now_ns = [] {
        return static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
    };
    ASSERT_TRUE(world_.wait_for([&] { return lease().state == LBD_VRRP_MASTER; }));

    uint64_t confirmed_until = 0;
    size_t failed_before = 0;
    world_.touch([&] {
        dataplane_.fake_wire().fail_adverts = true;
        confirmed_until = lease().expires_ns;
        failed_before = adverts_failed();
    });
    // Adverts go on being tried (each one wakes this wait), and the lease
    // runs out while the instance still believes it is MASTER.
    ASSERT_TRUE(world_.wait_for([&] { return adverts_failed() >= failed_before + 4 && lease().expires_ns < now_ns(); }))
        << "the lease was renewed by adverts that failed";
    {
        std::lock_guard lock(world_.mutex);
        EXPECT_LE(lease().expires_ns, confirmed_until + 3 * 50'000'000ull);
        EXPECT_EQ(lease().state, LBD_VRRP_MASTER);
    }
    EXPECT_EQ(engine.status().at(0).state, State::MASTER);

    // Adverts that leave again renew it.
    world_.touch([&] { dataplane_.fake_wire().fail_adverts = false; });
    ASSERT_TRUE(world_.wait_for([&] { return lease().expires_ns > now_ns(); }));
}

}  // namespace
}  // namespace lbd::vrrp
