// UDP_CHECK against real UDP servers on loopback, served by the probe's own
// loop: replies matching the pattern or not, replies too short or too long,
// no listener (ICMP port unreachable), a host unreachable, silence with and
// without require_reply, a late reply, a flapping server, and cancel().
#include "check/probes.h"
#include "kernel_test.h"
#include "util/child_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Bytes = std::vector<uint8_t>;

constexpr milliseconds kTimeout = 300ms;
constexpr milliseconds kMargin = 250ms;  // how late past connect_timeout an attempt may end

Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

void put(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value << "\n";
    EXPECT_TRUE(out.flush()) << "writing " << path;
}

// A link to nobody, where ARP for 10.255.0.3 fails after one 100 ms try and
// the kernel tells the sender the host is unreachable; deleted at the end.
class LinkToNobody {
public:
    LinkToNobody() {
        EXPECT_EQ(run("ip link add lbd-void type veth peer name lbd-void-peer"), 0);
        EXPECT_EQ(run("ip addr add 10.255.0.254/24 dev lbd-void"), 0);
        EXPECT_EQ(run("ip link set lbd-void up"), 0);
        EXPECT_EQ(run("ip link set lbd-void-peer up"), 0);
        put("/proc/sys/net/ipv4/neigh/lbd-void/mcast_solicit", "1");
        put("/proc/sys/net/ipv4/neigh/lbd-void/retrans_time_ms", "100");
    }
    ~LinkToNobody() { run("ip link del lbd-void"); }
};

config::IpAddr addr(const char* text) { return *config::IpAddr::parse(text); }

sockaddr_storage sockaddr_of(const config::IpAddr& a, uint16_t port, socklen_t& len) {
    sockaddr_storage ss{};
    if (a.family == AF_INET6) {
        auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons(port);
        std::memcpy(&s6.sin6_addr, a.bytes.data(), 16);
        len = sizeof(s6);
    } else {
        auto& s4 = reinterpret_cast<sockaddr_in&>(ss);
        s4.sin_family = AF_INET;
        s4.sin_port = htons(port);
        std::memcpy(&s4.sin_addr, a.bytes.data(), 4);
        len = sizeof(s4);
    }
    return ss;
}

uint16_t port_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                          : reinterpret_cast<sockaddr_in&>(ss).sin_port);
}

// A UDP server on the test's loop. `answer` gives the reply to each
// datagram (nullopt: none), sent `delay` after the datagram came.
class UdpServer {
public:
    using Answer = std::function<std::optional<Bytes>(const Bytes& request)>;
    UdpServer(Loop& loop, const char* address, Answer answer, milliseconds delay = 0ms)
        : loop_(loop), answer_(std::move(answer)), delay_(delay) {
        const config::IpAddr a = addr(address);
        fd_ = socket(a.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        socklen_t len;
        const sockaddr_storage ss = sockaddr_of(a, 0, len);
        EXPECT_EQ(bind(fd_, reinterpret_cast<const sockaddr*>(&ss), len), 0) << std::strerror(errno);
        loop_.watch(fd_, EPOLLIN, [this](uint32_t) { serve(); });
    }
    ~UdpServer() {
        for (Loop::TimerId t : pending_) loop_.cancel(t);
        loop_.unwatch(fd_);
        close(fd_);
    }
    uint16_t port() const { return port_of(fd_); }

    std::vector<Bytes> requests;

private:
    void serve() {
        uint8_t buf[65536];
        sockaddr_storage from{};
        socklen_t len = sizeof(from);
        const ssize_t n = recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) return;
        requests.emplace_back(buf, buf + n);
        std::optional<Bytes> reply = answer_(requests.back());
        if (!reply) return;
        auto send_reply = [this, reply = *reply, from, len] {
            sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<const sockaddr*>(&from), len);
        };
        if (delay_ == 0ms)
            send_reply();
        else
            pending_.push_back(loop_.after(delay_, send_reply));
    }

    Loop& loop_;
    Answer answer_;
    milliseconds delay_;
    int fd_ = -1;
    std::vector<Loop::TimerId> pending_;
};

// What a probe needs besides its checker, for a test.
struct Harness {
    Loop loop;
    ChildProcesses children;
    config::GlobalDefs global;
    config::VirtualServer vs;
    config::RealServer real;
    ProbeContext context() { return {loop, children, global, vs, real}; }
};

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

// A port nobody listens on: bound once, then let go.
uint16_t free_port(const char* address) {
    const config::IpAddr a = addr(address);
    const int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    socklen_t len;
    const sockaddr_storage ss = sockaddr_of(a, 0, len);
    EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&ss), len), 0);
    const uint16_t port = port_of(fd);
    close(fd);
    return port;
}

TEST(UdpProbe, ReplyMatchingThePatternIsUp) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return bytes("hello world"); });
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
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return bytes("help"); });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("68xx6c6c6f")), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "reply data mismatch at byte 3 (got 70, expected 6c)");
}

TEST(UdpProbe, PatternCoversOnlyTheBytesTheReplyHas) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return bytes("he"); });
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
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return Bytes(300, 'a'); });
    auto probe = make_udp_probe(udp_checker("127.0.0.1", server.port(), expecting("61")), h.context());
    const Outcome out = attempt(h.loop, *probe);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "reply of 300 bytes, over max_reply_length 255");
}

TEST(UdpProbe, WithoutPatternAnyReplyIsUp) {
    LBD_REQUIRE_NETNS();
    Harness h;
    UdpServer server(h.loop, "::1", [](const Bytes&) { return Bytes(300, 'z'); });
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
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return bytes("ok"); });
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
    LinkToNobody link;
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
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return std::nullopt; });
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
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return bytes("late"); }, kTimeout + 100ms);
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
    UdpServer server(h.loop, "127.0.0.1", [&](const Bytes&) { return bytes(n++ % 2 == 0 ? "+OK" : "-ERR"); });
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
    UdpServer server(h.loop, "127.0.0.1", [](const Bytes&) { return std::nullopt; });
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
