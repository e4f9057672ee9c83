// SMTP_CHECK against real servers on loopback: the dialogue (multi-line
// banner, HELO, QUIT), banners and HELO replies that refuse, a server that
// refuses connections, never greets or flaps, and several hosts checked in
// turn.
#include "check/probe_types.h"
#include "check_stream_servers.h"
#include "kernel_test.h"

#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <string>
#include <vector>

namespace lbd::check {
namespace {

using namespace test;

// Greets with `banner`, answers HELO with `helo_reply`, and records what the
// client sent.
Server::Handler smtp_server(std::string banner, std::string helo_reply = "250 pleased to meet you\r\n") {
    return [banner, helo_reply](Conn& c) {
        c.write(banner);
        if (!banner.starts_with("2")) return c.record(c.wait_closed() ? "closed" : "left open");
        c.record(c.read_until("\r\n"));
        c.write(helo_reply);
        if (!helo_reply.starts_with("250")) return c.record(c.wait_closed() ? "closed" : "left open");
        c.record(c.read_until("\r\n"));
        c.record(c.wait_closed() ? "closed" : "left open");
    };
}

config::Checker smtp_checker(const config::IpAddr& addr, uint16_t port, std::string helo_name = "lb1.example.test",
                             milliseconds timeout = 2s) {
    config::Checker c = checker_of(config::CheckerType::SMTP_CHECK, addr, port, timeout);
    config::SmtpCheck smtp;
    smtp.helo_name = std::move(helo_name);
    c.detail = smtp;
    return c;
}

Attempt attempt(const config::Checker& checker) {
    ProbeEnv env;
    auto probe = make_smtp_probe(checker, env.context());
    return run_attempt(env.loop, *probe);
}

TEST(SmtpProbe, UpAfterBannerHeloAndQuit) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", smtp_server("220-mail.example.test ESMTP\r\n220-more words\r\n220 ready\r\n"));
    const Attempt a = attempt(smtp_checker(server.address(), server.port()));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_EQ(a.result.detail, "HELO answered");
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(), (std::vector<std::string>{"HELO lb1.example.test\r\n", "QUIT\r\n", "closed"}));
}

TEST(SmtpProbe, HeloNameDefaultsToTheHostName) {
    LBD_REQUIRE_NETNS();
    char name[HOST_NAME_MAX + 1] = {};
    ASSERT_EQ(gethostname(name, sizeof(name) - 1), 0);
    Server server("127.0.0.1", smtp_server("220 ready\r\n"));
    EXPECT_TRUE(attempt(smtp_checker(server.address(), server.port(), "")).result.ok);
    ASSERT_TRUE(server.wait_served(1));
    ASSERT_FALSE(server.records().empty());
    EXPECT_EQ(server.records()[0], std::string("HELO ") + name + "\r\n");
}

TEST(SmtpProbe, DownOnABannerThatIsNot2xx) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", smtp_server("554-no\r\n554 service here\r\n"));
    const Attempt a = attempt(smtp_checker(server.address(), server.port()));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "banner: 554 service here");
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(), std::vector<std::string>{"closed"});
}

TEST(SmtpProbe, DownOnAHeloReplyThatIsNot250) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", smtp_server("220 ready\r\n", "550 not you\r\n"));
    const Attempt a = attempt(smtp_checker(server.address(), server.port()));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "HELO reply: 550 not you");
}

TEST(SmtpProbe, DownOnSomethingThatIsNoSmtpReply) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", smtp_server("SSH-2.0-OpenSSH_9.2\r\n"));
    const Attempt a = attempt(smtp_checker(server.address(), server.port()));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "bad banner: SSH-2.0-OpenSSH_9.2");
}

TEST(SmtpProbe, DownWhenRefused) {
    LBD_REQUIRE_NETNS();
    RefusingPort refusing;
    const Attempt a = attempt(smtp_checker(ip("127.0.0.1"), refusing.port()));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "connect: Connection refused");
}

TEST(SmtpProbe, DownWhenTheServerClosesBeforeTheBanner) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn&) {});
    const Attempt a = attempt(smtp_checker(server.address(), server.port()));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "connection closed before the banner");
}

TEST(SmtpProbe, TimeoutWhenTheBannerNeverComes) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) { c.record(c.wait_closed() ? "closed" : "left open"); });
    const Attempt a = attempt(smtp_checker(server.address(), server.port(), "lb1", 300ms));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "timeout reading the banner");
    EXPECT_GE(a.took, 300ms);
    EXPECT_LT(a.took, 300ms + kLateness);
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(), std::vector<std::string>{"closed"});
}

TEST(SmtpProbe, TimeoutWhenHeloIsNeverAnswered) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.write("220 ready\r\n");
        c.wait_closed();
    });
    const Attempt a = attempt(smtp_checker(server.address(), server.port(), "lb1", 300ms));
    EXPECT_EQ(a.result.detail, "timeout reading the HELO reply");
    EXPECT_LT(a.took, 300ms + kLateness);
}

TEST(SmtpProbe, FollowsAServerThatFlaps) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [n = 0](Conn& c) mutable {
        if (n++ % 2 == 1) {
            c.write("421 too busy\r\n");
            return;
        }
        c.write("220 ready\r\n");
        c.read_until("\r\n");
        c.write("250 hi\r\n");
        c.wait_closed();
    });
    ProbeEnv env;
    auto probe = make_smtp_probe(smtp_checker(server.address(), server.port()), env.context());
    for (int round = 0; round < 4; ++round) {
        const Attempt a = run_attempt(env.loop, *probe);
        EXPECT_EQ(a.result.ok, round % 2 == 0) << "round " << round << ": " << a.result.detail;
        if (round % 2 == 1) {
            EXPECT_EQ(a.result.detail, "banner: 421 too busy");
        }
    }
}

TEST(SmtpProbe, EveryHostIsCheckedInTurn) {
    LBD_REQUIRE_NETNS();
    Server first("127.0.0.2", smtp_server("220 first\r\n"));
    Server second("127.0.0.3", smtp_server("220 second\r\n"));
    Server refusing_helo("127.0.0.4", smtp_server("220 third\r\n", "501 bad name\r\n"));
    config::Checker checker = smtp_checker(ip("127.0.0.1"), 25);  // the checker's own target is not checked
    auto& hosts = std::get<config::SmtpCheck>(checker.detail).hosts;
    for (const Server* s : {&first, &second}) {
        config::CheckTarget host;
        host.connect_ip = s->address();
        host.connect_port = s->port();
        hosts.push_back(host);
    }
    const Attempt a = attempt(checker);
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_EQ(a.result.detail, "2 hosts answered HELO");
    ASSERT_TRUE(first.wait_served(1));
    ASSERT_TRUE(second.wait_served(1));

    config::CheckTarget third;
    third.connect_ip = refusing_helo.address();
    third.connect_port = refusing_helo.port();
    hosts.insert(hosts.begin() + 1, third);
    const Attempt b = attempt(checker);
    EXPECT_FALSE(b.result.ok);
    EXPECT_EQ(b.result.detail, fmt::format("host [127.0.0.4]:tcp:{}: HELO reply: 501 bad name", third.connect_port));
    ASSERT_TRUE(first.wait_served(2));
    EXPECT_FALSE(second.wait_served(2, 100ms)) << "the host after the failing one was checked";
}

}  // namespace
}  // namespace lbd::check
