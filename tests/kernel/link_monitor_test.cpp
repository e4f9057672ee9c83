// LinkMonitor against real veth pairs: notifications waited for with poll()
// on fd() and a deadline, never with sleeps.
#include "kernel_test.h"
#include "vrrp/link_monitor.h"

#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace lbd::vrrp {
namespace {

using namespace std::chrono_literals;

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

int ifindex(const std::string& name) { return static_cast<int>(if_nametoindex(name.c_str())); }

class LinkMonitorTest : public testing::Test {
protected:
    void SetUp() override {
        LBD_REQUIRE_NETNS();
        ASSERT_EQ(run("ip link add v0 type veth peer name v1"), 0);
        settle();
    }
    // For when every test runs in one process (one namespace).
    void TearDown() override {
        if (!kernel_test_skip_reason().empty())
            return;  // not in a namespace of our own: nothing of ours to delete
        run("ip link del v0");
        run("ip link del w0");
        run("ip link del br0");
    }

    void collect(const LinkStatus& s) {
        seen.push_back(s);
        last[s.name] = s;
    }

    // Reads what is queued now (the kernel queues notifications before the
    // command that caused them returns), then forgets it.
    void settle() {
        monitor.drain([&](const LinkStatus& s) { collect(s); });
        seen.clear();
        last.clear();
    }

    // Drains until `done` holds, poll() bounding every wait; false after 5 s.
    template <class Pred>
    bool wait_until(Pred done) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!done()) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{monitor.fd(), POLLIN, 0};
            if (left <= 0ms || poll(&p, 1, static_cast<int>(left.count())) <= 0)
                return done();
            monitor.drain([&](const LinkStatus& s) { collect(s); });
        }
        return true;
    }

    bool reported(const std::string& name, bool up) {
        auto it = last.find(name);
        return it != last.end() && it->second.up == up;
    }

    LinkMonitor monitor;
    std::vector<LinkStatus> seen;
    std::map<std::string, LinkStatus> last;
};

TEST_F(LinkMonitorTest, UpMeansAdminUpAndCarrier) {
    ASSERT_EQ(run("ip link set v0 up"), 0);
    ASSERT_TRUE(wait_until([&] { return last.count("v0") > 0; }));
    EXPECT_FALSE(last["v0"].up) << "up without carrier (peer down) is down";
    EXPECT_EQ(last["v0"].ifindex, ifindex("v0"));

    ASSERT_EQ(run("ip link set v1 up"), 0);
    EXPECT_TRUE(wait_until([&] { return reported("v0", true) && reported("v1", true); }));

    ASSERT_EQ(run("ip link set v1 down"), 0);
    EXPECT_TRUE(wait_until([&] { return reported("v0", false) && reported("v1", false); }))
        << "losing the carrier is down";
}

TEST_F(LinkMonitorTest, QueryReadsTheStateNow) {
    auto s = monitor.query("v0");
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, (LinkStatus{ifindex("v0"), "v0", false}));
    ASSERT_EQ(run("ip link set v0 up && ip link set v1 up"), 0);
    ASSERT_TRUE(wait_until([&] { return reported("v0", true); }));
    s = monitor.query("v0");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->up);
    EXPECT_FALSE(monitor.query("nosuch0"));
}

TEST_F(LinkMonitorTest, DeletedLinkIsReportedDown) {
    ASSERT_EQ(run("ip link set v0 up && ip link set v1 up"), 0);
    ASSERT_TRUE(wait_until([&] { return reported("v0", true); }));
    const int v0 = ifindex("v0");
    seen.clear();
    ASSERT_EQ(run("ip link del v0"), 0);
    ASSERT_TRUE(wait_until([&] { return reported("v0", false); }));
    EXPECT_EQ(last["v0"].ifindex, v0);
    EXPECT_FALSE(monitor.query("v0"));
}

TEST_F(LinkMonitorTest, BridgePortMessagesAreNotLinkEvents) {
    if (run("ip link add br0 type bridge") != 0)
        GTEST_SKIP() << "no bridge support in this kernel";
    ASSERT_EQ(run("ip link set v0 up && ip link set v1 up && ip link set v0 master br0"), 0);
    ASSERT_TRUE(wait_until([&] { return reported("v0", true); }));
    settle();
    ASSERT_EQ(run("ip link set v0 nomaster"), 0);  // the kernel sends an AF_BRIDGE RTM_DELLINK
    wait_until([&] { return last.count("v0") > 0; });
    for (const LinkStatus& s : seen) {
        if (s.name == "v0") {
            EXPECT_TRUE(s.up) << "v0 is still there and up";
        }
    }
}

void toggle_admin_up(const char* name, int times) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    for (int i = 0; i < times; ++i) {
        ASSERT_EQ(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags ^ IFF_UP);
        ASSERT_EQ(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
    }
    close(fd);
}

TEST_F(LinkMonitorTest, OverrunReportsEveryLinkAndTheOnesThatWent) {
    ASSERT_EQ(run("ip link add w0 type veth peer name w1"), 0);
    const auto w0 = monitor.query("w0");  // known: its deletion must not be lost
    ASSERT_TRUE(w0);
    settle();
    const int tiny = 1;  // the kernel rounds it up to its minimum, a few messages
    ASSERT_EQ(setsockopt(monitor.fd(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny), 0);
    toggle_admin_up("v0", 101);  // ends up
    ASSERT_EQ(run("ip link del w0"), 0);

    monitor.drain([&](const LinkStatus& s) { collect(s); });

    auto has = [&](const LinkStatus& want) { return std::find(seen.begin(), seen.end(), want) != seen.end(); };
    EXPECT_TRUE(has({1, "lo", true})) << "lo had no event: only a re-read reports it";
    EXPECT_TRUE(has({ifindex("v1"), "v1", false}));
    EXPECT_TRUE(has({w0->ifindex, "w0", false})) << "deleted while notifications were lost";
    EXPECT_FALSE(monitor.query("w0"));
    // A fresh veth reads RUNNING until the kernel's link watch marks it
    // down (within a second), and says so then.
    EXPECT_TRUE(wait_until([&] { return reported("v0", false); })) << "admin up, no carrier";
}

}  // namespace
}  // namespace lbd::vrrp
