// DNS_CHECK against a small DNS responder on loopback, served by the probe's
// own loop: NOERROR with and without records, NXDOMAIN, an answer to another
// question, answers with another id, no listener, silence, a late answer, a
// flapping server, a name that cannot be sent, and cancel().
#include "check/probe_types.h"
#include "check_probe_harness.h"
#include "kernel_test.h"

#include <chrono>
#include <string>

namespace lbd::check {
namespace {

using namespace test;

constexpr milliseconds kTimeout = 300ms;

constexpr unsigned kNoError = 0, kServFail = 2, kNxDomain = 3;

// The answer a server writes: the query echoed with QR, RA and `rcode`,
// plus one A record for 127.0.0.1 when `record`.
Bytes answer(Bytes query, unsigned rcode, bool record = true) {
    query[2] |= 0x80;
    query[3] = uint8_t(0x80 | rcode);
    if (record) {
        query[7] = 1;
        const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 127, 0, 0, 1};
        query.insert(query.end(), std::begin(rr), std::end(rr));
    }
    return query;
}

uint16_t id_of(const Bytes& m) { return uint16_t(m[0] << 8 | m[1]); }

config::Checker dns_checker(const char* address, uint16_t port, std::string type = "A",
                            std::string name = "example.org") {
    config::Checker c;
    c.type = config::CheckerType::DNS_CHECK;
    c.target.connect_ip = addr(address);
    c.target.connect_port = port;
    c.timing.connect_timeout = kTimeout;
    c.detail = config::DnsCheck{std::move(type), std::move(name)};
    return c;
}

TEST(DnsProbe, NoErrorAnswerIsUp) {
    LBD_REQUIRE_NETNS();
    for (const char* address : {"127.0.0.1", "::1"}) {
        Harness h;
        UdpServer server(h.loop, address, [](const Bytes& q) { return Replies{answer(q, kNoError)}; });
        auto probe = make_dns_probe(dns_checker(address, server.port(), "MX", "Example.org."), h.context());
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << address;
        EXPECT_TRUE(out.result->ok) << address << ": " << out.result->detail;
        EXPECT_EQ(out.result->detail, "NOERROR, 1 answer");
        EXPECT_LT(out.took, kTimeout);
        ASSERT_EQ(server.requests.size(), 1u);
        const Bytes expected_tail = {0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  // RD; one question
                                     7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 15, 0, 1};
        EXPECT_EQ(Bytes(server.requests[0].begin() + 2, server.requests[0].end()), expected_tail);
    }
}

TEST(DnsProbe, NoErrorWithoutRecordsIsUp) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes& q) { return Replies{answer(q, kNoError, false)}; });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port(), "SOA", "."), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << "keepalived reads the RCODE only: " << out.result->detail;
    EXPECT_EQ(out.result->detail, "NOERROR, 0 answers");
}

TEST(DnsProbe, NxdomainIsDown) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes& q) { return Replies{answer(q, kNxDomain, false)}; });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "rcode NXDOMAIN");
    EXPECT_LT(out.took, kTimeout);
}

TEST(DnsProbe, AnswerToAnotherQuestionIsDown) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes& q) {
        Bytes a = answer(q, kNoError);
        a[13] = 'X';  // "Xxample.org"
        return Replies{a};
    });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "answer to another question");
}

TEST(DnsProbe, AnswersWithAnotherIdAreIgnored) {
    LBD_REQUIRE_NETNS();
    Harness h;
    bool then_right = true;
    UdpServer server(h.loop, "127.0.0.1", [&](const Bytes& q) {
        Bytes stale = answer(q, kNxDomain);
        stale[1] ^= 0x5a;
        if (!then_right) return Replies{stale};
        return Replies{stale, answer(q, kNoError)};
    });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << "the NXDOMAIN of another id is no answer: " << out.result->detail;

    then_right = false;
    out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timeout: no answer");
}

TEST(DnsProbe, NoListenerIsDownAtOnce) {
    LBD_REQUIRE_NETNS();
    Harness h;
    auto probe = make_dns_probe(dns_checker("127.0.0.1", free_port("127.0.0.1")), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "recv: Connection refused");
    EXPECT_LT(out.took, kTimeout);
}

TEST(DnsProbe, SilentServerIsATimeout) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Replies{}; });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timeout: no answer");
    EXPECT_GE(out.took, kTimeout - 10ms);
    EXPECT_LT(out.took, kTimeout + kMargin);
    EXPECT_EQ(server.requests.size(), 1u);
}

TEST(DnsProbe, LateAnswerIsATimeout) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes& q) { return Replies{answer(q, kNoError)}; },
                     kTimeout + 100ms);
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timeout: no answer");
    EXPECT_LT(out.took, kTimeout + kMargin);
}

TEST(DnsProbe, FlappingServerGivesAlternatingResults) {
    LBD_REQUIRE_NETNS();
    Harness h;
    size_t n = 0;
    UdpServer server(h.loop, "127.0.0.1", [&](const Bytes& q) {
        return Replies{answer(q, n++ % 2 == 0 ? kNoError : kServFail)};
    });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    for (int i = 0; i < 4; ++i) {
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << i;
        EXPECT_EQ(out.result->ok, i % 2 == 0) << i << ": " << out.result->detail;
        EXPECT_EQ(out.result->detail, i % 2 == 0 ? "NOERROR, 1 answer" : "rcode SERVFAIL") << i;
    }
    ASSERT_EQ(server.requests.size(), 4u);
    const uint16_t first = id_of(server.requests[0]);
    EXPECT_FALSE(id_of(server.requests[1]) == first && id_of(server.requests[2]) == first &&
                 id_of(server.requests[3]) == first)
        << "each attempt draws an id";
}

TEST(DnsProbe, NameThatCannotBeSentIsDownFromTheLoop) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes& q) { return Replies{answer(q, kNoError)}; });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port(), "A", "www..example.org"), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "DNS name 'www..example.org' has an empty label");
    EXPECT_TRUE(server.requests.empty());
}

TEST(DnsProbe, CancelAbandonsTheAttempt) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes& q) { return Replies{answer(q, kNoError)}; },
                     50ms);
    const size_t watched = h.loop.watched();
    bool called = false;
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    probe->start([&](ProbeResult) { called = true; });
    EXPECT_EQ(h.loop.watched(), watched + 1);
    probe->cancel();
    EXPECT_EQ(h.loop.watched(), watched);
    EXPECT_EQ(h.loop.timers(), 0u);
    probe->start([&](ProbeResult) { called = true; });
    probe.reset();
    EXPECT_EQ(h.loop.watched(), watched);
    EXPECT_EQ(h.loop.timers(), 0u);
    const auto until = Clock::now() + kTimeout + 100ms;
    while (Clock::now() < until) h.loop.run_once(20ms);
    EXPECT_FALSE(called);
    EXPECT_EQ(server.requests.size(), 2u) << "both queries went out; their answers found no one";
}

}  // namespace
}  // namespace lbd::check
