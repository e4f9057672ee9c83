// PING_CHECK with real ICMP in the test's namespace: loopback answers over
// IPv4 and IPv6; routes that refuse the request (unreachable, blackhole) or
// swallow it (a link to nobody); a host told to ignore echo requests (timeout);
// one that flaps; replies meant for another pinger; and cancel().
#include "check/probe_types.h"
#include "check_probe_harness.h"
#include "kernel_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lbd::check {
namespace {

using namespace test;

constexpr milliseconds kTimeout = 300ms;

// A sysctl of the test's namespace, set for the test's life.
class Sysctl {
public:
    Sysctl(std::string path, const std::string& value) : path_(std::move(path)) {
        std::ifstream(path_) >> before_;
        write(value);
    }
    ~Sysctl() { write(before_); }
    void write(const std::string& value) const { put(path_, value); }

private:
    std::string path_;
    std::string before_;
};

constexpr const char* kIgnoreEcho4 = "/proc/sys/net/ipv4/icmp_echo_ignore_all";
constexpr const char* kIgnoreEcho6 = "/proc/sys/net/ipv6/icmp/echo_ignore_all";

config::Checker ping_checker(const char* address, milliseconds timeout = kTimeout) {
    config::Checker c;
    c.type = config::CheckerType::PING_CHECK;
    c.target.connect_ip = addr(address);
    c.target.connect_port = 80;  // the real server's: means nothing to ICMP
    c.timing.connect_timeout = timeout;
    return c;
}

TEST(PingProbe, LoopbackAnswersOverIPv4AndIPv6) {
    LBD_REQUIRE_NETNS();
    for (const char* address : {"127.0.0.1", "::1"}) {
        Harness h;
        auto probe = make_ping_probe(ping_checker(address), h.context());
        for (int i = 1; i <= 2; ++i) {  // a second attempt: the next sequence
            const Outcome out = attempt(h.loop, *probe);
            ASSERT_TRUE(out.result) << address;
            EXPECT_TRUE(out.result->ok) << address << ": " << out.result->detail;
            EXPECT_EQ(out.result->detail, "echo reply, sequence " + std::to_string(i)) << address;
            EXPECT_LT(out.took, kTimeout) << address;
        }
    }
}

TEST(PingProbe, BoundToAnotherLocalAddress) {
    LBD_REQUIRE_NETNS();
    Harness h;
    config::Checker c = ping_checker("127.0.0.1");
    c.target.bindto = config::IpAddr::parse("127.0.0.2");
    c.target.bind_if = "lo";
    auto probe = make_ping_probe(c, h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << out.result->detail;
}

TEST(PingProbe, UnreachableRouteIsDownAtOnce) {
    LBD_REQUIRE_NETNS();
    ASSERT_EQ(run("ip route add unreachable 10.255.0.1/32"), 0);
    Undo undo4("ip route del unreachable 10.255.0.1/32");
    ASSERT_EQ(run("ip -6 route add unreachable 2001:db8::1/128"), 0);
    Undo undo6("ip -6 route del unreachable 2001:db8::1/128");
    for (const char* address : {"10.255.0.1", "2001:db8::1"}) {
        Harness h;
        auto probe = make_ping_probe(ping_checker(address), h.context());
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << address;
        EXPECT_FALSE(out.result->ok) << address;
        EXPECT_NE(out.result->detail.find("No route to host"), std::string::npos) << out.result->detail;
        EXPECT_LT(out.took, kTimeout) << address;
    }
}

TEST(PingProbe, BlackholeRouteIsDownAtOnce) {
    LBD_REQUIRE_NETNS();
    ASSERT_EQ(run("ip route add blackhole 10.255.0.2/32"), 0);
    Undo undo("ip route del blackhole 10.255.0.2/32");
    Harness h;
    auto probe = make_ping_probe(ping_checker("10.255.0.2"), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    // What the kernel says of a blackhole route for what the host itself sends.
    EXPECT_EQ(out.result->detail, "connect to [10.255.0.2]:0: Invalid argument");
    EXPECT_LT(out.took, kTimeout);
}

TEST(PingProbe, SwallowedRequestIsATimeout) {
    LBD_REQUIRE_NETNS();
    const auto link = link_to_nobody();
    Harness h;
    auto probe = make_ping_probe(ping_checker("10.255.0.3"), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timeout: no echo reply");
    EXPECT_GE(out.took, kTimeout - 10ms);
    EXPECT_LT(out.took, kTimeout + kMargin);
}

TEST(PingProbe, HostUnreachableErrorIsDown) {
    LBD_REQUIRE_NETNS();
    const auto link = link_to_nobody();
    // One ARP request, 100 ms to answer it: then the kernel reports the host
    // unreachable to the sender, long before the probe's timeout.
    Sysctl solicit("/proc/sys/net/ipv4/neigh/lbd-void/mcast_solicit", "1");
    Sysctl retrans("/proc/sys/net/ipv4/neigh/lbd-void/retrans_time_ms", "100");
    Harness h;
    auto probe = make_ping_probe(ping_checker("10.255.0.3", 3s), h.context());
    const Outcome out = attempt(h.loop, *probe, 5s);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "recv: No route to host");
    EXPECT_LT(out.took, 2s);
}

TEST(PingProbe, SilentHostIsATimeout) {
    LBD_REQUIRE_NETNS();
    Sysctl ignore4(kIgnoreEcho4, "1");
    Sysctl ignore6(kIgnoreEcho6, "1");
    for (const char* address : {"127.0.0.1", "::1"}) {
        Harness h;
        auto probe = make_ping_probe(ping_checker(address), h.context());
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << address;
        EXPECT_FALSE(out.result->ok) << address;
        EXPECT_EQ(out.result->detail, "timeout: no echo reply") << address;
        EXPECT_GE(out.took, kTimeout - 10ms) << address;
        EXPECT_LT(out.took, kTimeout + kMargin) << address;
    }
}

TEST(PingProbe, FlappingHostGivesAlternatingResults) {
    LBD_REQUIRE_NETNS();
    Sysctl ignore(kIgnoreEcho4, "0");
    Harness h;
    auto probe = make_ping_probe(ping_checker("127.0.0.1"), h.context());
    for (int i = 0; i < 4; ++i) {
        const bool answering = i % 2 == 0;
        ignore.write(answering ? "0" : "1");
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << i;
        EXPECT_EQ(out.result->ok, answering) << i << ": " << out.result->detail;
    }
}

// RFC 1071, for the replies the test forges.
uint16_t checksum(const uint8_t* p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += uint32_t(p[i] << 8 | p[i + 1]);
    if (n % 2) sum += uint32_t(p[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return uint16_t(~sum);
}

TEST(PingProbe, RepliesToAnotherPingerAreIgnored) {
    LBD_REQUIRE_NETNS();
    Sysctl ignore(kIgnoreEcho4, "1");  // only the test answers
    const int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    ASSERT_GE(raw, 0) << std::strerror(errno);
    Harness h;
    auto probe = make_ping_probe(ping_checker("127.0.0.1", 2s), h.context());
    std::optional<ProbeResult> result;
    probe->start([&](ProbeResult r) { result = std::move(r); });

    // The request, as another raw socket on the host sees it.
    std::vector<uint8_t> request(1500);
    ssize_t n;
    do {
        pollfd p{raw, POLLIN, 0};
        ASSERT_EQ(poll(&p, 1, 1000), 1) << "no echo request seen";
        n = recv(raw, request.data(), request.size(), 0);
        ASSERT_GT(n, 20);
    } while (request[20] != 8);  // our own forgeries come back too
    std::vector<uint8_t> reply(request.begin() + 20, request.begin() + n);
    const sockaddr_in to{AF_INET, 0, {htonl(INADDR_LOOPBACK)}, {}};
    auto send_reply = [&](uint16_t id_change) {
        std::vector<uint8_t> m = reply;
        m[0] = 0;  // echo reply
        m[2] = m[3] = 0;
        m[5] = uint8_t(m[5] + id_change);
        const uint16_t sum = checksum(m.data(), m.size());
        m[2] = uint8_t(sum >> 8);
        m[3] = uint8_t(sum);
        ASSERT_EQ(sendto(raw, m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)),
                  ssize_t(m.size()));
    };

    send_reply(1);  // another identifier: someone else's
    for (int i = 0; i < 10; ++i) h.loop.run_once(10ms);
    EXPECT_FALSE(result) << result->detail;
    send_reply(0);
    const auto until = Clock::now() + 1s;
    while (!result && Clock::now() < until) h.loop.run_once(10ms);
    close(raw);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok) << result->detail;
}

TEST(PingProbe, CancelAbandonsTheAttempt) {
    LBD_REQUIRE_NETNS();
    Sysctl ignore(kIgnoreEcho4, "1");
    Harness h;
    bool called = false;
    auto probe = make_ping_probe(ping_checker("127.0.0.1"), h.context());
    probe->start([&](ProbeResult) { called = true; });
    EXPECT_EQ(h.loop.watched(), 1u);
    probe->cancel();
    EXPECT_EQ(h.loop.watched(), 0u);
    EXPECT_EQ(h.loop.timers(), 0u);
    probe->start([&](ProbeResult) { called = true; });
    probe.reset();
    EXPECT_EQ(h.loop.watched(), 0u);
    EXPECT_EQ(h.loop.timers(), 0u);
    const auto until = Clock::now() + kTimeout + 100ms;
    while (Clock::now() < until) h.loop.run_once(20ms);
    EXPECT_FALSE(called);
}

}  // namespace
}  // namespace lbd::check
