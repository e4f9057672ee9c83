// announce::Announcer against the kernel's routing table: it writes what the
// selection says, by difference, repairs the table, adopts what a previous
// daemon left without taking it out first, renews the lease, and withdraws
// everything when it stops.
#include "announce/announcer.h"
#include "kernel_test.h"
#include "net/host_routes.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace lbd::announce {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

config::VirtualServer vs(const char* addr) {
    config::VirtualServer v;
    v.addr = ip(addr);
    v.port = 80;
    return v;
}

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// What the announcer handed the data plane, in order.
struct Leases {
    std::mutex mutex;
    std::vector<std::optional<Clock::time_point>> calls;
    Announcer::Lease sink() {
        return [this](std::optional<Clock::time_point> expires) {
            std::lock_guard lock(mutex);
            calls.push_back(expires);
        };
    }
    std::vector<std::optional<Clock::time_point>> seen() {
        std::lock_guard lock(mutex);
        return calls;
    }
};

class AnnouncerTest : public ::testing::Test {
protected:
    void SetUp() override { LBD_REQUIRE_NETNS(); }

    std::set<IpAddr> table() { return net::HostRoutes(100).read(); }
    // Until the table holds exactly `want`, at most 3 s.
    bool table_becomes(const std::set<IpAddr>& want) {
        const auto deadline = Clock::now() + 3s;
        while (Clock::now() < deadline) {
            if (table() == want) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }

    Leases leases_;
};

TEST_F(AnnouncerTest, AnnouncesWhatHasAQuorumAndWithdrawsWhatLosesIt) {
    Announcer a(leases_.sink());
    a.configure(100, {vs("192.0.2.1"), vs("192.0.2.2")}, {});
    a.set_quorum(vs("192.0.2.1"), true);
    a.start();
    ASSERT_TRUE(table_becomes({ip("192.0.2.1")}));
    Status s = a.status();
    EXPECT_EQ(s.table, 100u);
    ASSERT_EQ(s.vips.size(), 2u);
    EXPECT_TRUE(s.vips[0].in_table);
    EXPECT_EQ(s.vips[1].verdict, Verdict::no_quorum);
    a.set_quorum(vs("192.0.2.2"), true);
    ASSERT_TRUE(table_becomes({ip("192.0.2.1"), ip("192.0.2.2")}));
    a.set_quorum(vs("192.0.2.1"), false);
    ASSERT_TRUE(table_becomes({ip("192.0.2.2")}));
    const auto seen = leases_.seen();
    ASSERT_FALSE(seen.empty());
    ASSERT_TRUE(seen.back());
    EXPECT_GT(*seen.back(), Clock::now());
    EXPECT_LE(*seen.back(), Clock::now() + kLease);
}

TEST_F(AnnouncerTest, DrainWithdrawsAllAndUndrainBringsThemBack) {
    Announcer a(leases_.sink());
    a.configure(100, {vs("192.0.2.1"), vs("2001:db8::1")}, {});
    a.set_quorum(vs("192.0.2.1"), true);
    a.set_quorum(vs("2001:db8::1"), true);
    a.start();
    ASSERT_TRUE(table_becomes({ip("192.0.2.1"), ip("2001:db8::1")}));
    EXPECT_THAT(a.set_drained(true), ElementsAre(ip("192.0.2.1"), ip("2001:db8::1")));
    EXPECT_TRUE(table().empty());
    EXPECT_TRUE(a.status().drained);
    EXPECT_THAT(a.set_drained(false), ElementsAre(ip("192.0.2.1"), ip("2001:db8::1")));
    EXPECT_EQ(table(), (std::set<IpAddr>{ip("192.0.2.1"), ip("2001:db8::1")}));
}

TEST_F(AnnouncerTest, RepairsTheTableAndLeavesOthersRoutesAlone) {
    ASSERT_EQ(run("ip route add 192.0.2.9/32 dev lo table 100 proto 76"), 0);  // no service has it
    ASSERT_EQ(run("ip route add 192.0.2.8/32 dev lo table 100 proto static"), 0);
    Announcer a(leases_.sink());
    a.configure(100, {vs("192.0.2.1")}, {});
    a.set_quorum(vs("192.0.2.1"), true);
    a.start();
    ASSERT_TRUE(table_becomes({ip("192.0.2.1")}));
    ASSERT_EQ(run("ip route del 192.0.2.1/32 dev lo table 100"), 0);
    EXPECT_TRUE(table_becomes({ip("192.0.2.1")}));  // within the second's re-read
    EXPECT_EQ(run("ip route show table 100 proto static | grep -q 192.0.2.8"), 0);
}

// A restarted daemon finds its predecessor's routes: what it still
// announces is never taken out, not even for a moment.
TEST_F(AnnouncerTest, AdoptsWithoutWithdrawing) {
    ASSERT_EQ(run("ip route add 192.0.2.1/32 dev lo table 100 proto 76"), 0);
    const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    ASSERT_GE(fd, 0);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_IPV4_ROUTE;
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    {
        Announcer a(leases_.sink());
        a.configure(100, {vs("192.0.2.1"), vs("192.0.2.2")}, {});
        a.set_quorum(vs("192.0.2.1"), true);
        a.set_quorum(vs("192.0.2.2"), true);
        a.start();
        ASSERT_TRUE(table_becomes({ip("192.0.2.1"), ip("192.0.2.2")}));
        std::this_thread::sleep_for(1200ms);  // a re-read too
        int deleted = 0;
        char buf[16384];
        for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<unsigned>(n)); h = NLMSG_NEXT(h, n))
                deleted += h->nlmsg_type == RTM_DELROUTE;
        EXPECT_EQ(deleted, 0);
    }
    close(fd);
}

TEST_F(AnnouncerTest, StopWithdrawsAndEndsTheLease) {
    Announcer a(leases_.sink());
    a.configure(100, {vs("192.0.2.1")}, {});
    a.set_quorum(vs("192.0.2.1"), true);
    a.start();
    ASSERT_TRUE(table_becomes({ip("192.0.2.1")}));
    EXPECT_THAT(a.stop(), ElementsAre(ip("192.0.2.1")));
    EXPECT_TRUE(table().empty());
    const auto seen = leases_.seen();
    ASSERT_FALSE(seen.empty());
    EXPECT_FALSE(seen.back());
    EXPECT_TRUE(a.stop().empty());
}

TEST_F(AnnouncerTest, ATableChangeMovesTheRoutes) {
    Announcer a(leases_.sink());
    a.configure(100, {vs("192.0.2.1")}, {});
    a.set_quorum(vs("192.0.2.1"), true);
    a.start();
    ASSERT_TRUE(table_becomes({ip("192.0.2.1")}));
    a.configure(101, {vs("192.0.2.1")}, {});
    const auto deadline = Clock::now() + 3s;
    while (Clock::now() < deadline && net::HostRoutes(101).read().empty()) std::this_thread::sleep_for(10ms);
    EXPECT_EQ(net::HostRoutes(101).read(), std::set<IpAddr>{ip("192.0.2.1")});
    EXPECT_TRUE(table().empty());
    a.configure(std::nullopt, {vs("192.0.2.1")}, {});
    const auto until = Clock::now() + 3s;
    while (Clock::now() < until && !net::HostRoutes(101).read().empty()) std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(net::HostRoutes(101).read().empty());
    EXPECT_FALSE(a.status().table);
}

TEST_F(AnnouncerTest, DrainNeedsATable) {
    Announcer a(leases_.sink());
    a.configure(std::nullopt, {vs("192.0.2.1")}, {});
    a.start();
    EXPECT_THROW(a.set_drained(true), std::runtime_error);
}

}  // namespace
}  // namespace lbd::announce
