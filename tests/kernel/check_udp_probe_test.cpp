// UDP_CHECK against real UDP servers on loopback, served by the probe's own
// loop: replies matching the pattern or not, replies too short or too long,
// no listener (ICMP port unreachable), a host unreachable, silence with and
// without require_reply, a late reply, a flapping server, and cancel().
#include "check/probe_types.h"
#include "check_probe_harness.h"
#include "kernel_test.h"

#include <chrono>
#include <string>

namespace lbd::check {
namespace {

using namespace test;

constexpr milliseconds kTimeout = 300ms;

config::Checker udp_checker(const char* address, uint16_t port, config::UdpCheck udp = {},
                            milliseconds timeout = kTimeout) {
    config::Checker c;
    c.type = config::CheckerType::UDP_CHECK;
    c.target.connect_ip = addr(address);
    c.target.connect_port = port;
    c.timing.connect_timeout = timeout;
    c.detail = std::move(udp);
    return c;
}

config::UdpCheck expecting(std::string pattern, uint32_t min = 0, uint32_t max = 255) {
    config::UdpCheck u;
    u.payload = bytes("ping");
    u.require_reply = true;
    u.reply_pattern = std::move(pattern);
    u.min_reply_length = min;
    u.max_reply_length = max;
    return u;
}

TEST(UdpProbe, ReplyMatchingThePatternIsUp) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{bytes("hello world")}; });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("68xx6c6c6f")), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << out.result->detail;
    EXPECT_EQ(out.result->detail, "reply of 11 bytes matches");
    ASSERT_EQ(server.requests.size(), 1u);
    EXPECT_EQ(server.requests[0], bytes("ping"));
    EXPECT_LT(out.took, kTimeout) << "a reply ends the attempt at once";
}

TEST(UdpProbe, ReplyNotMatchingThePatternIsDown) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{bytes("help")}; });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("68xx6c6c6f")), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "reply data mismatch at byte 3 (got 70, expected 6c)");
}

TEST(UdpProbe, PatternCoversOnlyTheBytesTheReplyHas) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{bytes("he")}; });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("68656c6c6f")), h.context());
    Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << "keepalived compares what both have: " << out.result->detail;

    probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("68656c6c6f", 5)), h.context());
    out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "reply of 2 bytes, under min_reply_length 5");
}

TEST(UdpProbe, ReplyLongerThanMaxIsDown) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{Bytes(300, 'a')}; });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("61")), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "reply of 300 bytes, over max_reply_length 255");
}

TEST(UdpProbe, WithoutPatternAnyReplyIsUp) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "::1", [](const Bytes&) { return Replies{Bytes(300, 'z')}; });
    config::UdpCheck udp;
    udp.require_reply = true;
    auto probe = make_udp_probe(udp_checker("::1", server.port(), udp), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << out.result->detail;
    EXPECT_EQ(out.result->detail, "reply of 300 bytes");
}

TEST(UdpProbe, DefaultPayloadIsKeepalivedsText) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{bytes("ok")}; });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port()), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok);
    ASSERT_EQ(server.requests.size(), 1u);
    EXPECT_EQ(server.requests[0], bytes("keepalived check - keepalived ch"));
}

TEST(UdpProbe, NoListenerIsDownAtOnce) {
    LBD_REQUIRE_NETNS();
    for (const char* address : {"127.0.0.1", "::1"}) {
        Harness h;
        auto probe = make_udp_probe(udp_checker(address, free_port(address)), h.context());
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << address;
        EXPECT_FALSE(out.result->ok) << address << ": the ICMP port unreachable fails it, require_reply or not";
        EXPECT_EQ(out.result->detail, "recv: Connection refused") << address;
        EXPECT_LT(out.took, kTimeout) << address;
    }
}

TEST(UdpProbe, HostUnreachableIsDown) {
    LBD_REQUIRE_NETNS();
    const auto link = link_to_nobody();
    // One ARP request, 100 ms to answer it: then the kernel reports the host
    // unreachable to the sender, long before the probe's timeout.
    put("/proc/sys/net/ipv4/neigh/lbd-void/mcast_solicit", "1");
    put("/proc/sys/net/ipv4/neigh/lbd-void/retrans_time_ms", "100");
    Harness h;
    auto probe = make_udp_probe(udp_checker("10.255.0.3", 53, {}, 3s), h.context());
    const Outcome out = attempt(h.loop, *probe, 5s);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok) << "a soft ICMP error counts too (IP_RECVERR), require_reply or not";
    EXPECT_EQ(out.result->detail, "recv: No route to host");
    EXPECT_LT(out.took, 2s);
}

TEST(UdpProbe, SilenceIsUpUnlessAReplyIsRequired) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{}; });
    auto quiet = make_udp_probe(udp_checker("127.0.0.1", server.port()), h.context());
    Outcome out = attempt(h.loop, *quiet);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok);
    EXPECT_EQ(out.result->detail, "no reply, none required");
    EXPECT_GE(out.took, kTimeout - 10ms);
    EXPECT_LT(out.took, kTimeout + kMargin);

    auto strict = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("")), h.context());
    out = attempt(h.loop, *strict);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timeout: no reply");
    EXPECT_GE(out.took, kTimeout - 10ms);
    EXPECT_LT(out.took, kTimeout + kMargin);
    EXPECT_EQ(server.requests.size(), 2u);
}

TEST(UdpProbe, ReplyAfterTheTimeoutIsATimeout) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{bytes("late")}; }, kTimeout + 100ms);
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("6c")), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timeout: no reply");
    EXPECT_LT(out.took, kTimeout + kMargin);
}

TEST(UdpProbe, FlappingServerGivesAlternatingResults) {
    LBD_REQUIRE_NETNS();
    Harness h;
    size_t n = 0;
    UdpServer server(h.loop, "127.0.0.1", [&](const Bytes&) { return Replies{bytes(n++ % 2 == 0 ? "+OK" : "-ERR")}; });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("2b4f4b")), h.context());
    for (int i = 0; i < 4; ++i) {
        const Outcome out = attempt(h.loop, *probe);  // one probe, reused
        ASSERT_TRUE(out.result) << i;
        EXPECT_EQ(out.result->ok, i % 2 == 0) << i << ": " << out.result->detail;
    }
    EXPECT_EQ(server.requests.size(), 4u);
}

TEST(UdpProbe, CancelAbandonsTheAttempt) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{}; });
    const size_t watched = h.loop.watched();
    bool called = false;
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("")), h.context());
    probe->start([&](ProbeResult) { called = true; });
    EXPECT_EQ(h.loop.watched(), watched + 1);
    probe->cancel();
    EXPECT_EQ(h.loop.watched(), watched);
    EXPECT_EQ(h.loop.timers(), 0u);

    probe->start([&](ProbeResult) { called = true; });
    probe.reset();  // the destructor abandons it too
    EXPECT_EQ(h.loop.watched(), watched);
    EXPECT_EQ(h.loop.timers(), 0u);
    const auto until = Clock::now() + kTimeout + 100ms;
    while (Clock::now() < until) h.loop.run_once(20ms);
    EXPECT_FALSE(called);
}

TEST(UdpProbe, SocketErrorIsReportedFromTheLoop) {
    LBD_REQUIRE_NETNS();
    Harness h;
    config::Checker c = udp_checker("127.0.0.1", 9);
    c.target.bindto = addr("192.0.2.1");  // not ours: bind fails
    auto probe = make_udp_probe(c, h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_NE(out.result->detail.find("binding the check of [127.0.0.1]:9 to [192.0.2.1]:0"), std::string::npos)
        << out.result->detail;
    EXPECT_NE(out.result->detail.find("Cannot assign requested address"), std::string::npos) << out.result->detail;
    EXPECT_EQ(h.loop.timers(), 0u);
}

}  // namespace
}  // namespace lbd::check
