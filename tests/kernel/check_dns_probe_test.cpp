// DNS_CHECK against a small DNS responder on loopback, served by the probe's
// own loop: NOERROR with and without records, NXDOMAIN, an answer to another
// question, answers with another id, no listener, silence, a late answer, a
// flapping server, a name that cannot be sent, and cancel().
#include "check/probes.h"
#include "kernel_test.h"
#include "util/child_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Bytes = std::vector<uint8_t>;

constexpr milliseconds kTimeout = 300ms;
constexpr milliseconds kMargin = 250ms;  // how late past connect_timeout an attempt may end

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

// A DNS server on the test's loop: `respond` gives the datagrams to send back
// for each query (none: silence), sent `delay` after the query came.
class Responder {
public:
    using Respond = std::function<std::vector<Bytes>(const Bytes& query)>;
    Responder(Loop& loop, const char* address, Respond respond, milliseconds delay = 0ms)
        : loop_(loop), respond_(std::move(respond)), delay_(delay) {
        const config::IpAddr a = *config::IpAddr::parse(address);
        fd_ = socket(a.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_storage ss{};
        socklen_t len = sizeof(sockaddr_in);
        ss.ss_family = sa_family_t(a.family);
        if (a.family == AF_INET6) {
            std::memcpy(&reinterpret_cast<sockaddr_in6&>(ss).sin6_addr, a.bytes.data(), 16);
            len = sizeof(sockaddr_in6);
        } else {
            std::memcpy(&reinterpret_cast<sockaddr_in&>(ss).sin_addr, a.bytes.data(), 4);
        }
        EXPECT_EQ(bind(fd_, reinterpret_cast<const sockaddr*>(&ss), len), 0) << std::strerror(errno);
        len = sizeof(ss);
        getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
        port_ = ntohs(a.family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                           : reinterpret_cast<sockaddr_in&>(ss).sin_port);
        loop_.watch(fd_, EPOLLIN, [this](uint32_t) { serve(); });
    }
    ~Responder() {
        for (Loop::TimerId t : pending_) loop_.cancel(t);
        loop_.unwatch(fd_);
        close(fd_);
    }
    uint16_t port() const { return port_; }

    std::vector<Bytes> queries;

private:
    void serve() {
        uint8_t buf[1500];
        sockaddr_storage from{};
        socklen_t len = sizeof(from);
        const ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) return;
        queries.emplace_back(buf, buf + n);
        auto send_all = [this, replies = respond_(queries.back()), from, len] {
            for (const Bytes& r : replies)
                sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<const sockaddr*>(&from), len);
        };
        if (delay_ == 0ms)
            send_all();
        else
            pending_.push_back(loop_.after(delay_, send_all));
    }

    Loop& loop_;
    Respond respond_;
    milliseconds delay_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::vector<Loop::TimerId> pending_;
};

struct Harness {
    Loop loop;
    ChildProcesses children;
    config::GlobalDefs global;
    config::VirtualServer vs;
    config::RealServer real;
    ProbeContext context() { return {loop, children, global, vs, real}; }
};

config::Checker dns_checker(const char* address, uint16_t port, std::string type = "A",
                            std::string name = "example.org") {
    config::Checker c;
    c.type = config::CheckerType::DNS_CHECK;
    c.target.connect_ip = *config::IpAddr::parse(address);
    c.target.connect_port = port;
    c.timing.connect_timeout = kTimeout;
    c.detail = config::DnsCheck{std::move(type), std::move(name)};
    return c;
}

struct Outcome {
    std::optional<ProbeResult> result;
    milliseconds took{};
};

// One attempt, the loop served until done() (at most `limit`).
Outcome attempt(Loop& loop, Probe& probe, milliseconds limit = 3s) {
    Outcome out;
    bool in_start = true;
    const auto started = Clock::now();
    probe.start([&](ProbeResult r) {
        EXPECT_FALSE(in_start) << "done() called from inside start()";
        EXPECT_FALSE(out.result) << "done() called twice";
        out.result = std::move(r);
    });
    in_start = false;
    while (!out.result && Clock::now() - started < limit) loop.run_once(10ms);
    if (!out.result) probe.cancel();  // its done() refers to this frame
    out.took = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    return out;
}

TEST(DnsProbe, NoErrorAnswerIsUp) {
    LBD_REQUIRE_NETNS();
    for (const char* address : {"127.0.0.1", "::1"}) {
        Harness h;
        Responder server(h.loop, address, [](const Bytes& q) { return std::vector<Bytes>{answer(q, kNoError)}; });
        auto probe = make_dns_probe(dns_checker(address, server.port(), "MX", "Example.org."), h.context());
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << address;
        EXPECT_TRUE(out.result->ok) << address << ": " << out.result->detail;
        EXPECT_EQ(out.result->detail, "NOERROR, 1 answer");
        EXPECT_LT(out.took, kTimeout);
        ASSERT_EQ(server.queries.size(), 1u);
        const Bytes expected_tail = {0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  // RD; one question
                                     7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0, 0, 15, 0, 1};
        EXPECT_EQ(Bytes(server.queries[0].begin() + 2, server.queries[0].end()), expected_tail);
    }
}

TEST(DnsProbe, NoErrorWithoutRecordsIsUp) {
    LBD_REQUIRE_NETNS();
    Harness h;
    Responder server(h.loop, "127.0.0.1",
                     [](const Bytes& q) { return std::vector<Bytes>{answer(q, kNoError, false)}; });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port(), "SOA", "."), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << "keepalived reads the RCODE only: " << out.result->detail;
    EXPECT_EQ(out.result->detail, "NOERROR, 0 answers");
}

TEST(DnsProbe, NxdomainIsDown) {
    LBD_REQUIRE_NETNS();
    Harness h;
    Responder server(h.loop, "127.0.0.1",
                     [](const Bytes& q) { return std::vector<Bytes>{answer(q, kNxDomain, false)}; });
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
    Responder server(h.loop, "127.0.0.1", [](const Bytes& q) {
        Bytes a = answer(q, kNoError);
        a[13] = 'X';  // "Xxample.org"
        return std::vector<Bytes>{a};
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
    Responder server(h.loop, "127.0.0.1", [&](const Bytes& q) {
        Bytes stale = answer(q, kNxDomain);
        stale[1] ^= 0x5a;
        if (!then_right) return std::vector<Bytes>{stale};
        return std::vector<Bytes>{stale, answer(q, kNoError)};
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
    uint16_t port;
    {
        Responder gone(h.loop, "127.0.0.1", [](const Bytes&) { return std::vector<Bytes>{}; });
        port = gone.port();
    }
    auto probe = make_dns_probe(dns_checker("127.0.0.1", port), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "recv: Connection refused");
    EXPECT_LT(out.took, kTimeout);
}

TEST(DnsProbe, SilentServerIsATimeout) {
    LBD_REQUIRE_NETNS();
    Harness h;
    Responder server(h.loop, "127.0.0.1", [](const Bytes&) { return std::vector<Bytes>{}; });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timeout: no answer");
    EXPECT_GE(out.took, kTimeout - 10ms);
    EXPECT_LT(out.took, kTimeout + kMargin);
    EXPECT_EQ(server.queries.size(), 1u);
}

TEST(DnsProbe, LateAnswerIsATimeout) {
    LBD_REQUIRE_NETNS();
    Harness h;
    Responder server(h.loop, "127.0.0.1", [](const Bytes& q) { return std::vector<Bytes>{answer(q, kNoError)}; },
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
    Responder server(h.loop, "127.0.0.1", [&](const Bytes& q) {
        return std::vector<Bytes>{answer(q, n++ % 2 == 0 ? kNoError : kServFail)};
    });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port()), h.context());
    for (int i = 0; i < 4; ++i) {
        const Outcome out = attempt(h.loop, *probe);
        ASSERT_TRUE(out.result) << i;
        EXPECT_EQ(out.result->ok, i % 2 == 0) << i << ": " << out.result->detail;
        EXPECT_EQ(out.result->detail, i % 2 == 0 ? "NOERROR, 1 answer" : "rcode SERVFAIL") << i;
    }
    ASSERT_EQ(server.queries.size(), 4u);
    const uint16_t first = id_of(server.queries[0]);
    EXPECT_FALSE(id_of(server.queries[1]) == first && id_of(server.queries[2]) == first &&
                 id_of(server.queries[3]) == first)
        << "each attempt draws an id";
}

TEST(DnsProbe, NameThatCannotBeSentIsDownFromTheLoop) {
    LBD_REQUIRE_NETNS();
    Harness h;
    Responder server(h.loop, "127.0.0.1", [](const Bytes& q) { return std::vector<Bytes>{answer(q, kNoError)}; });
    auto probe = make_dns_probe(dns_checker("127.0.0.1", server.port(), "A", "www..example.org"), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "DNS name 'www..example.org' has an empty label");
    EXPECT_TRUE(server.queries.empty());
}

TEST(DnsProbe, CancelAbandonsTheAttempt) {
    LBD_REQUIRE_NETNS();
    Harness h;
    Responder server(h.loop, "127.0.0.1", [](const Bytes& q) { return std::vector<Bytes>{answer(q, kNoError)}; },
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
    EXPECT_EQ(server.queries.size(), 2u) << "both queries went out; their answers found no one";
}

}  // namespace
}  // namespace lbd::check
