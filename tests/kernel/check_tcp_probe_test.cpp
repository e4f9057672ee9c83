// TCP_CHECK against real listeners on loopback: up, refused, unreachable, a SYN never
// answered (timeout), a listener that comes and goes, the source address
// bindto asks for, a socket that cannot be set up, and cancel().
#include "check/probe_types.h"
#include "check_stream_servers.h"
#include "kernel_test.h"

#include <fmt/format.h>

#include <optional>

namespace lbd::check {
namespace {

using namespace test;

TEST(TcpProbe, UpWhenTheConnectionIsEstablished) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) { c.record(c.wait_closed() ? "closed" : "left open"); });
    ProbeEnv env;
    auto probe =
        make_tcp_probe(checker_of(config::CheckerType::TCP_CHECK, server.address(), server.port()), env.context());
    const Attempt a = run_attempt(env.loop, *probe);
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_EQ(a.result.detail, "connected");
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(), std::vector<std::string>{"closed"});
}

TEST(TcpProbe, DownWhenRefused) {
    LBD_REQUIRE_NETNS();
    RefusingPort refusing;
    ProbeEnv env;
    auto probe =
        make_tcp_probe(checker_of(config::CheckerType::TCP_CHECK, ip("127.0.0.1"), refusing.port()), env.context());
    const Attempt a = run_attempt(env.loop, *probe);
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "connect: Connection refused");
    EXPECT_LT(a.took, 1s);
}

TEST(TcpProbe, DownWhenTheNetworkIsUnreachable) {
    LBD_REQUIRE_NETNS();
    ProbeEnv env;  // the namespace has no route but lo's
    auto probe = make_tcp_probe(checker_of(config::CheckerType::TCP_CHECK, ip("192.0.2.1"), 80), env.context());
    const Attempt a = run_attempt(env.loop, *probe);
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "connect: Network is unreachable");
}

TEST(TcpProbe, TimeoutWhenTheSynIsNeverAnswered) {
    LBD_REQUIRE_NETNS();
    SilentPort silent;
    ProbeEnv env;
    auto probe = make_tcp_probe(checker_of(config::CheckerType::TCP_CHECK, ip("127.0.0.1"), silent.port(), 300ms),
                                env.context());
    const Attempt a = run_attempt(env.loop, *probe);
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "timeout connecting");
    EXPECT_GE(a.took, 300ms);
    EXPECT_LT(a.took, 300ms + kLateness);
}

TEST(TcpProbe, FollowsAListenerThatComesAndGoes) {
    LBD_REQUIRE_NETNS();
    ProbeEnv env;
    uint16_t port = 0;
    std::optional<Server> server;
    server.emplace("127.0.0.1", [](Conn& c) { c.wait_closed(); });
    port = server->port();
    auto probe = make_tcp_probe(checker_of(config::CheckerType::TCP_CHECK, ip("127.0.0.1"), port), env.context());
    for (int round = 0; round < 4; ++round) {
        const bool listening = round % 2 == 0;
        if (listening && !server)
            server.emplace(
                "127.0.0.1", [](Conn& c) { c.wait_closed(); }, nullptr, port);
        if (!listening) server.reset();
        const Attempt a = run_attempt(env.loop, *probe);
        EXPECT_EQ(a.result.ok, listening) << "round " << round << ": " << a.result.detail;
        if (!listening) {
            EXPECT_EQ(a.result.detail, "connect: Connection refused");
        }
    }
}

TEST(TcpProbe, ConnectsFromBindtoAndBindPort) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.record(c.peer());
        c.wait_closed();
    });
    config::Checker checker = checker_of(config::CheckerType::TCP_CHECK, server.address(), server.port());
    checker.target.bindto = ip("127.0.0.2");
    checker.target.bind_port = RefusingPort("127.0.0.2").port();  // free: its socket is gone again
    ProbeEnv env;
    auto probe = make_tcp_probe(checker, env.context());
    const Attempt a = run_attempt(env.loop, *probe);
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(), std::vector<std::string>{fmt::format("127.0.0.2:{}", checker.target.bind_port)});
}

TEST(TcpProbe, ASocketThatCannotBeSetUpFailsFromTheLoop) {
    LBD_REQUIRE_NETNS();
    config::Checker checker = checker_of(config::CheckerType::TCP_CHECK, ip("127.0.0.1"), 80);
    checker.target.bind_if = "lbd-nosuchif";
    ProbeEnv env;
    auto probe = make_tcp_probe(checker, env.context());
    const Attempt a = run_attempt(env.loop, *probe);
    EXPECT_FALSE(a.result.ok);
    EXPECT_NE(a.result.detail.find("lbd-nosuchif"), std::string::npos) << a.result.detail;
    EXPECT_NE(a.result.detail.find("No such device"), std::string::npos) << a.result.detail;
}

TEST(TcpProbe, CancelClosesEverythingAndNeverCallsDone) {
    LBD_REQUIRE_NETNS();
    SilentPort silent;
    ProbeEnv env;
    auto probe =
        make_tcp_probe(checker_of(config::CheckerType::TCP_CHECK, ip("127.0.0.1"), silent.port(), 50ms), env.context());
    bool called = false;
    probe->start([&](ProbeResult) { called = true; });
    env.loop.run_once(0ms);
    EXPECT_EQ(env.loop.watched(), 1u);
    probe->cancel();
    EXPECT_EQ(env.loop.watched(), 0u);
    EXPECT_EQ(env.loop.timers(), 0u);
    env.loop.run_once(100ms);  // past the timeout the attempt had
    EXPECT_FALSE(called);

    // Reused after a cancel, and destroyed in flight.
    const Attempt a = run_attempt(env.loop, *probe);
    EXPECT_EQ(a.result.detail, "timeout connecting");
    probe->start([&](ProbeResult) { called = true; });
    probe.reset();
    EXPECT_EQ(env.loop.watched(), 0u);
    EXPECT_EQ(env.loop.timers(), 0u);
    env.loop.run_once(100ms);
    EXPECT_FALSE(called);
}

}  // namespace
}  // namespace lbd::check
