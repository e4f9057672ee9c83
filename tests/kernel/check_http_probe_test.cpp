// HTTP_GET and SSL_GET against real servers on loopback: the request
// keepalived sends, status codes, digests, regexes, several urls, chunked
// and oversized bodies, IPv6, servers that refuse, answer late or flap; over
// TLS with a self-signed certificate, SNI, and a server that speaks no TLS.
#include "check/probe_types.h"
#include "check_stream_servers.h"
#include "kernel_test.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

namespace lbd::check {
namespace {

using namespace test;

constexpr const char* kHelloMd5 = "5d41402abc4b2a76b9719d911017c592";  // md5("hello")

std::string md5_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr), 1);
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex;
}

std::string response(int status, const std::string& body) {
    return fmt::format("HTTP/1.0 {} Whatever\r\nContent-Length: {}\r\n\r\n{}", status, body.size(), body);
}

// Records each request, answers it with `reply` and closes.
Server::Handler answering(std::string reply) {
    return [reply](Conn& c) {
        c.record(c.read_until("\r\n\r\n"));
        c.write(reply);
    };
}

config::HttpUrl url(std::string path) {
    config::HttpUrl u;
    u.path = std::move(path);
    u.status_codes = {{200, 299}};
    return u;
}

config::Checker http_checker(const Server& server, std::vector<config::HttpUrl> urls, milliseconds timeout = 2s,
                             config::CheckerType type = config::CheckerType::HTTP_GET) {
    config::Checker c = checker_of(type, server.address(), server.port(), timeout);
    config::HttpCheck http;
    http.urls = std::move(urls);
    c.detail = http;
    return c;
}

config::HttpCheck& http_of(config::Checker& c) { return std::get<config::HttpCheck>(c.detail); }

Attempt attempt(const config::Checker& checker) {
    ProbeEnv env;
    auto probe = make_http_probe(checker, env.context());
    return run_attempt(env.loop, *probe);
}

TEST(HttpProbe, UpSendsKeepalivedsRequest) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", answering(response(200, "hello")));
    const Attempt a = attempt(http_checker(server, {url("/health")}));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_EQ(a.result.detail, "url /health: status code 200");
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(),
              std::vector<std::string>{fmt::format(
                  "GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port())});
}

TEST(HttpProbe, DownOnAStatusOutsideTheCodes) {
    LBD_REQUIRE_NETNS();
    Server unavailable("127.0.0.1", answering(response(503, "busy")));
    const Attempt a = attempt(http_checker(unavailable, {url("/health")}));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /health: status code 503");

    Server redirecting("127.0.0.1", answering(response(302, "")));
    config::HttpUrl ranges = url("/");
    ranges.status_codes = {{200, 200}, {301, 302}};
    EXPECT_TRUE(attempt(http_checker(redirecting, {ranges})).result.ok);
    ranges.status_codes = {{200, 301}, {303, 399}};
    EXPECT_EQ(attempt(http_checker(redirecting, {ranges})).result.detail, "url /: status code 302");
}

TEST(HttpProbe, DigestOfTheBodyMatchesOrNot) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", answering(response(200, "hello")));
    config::HttpUrl good = url("/");
    good.digest = kHelloMd5;
    const Attempt a = attempt(http_checker(server, {good}));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_EQ(a.result.detail, "url /: status code 200, MD5 digest match");

    config::HttpUrl bad = url("/");
    bad.digest = "00000000000000000000000000000000";
    const Attempt b = attempt(http_checker(server, {bad}));
    EXPECT_FALSE(b.result.ok);
    EXPECT_EQ(b.result.detail,
              fmt::format("url /: MD5 digest mismatch: got {}, expected 00000000000000000000000000000000", kHelloMd5));
}

TEST(HttpProbe, RegexOnTheBody) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", answering(response(200, "status: all fine\n")));
    config::HttpUrl u = url("/");
    u.regex = "all (fine|good)";
    EXPECT_EQ(attempt(http_checker(server, {u})).result.detail, "url /: status code 200, regex match");
    u.regex = "error";
    EXPECT_EQ(attempt(http_checker(server, {u})).result.detail, "url /: regex 'error' did not match");
    u.regex_no_match = true;
    EXPECT_TRUE(attempt(http_checker(server, {u})).result.ok);
    u.regex = "fine";
    EXPECT_EQ(attempt(http_checker(server, {u})).result.detail, "url /: regex 'fine' matched (regex_no_match)");
    u.regex = "(unclosed";
    const Attempt bad = attempt(http_checker(server, {u}));
    EXPECT_FALSE(bad.result.ok);
    EXPECT_TRUE(bad.result.detail.starts_with("url /: bad regex '(unclosed': ")) << bad.result.detail;
}

TEST(HttpProbe, EveryUrlMustPassAndTheFirstFailureEndsTheAttempt) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        const std::string request = c.read_until("\r\n\r\n");
        c.record(request.substr(0, request.find(" HTTP/")));
        c.write(request.starts_with("GET /a ") ? response(200, "a") : response(404, "no"));
    });
    const Attempt both = attempt(http_checker(server, {url("/a"), url("/a")}));
    EXPECT_TRUE(both.result.ok);
    EXPECT_EQ(both.result.detail, "url /a: status code 200; url /a: status code 200");

    const Attempt a = attempt(http_checker(server, {url("/a"), url("/b"), url("/c")}));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /b: status code 404");
    ASSERT_TRUE(server.wait_served(4));
    EXPECT_EQ(server.records(), (std::vector<std::string>{"GET /a", "GET /a", "GET /a", "GET /b"}));
}

TEST(HttpProbe, EachUrlHasTheWholeTimeout) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.read_until("\r\n\r\n");
        c.pause(200ms);
        c.write(response(200, ""));
    });
    const Attempt a = attempt(http_checker(server, {url("/1"), url("/2")}, 300ms));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_GE(a.took, 400ms);
}

TEST(HttpProbe, ChunkedBodyEndsTheResponseOverHttp11) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.record(c.read_until("\r\n\r\n"));
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;x=y\r\nllo\r\n0\r\n\r\n");
        // Open still: the last chunk, not the end of the connection, ends it.
        c.record(c.wait_closed() ? "closed by the probe" : "left open");
    });
    config::HttpUrl u = url("/");
    u.digest = kHelloMd5;
    config::Checker checker = http_checker(server, {u}, 3s);
    http_of(checker).http_protocol = "1.1";
    const Attempt a = attempt(checker);
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_LT(a.took, 1s);
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(),
              (std::vector<std::string>{
                  fmt::format("GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: 127.0.0.1:{}"
                              "\r\n\r\n",
                              server.port()),
                  "closed by the probe"}));
}

TEST(HttpProbe, VirtualhostIsTheHostHeader) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", answering(response(200, "")));
    config::HttpUrl u = url("/index.html");
    u.virtualhost = "www.example.test";
    config::Checker checker = http_checker(server, {u});
    http_of(checker).http_protocol = "1.0C";
    EXPECT_TRUE(attempt(checker).result.ok);
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(), std::vector<std::string>{"GET /index.html HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\n"
                                                         "Connection: close\r\nHost: www.example.test\r\n\r\n"});
}

TEST(HttpProbe, TheSchemesOwnPortIsLeftOutOfTheHostHeader) {
    LBD_REQUIRE_NETNS();
    Server http("127.0.0.1", answering(response(200, "")), nullptr, 80);
    EXPECT_TRUE(attempt(http_checker(http, {url("/")})).result.ok);
    TlsServerContext tls;
    Server https("127.0.0.1", answering(response(200, "")), tls.get(), 443);
    EXPECT_TRUE(attempt(http_checker(https, {url("/")}, 2s, config::CheckerType::SSL_GET)).result.ok);
    ASSERT_TRUE(http.wait_served(1));
    ASSERT_TRUE(https.wait_served(1));
    const std::string request = "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1\r\n\r\n";
    EXPECT_EQ(http.records(), std::vector<std::string>{request});
    EXPECT_EQ(https.records(), std::vector<std::string>{request});
}

TEST(HttpProbe, Ipv6TargetInBracketsInTheHostHeader) {
    LBD_REQUIRE_NETNS();
    if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 on lo";
    Server server("::1", answering(response(200, "hello")));
    const Attempt a = attempt(http_checker(server, {url("/")}));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    ASSERT_TRUE(server.wait_served(1));
    ASSERT_EQ(server.records().size(), 1u);
    EXPECT_NE(server.records()[0].find(fmt::format("\r\nHost: [::1]:{}\r\n", server.port())), std::string::npos)
        << server.records()[0];
}

TEST(HttpProbe, DownWhenRefused) {
    LBD_REQUIRE_NETNS();
    RefusingPort refusing;
    config::Checker checker = checker_of(config::CheckerType::HTTP_GET, ip("127.0.0.1"), refusing.port());
    config::HttpCheck http;
    http.urls = {url("/")};
    checker.detail = http;
    const Attempt a = attempt(checker);
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /: connect: Connection refused");
}

TEST(HttpProbe, DownWhenTheServerClosesWithoutAnswering) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) { c.read_until("\r\n\r\n"); });
    const Attempt a = attempt(http_checker(server, {url("/")}));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /: no data received");
}

TEST(HttpProbe, TimeoutWhenTheAnswerComesLate) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.read_until("\r\n\r\n");
        c.record(c.wait_closed() ? "closed by the probe" : "left open");
        c.write(response(200, "too late"));
    });
    const Attempt a = attempt(http_checker(server, {url("/slow")}, 300ms));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /slow: timeout reading the response");
    EXPECT_GE(a.took, 300ms);
    EXPECT_LT(a.took, 300ms + kLateness);
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(server.records(), std::vector<std::string>{"closed by the probe"});
}

TEST(HttpProbe, FollowsAServerThatFlaps) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [n = 0](Conn& c) mutable {
        c.read_until("\r\n\r\n");
        c.write(response(n++ % 2 == 0 ? 200 : 500, "x"));
    });
    ProbeEnv env;
    auto probe = make_http_probe(http_checker(server, {url("/")}), env.context());
    for (int round = 0; round < 4; ++round) {
        const Attempt a = run_attempt(env.loop, *probe);
        EXPECT_EQ(a.result.ok, round % 2 == 0) << "round " << round << ": " << a.result.detail;
    }
}

TEST(HttpProbe, ResponseOverFourMebibytesFails) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.read_until("\r\n\r\n");
        c.write("HTTP/1.0 200 OK\r\n\r\n");
        const std::string block(64 * 1024, 'x');
        for (int i = 0; i < 80 && c.write(block); ++i) {
        }
    });
    const Attempt a = attempt(http_checker(server, {url("/big")}));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /big: response too large: more than 4194304 bytes");
}

// ---- hostile real servers: each ends in a verdict, bounded in bytes and time ----

// The page that killed lbd when the regex was std::regex's: 2 MB on one line.
TEST(HttpProbe, AHugeOneLinePageIsSearchedByTheRegex) {
    LBD_REQUIRE_NETNS();
    const std::string page = std::string(2 << 20, 'x') + " status: ok";
    Server server("127.0.0.1", answering(response(200, page)));
    config::HttpUrl u = url("/");
    u.regex = ".*status: ok";
    const Attempt a = attempt(http_checker(server, {u}));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    EXPECT_EQ(a.result.detail, "url /: status code 200, regex match");
    u.regex = ".*status: bad";
    EXPECT_EQ(attempt(http_checker(server, {u})).result.detail, "url /: regex '.*status: bad' did not match");
}

TEST(HttpProbe, ARegexThatBacktracksWithoutEndFailsTheCheck) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", answering(response(200, std::string(30, 'a') + "b")));
    config::HttpUrl u = url("/");
    u.regex = "^(a+)+$";
    u.regex_no_match = true;  // an error is no miss
    EXPECT_EQ(attempt(http_checker(server, {u})).result.detail, "url /: regex '^(a+)+$': match limit exceeded");
}

TEST(HttpProbe, AnEndlessChunkedBodyFailsAtTheSizeLimit) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.read_until("\r\n\r\n");
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        const std::string chunk = "1000\r\n" + std::string(0x1000, 'c') + "\r\n";
        while (c.write(chunk)) {
        }
    });
    const Attempt a = attempt(http_checker(server, {url("/")}, 3s));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /: response too large: more than 4194304 bytes");
    EXPECT_LT(a.took, 3s);
}

TEST(HttpProbe, AChunkedBodyThatTricklesFailsAtTheTimeout) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.read_until("\r\n\r\n");
        c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        for (bool open = true; open; c.pause(20ms)) open = c.write("1\r\nc\r\n");
    });
    const Attempt a = attempt(http_checker(server, {url("/")}, 300ms));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /: timeout reading the response");
    EXPECT_LT(a.took, 300ms + kLateness);
}

TEST(HttpProbe, AServerThatAcceptsAndNeverReadsFailsAtTheTimeout) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) { c.pause(2s); });
    const Attempt a = attempt(http_checker(server, {url("/")}, 300ms));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /: timeout reading the response");
    EXPECT_LT(a.took, 300ms + kLateness);
}

TEST(HttpProbe, AResetInTheMiddleOfTheResponseFailsTheCheck) {
    LBD_REQUIRE_NETNS();
    Server server("127.0.0.1", [](Conn& c) {
        c.read_until("\r\n\r\n");
        c.write("HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'b'));
        c.reset();
    });
    config::HttpUrl u = url("/");
    u.regex = "b";
    const Attempt a = attempt(http_checker(server, {u}));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /: read: Connection reset by peer");
}

// ---- SSL_GET -------------------------------------------------------------------

class SslProbe : public ::testing::Test {
protected:
    TlsServerContext tls;
};

TEST_F(SslProbe, UpAgainstASelfSignedServer) {
    LBD_REQUIRE_NETNS();
    Server server(
        "127.0.0.1",
        [](Conn& c) {
            c.record(c.read_until("\r\n\r\n"));
            c.record("sni=" + c.sni());
            c.write(response(200, "hello"));
        },
        tls.get());
    config::HttpUrl u = url("/");
    u.digest = kHelloMd5;
    const Attempt a = attempt(http_checker(server, {u}, 2s, config::CheckerType::SSL_GET));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
    ASSERT_TRUE(server.wait_served(1));
    EXPECT_EQ(
        server.records(),
        (std::vector<std::string>{
            fmt::format("GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n", server.port()),
            "sni="}));
}

TEST_F(SslProbe, SniIsTheSniNameElseTheVirtualhost) {
    LBD_REQUIRE_NETNS();
    Server server(
        "127.0.0.1",
        [](Conn& c) {
            c.read_until("\r\n\r\n");
            c.record(c.sni());
            c.write(response(200, ""));
        },
        tls.get());
    config::HttpUrl named = url("/");
    named.virtualhost = "www.example.test";
    config::Checker checker = http_checker(server, {named, url("/")}, 2s, config::CheckerType::SSL_GET);
    EXPECT_TRUE(attempt(checker).result.ok);  // enable_sni off: none
    http_of(checker).enable_sni = true;
    EXPECT_TRUE(attempt(checker).result.ok);  // the virtualhost; an address is never sent
    http_of(checker).sni_name = "sni.example.test";
    EXPECT_TRUE(attempt(checker).result.ok);
    ASSERT_TRUE(server.wait_served(6));
    EXPECT_EQ(server.records(),
              (std::vector<std::string>{"", "", "www.example.test", "", "sni.example.test", "sni.example.test"}));
}

TEST_F(SslProbe, BodyToTheEndOfAConnectionClosedWithoutCloseNotify) {
    LBD_REQUIRE_NETNS();
    const std::string body(1 << 20, 'b');  // many TLS records
    Server server(
        "127.0.0.1",
        [&body](Conn& c) {
            c.read_until("\r\n\r\n");
            c.write("HTTP/1.0 200 OK\r\n\r\n" + body);
            c.drop();
        },
        tls.get());
    config::HttpUrl u = url("/");
    u.digest = md5_hex(body);
    const Attempt a = attempt(http_checker(server, {u}, 2s, config::CheckerType::SSL_GET));
    EXPECT_TRUE(a.result.ok) << a.result.detail;
}

TEST_F(SslProbe, FailsCleanlyAgainstAPlainServerThatCloses) {
    LBD_REQUIRE_NETNS();
    Server plain("127.0.0.1", [](Conn& c) { c.read_until("\r\n\r\n", 100ms); });
    const Attempt a = attempt(http_checker(plain, {url("/")}, 2s, config::CheckerType::SSL_GET));
    EXPECT_FALSE(a.result.ok);
    EXPECT_TRUE(a.result.detail.starts_with("url /: TLS handshake: ")) << a.result.detail;
    EXPECT_LT(a.took, 1s);

    Server talking("127.0.0.1", [](Conn& c) {
        c.write(response(200, "plain text"));
        c.wait_closed();
    });
    const Attempt b = attempt(http_checker(talking, {url("/")}, 2s, config::CheckerType::SSL_GET));
    EXPECT_FALSE(b.result.ok);
    EXPECT_TRUE(b.result.detail.starts_with("url /: TLS handshake: ")) << b.result.detail;
}

TEST_F(SslProbe, TimeoutInTheHandshake) {
    LBD_REQUIRE_NETNS();
    Server mute("127.0.0.1", [](Conn& c) { c.wait_closed(); });
    const Attempt a = attempt(http_checker(mute, {url("/")}, 300ms, config::CheckerType::SSL_GET));
    EXPECT_FALSE(a.result.ok);
    EXPECT_EQ(a.result.detail, "url /: timeout in the TLS handshake");
    EXPECT_GE(a.took, 300ms);
    EXPECT_LT(a.took, 300ms + kLateness);
}

TEST_F(SslProbe, FollowsAServerThatFlaps) {
    LBD_REQUIRE_NETNS();
    Server server(
        "127.0.0.1",
        [n = 0](Conn& c) mutable {
            c.read_until("\r\n\r\n");
            c.write(response(n++ % 2 == 0 ? 200 : 503, "x"));
        },
        tls.get());
    ProbeEnv env;
    auto probe = make_http_probe(http_checker(server, {url("/")}, 2s, config::CheckerType::SSL_GET), env.context());
    for (int round = 0; round < 4; ++round) {
        const Attempt a = run_attempt(env.loop, *probe);
        EXPECT_EQ(a.result.ok, round % 2 == 0) << "round " << round << ": " << a.result.detail;
        if (round % 2 == 1) {
            EXPECT_EQ(a.result.detail, "url /: status code 503");
        }
    }
}

}  // namespace
}  // namespace lbd::check
