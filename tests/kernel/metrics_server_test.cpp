// MetricsServer on loopback, scraped with plain sockets: the response to
// GET /metrics over IPv4 and IPv6, HTTP/1.0 and 1.1, HEAD; 404, 405, 400,
// 505 and 431; persistent connections and their timeout; clients that send
// nothing, or read nothing, neither block others nor stay past the
// timeout; slow clients cannot hold every slot; a provider that throws;
// bind failures.
#include "ctl/metrics_server.h"
#include "util/unique_fd.h"
#include "kernel_test.h"

#include <gmock/gmock.h>

#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lbd::ctl {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;

config::ListenAddr listen_on(const char* address, uint16_t port = 0) {
    return {*config::IpAddr::parse(address), port};
}

// `from`: the client's address (another 127.0.0.X makes another client).
UniqueFd connect_to(const config::ListenAddr& to, const char* from = nullptr) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (to.addr.family == AF_INET6) {
        auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons(to.port);
        std::memcpy(&s6.sin6_addr, to.addr.bytes.data(), 16);
        len = sizeof s6;
    } else {
        auto& s4 = reinterpret_cast<sockaddr_in&>(ss);
        s4.sin_family = AF_INET;
        s4.sin_port = htons(to.port);
        std::memcpy(&s4.sin_addr, to.addr.bytes.data(), 4);
        len = sizeof s4;
    }
    UniqueFd fd(socket(to.addr.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (from) {
        sockaddr_in local{};
        local.sin_family = AF_INET;
        inet_pton(AF_INET, from, &local.sin_addr);
        if (bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
            throw std::runtime_error(std::string("bind to ") + from + ": " + std::strerror(errno));
    }
    if (!fd || connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0)
        throw std::runtime_error(std::string("connect to ") + to.str() + ": " + std::strerror(errno));
    return fd;
}

void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
        data.remove_prefix(static_cast<size_t>(n));
    }
}

// What the server sends until it closes, or nullopt if it has not closed within `wait`.
std::optional<std::string> read_to_close(int fd, std::chrono::milliseconds wait = 3s) {
    std::string out;
    const auto until = Clock::now() + wait;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
        char buf[4096];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == ECONNRESET) return out;
        if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
        if (n == 0) return out;
        out.append(buf, static_cast<size_t>(n));
    }
}

// One response on a connection that stays open: its head and Content-Length
// bytes; nullopt if they have not come within `wait`.
std::optional<std::string> read_response(int fd, std::chrono::milliseconds wait = 3s) {
    std::string out;
    const auto until = Clock::now() + wait;
    for (;;) {
        if (const size_t end = out.find("\r\n\r\n"); end != std::string::npos) {
            const size_t at = out.find("Content-Length: ");
            if (at != std::string::npos && at < end) {
                const size_t length = std::stoul(out.substr(at + 16));
                if (out.size() >= end + 4 + length) return out;
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
        char buf[4096];
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return std::nullopt;
        out.append(buf, static_cast<size_t>(n));
    }
}

std::string send_request(const config::ListenAddr& to, std::string_view request) {
    const UniqueFd fd = connect_to(to);
    send_all(fd.get(), request);
    const auto response = read_to_close(fd.get());
    if (!response) throw std::runtime_error("the server did not close the connection");
    return *response;
}

struct Response {
    std::string status;  // "HTTP/1.1 200 OK"
    std::vector<std::string> headers;
    std::string body;
};

Response parse(const std::string& raw) {
    Response r;
    const size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) throw std::runtime_error("no end of head in: " + raw);
    size_t pos = 0;
    for (size_t eol; (eol = raw.find("\r\n", pos)) <= end; pos = eol + 2) {
        if (r.status.empty())
            r.status = raw.substr(pos, eol - pos);
        else
            r.headers.push_back(raw.substr(pos, eol - pos));
        if (eol == end) break;
    }
    r.body = raw.substr(end + 4);
    return r;
}

// One scrape on a connection of its own: the server closes it once answered.
constexpr const char* kScrape = "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n";

constexpr const char* kBody = "# HELP lbd_conntrack_entries Flows.\n# TYPE lbd_conntrack_entries gauge\n"
                              "lbd_conntrack_entries 3\n";

class MetricsServerTest : public testing::Test {
protected:
    void SetUp() override { LBD_REQUIRE_NETNS(); }

    // A server on `address`, port 0; `to` is where to reach it.
    void start(const char* address, MetricsServer::Provider provider = [] { return std::string(kBody); }) {
        server.emplace(listen_on(address), std::move(provider));
        to = listen_on(address, server->port());
    }

    std::optional<MetricsServer> server;
    config::ListenAddr to;
};

TEST_F(MetricsServerTest, ServesMetricsOverIpv4) {
    start("127.0.0.1");
    EXPECT_NE(server->port(), 0);
    const Response r = parse(send_request(to, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(r.status, "HTTP/1.1 200 OK");
    EXPECT_THAT(r.headers, testing::Contains("Content-Type: text/plain; version=0.0.4"));
    EXPECT_THAT(r.headers, testing::Contains("Connection: close"));
    EXPECT_THAT(r.headers, testing::Contains("Content-Length: " + std::to_string(std::strlen(kBody))));
    EXPECT_EQ(r.body, kBody);
}

TEST_F(MetricsServerTest, ServesMetricsOverIpv6) {
    start("::1");
    const Response r = parse(send_request(to, "GET /metrics HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(r.status, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.body, kBody);
}

TEST_F(MetricsServerTest, Http10BareLineFeedsAndAQueryString) {
    start("127.0.0.1");
    EXPECT_EQ(parse(send_request(to, "GET /metrics HTTP/1.0\r\n\r\n")).body, kBody);
    EXPECT_EQ(parse(send_request(to, "GET /metrics HTTP/1.0\n\n")).body, kBody);
    EXPECT_EQ(parse(send_request(to, "\r\nGET /metrics?job=lbd HTTP/1.1\r\nConnection: close\r\n\r\n")).body, kBody);
}

TEST_F(MetricsServerTest, HeadHasTheHeadersOnly) {
    start("127.0.0.1");
    const Response r = parse(send_request(to, "HEAD /metrics HTTP/1.1\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(r.status, "HTTP/1.1 200 OK");
    EXPECT_THAT(r.headers, testing::Contains("Content-Length: " + std::to_string(std::strlen(kBody))));
    EXPECT_EQ(r.body, "");
}

TEST_F(MetricsServerTest, OtherPathsAreNotFound) {
    start("127.0.0.1");
    for (const char* path : {"/", "/metricsx", "/metrics/", "/favicon.ico"}) {
        const Response r = parse(send_request(to, std::string("GET ") + path + " HTTP/1.1\r\nConnection: close\r\n\r\n"));
        EXPECT_EQ(r.status, "HTTP/1.1 404 Not Found") << path;
        EXPECT_THAT(r.headers, testing::Contains("Connection: close"));
    }
}

TEST_F(MetricsServerTest, OtherMethodsAreNotAllowed) {
    start("127.0.0.1");
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get"}) {
        const Response r =
            parse(send_request(to, std::string(method) + " /metrics HTTP/1.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        EXPECT_EQ(r.status, "HTTP/1.1 405 Method Not Allowed") << method;
        EXPECT_THAT(r.headers, testing::Contains("Allow: GET, HEAD"));
    }
}

TEST_F(MetricsServerTest, BadRequestLinesAndVersions) {
    start("127.0.0.1");
    EXPECT_EQ(parse(send_request(to, "GET /metrics\r\n\r\n")).status, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(parse(send_request(to, "GET  /metrics HTTP/1.1\r\n\r\n")).status, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(parse(send_request(to, "\x16\x03\x01 hello tls\r\n\r\n")).status, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(parse(send_request(to, "GET /metrics HTTP/2.0\r\n\r\n")).status,
              "HTTP/1.1 505 HTTP Version Not Supported");
}

TEST_F(MetricsServerTest, HeadOverTheLimitIsRefused) {
    start("127.0.0.1");
    // Never ends its head: the server must stop reading at the limit.
    const std::string request =
        "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(2 * MetricsServer::kMaxRequestHead, 'a');
    const Response r = parse(send_request(to, request));
    EXPECT_EQ(r.status, "HTTP/1.1 431 Request Header Fields Too Large");
    // A head of exactly the limit is still served.
    std::string fits = "GET /metrics HTTP/1.1\r\nConnection: close\r\nX-Pad: ";
    fits += std::string(MetricsServer::kMaxRequestHead - fits.size() - 4, 'a') + "\r\n\r\n";
    ASSERT_EQ(fits.size(), MetricsServer::kMaxRequestHead);
    EXPECT_EQ(parse(send_request(to, fits)).status, "HTTP/1.1 200 OK");
}

TEST_F(MetricsServerTest, SilentClientDoesNotBlockOthersAndIsClosedAtTheTimeout) {
    start("127.0.0.1");
    const auto connected = Clock::now();
    const UniqueFd silent = connect_to(to);
    send_all(silent.get(), "GET /metr");  // and nothing more
    const auto before = Clock::now();
    EXPECT_EQ(parse(send_request(to, kScrape)).body, kBody);
    EXPECT_LT(Clock::now() - before, 1s);
    const auto closed = read_to_close(silent.get(), MetricsServer::kTimeout + 3s);
    ASSERT_TRUE(closed) << "the silent client was never closed";
    EXPECT_EQ(*closed, "");
    EXPECT_GE(Clock::now() - connected, MetricsServer::kTimeout - 100ms);
}

TEST_F(MetricsServerTest, ClientThatDoesNotReadDoesNotBlockOthersAndIsClosedAtTheTimeout) {
    // Far more than loopback's socket buffers hold: the server's writes to it must stop short.
    const size_t big = size_t{32} << 20;
    std::atomic<int> calls{0};
    start("127.0.0.1", [&calls, big] { return calls++ == 0 ? std::string(big, 'x') : std::string(kBody); });
    const UniqueFd stuck = connect_to(to);
    send_all(stuck.get(), "GET /metrics HTTP/1.1\r\n\r\n");
    while (calls == 0) std::this_thread::sleep_for(1ms);
    const auto before = Clock::now();
    EXPECT_EQ(parse(send_request(to, kScrape)).body, kBody);
    EXPECT_LT(Clock::now() - before, 1s);
    std::this_thread::sleep_for(MetricsServer::kTimeout + 500ms);
    const auto got = read_to_close(stuck.get());
    ASSERT_TRUE(got) << "still open past the timeout";
    EXPECT_LT(got->size(), big);
}

// A slow client (nothing sent, or a head never finished) on every slot it
// can get: a scraper from elsewhere is still served at once, not after the
// timeout, and the connections beyond the client's share are closed at once.
TEST_F(MetricsServerTest, ASlowClientCannotHoldAllSlots) {
    start("127.0.0.1");
    std::vector<UniqueFd> slow;
    for (size_t i = 0; i < MetricsServer::kMaxConnections; ++i) {
        slow.push_back(connect_to(to, "127.0.0.2"));
        // The server may have closed it already: what it sends does not matter.
        [[maybe_unused]] const ssize_t sent = send(slow.back().get(), "GET /metr", 9, MSG_NOSIGNAL);
    }
    const auto before = Clock::now();
    EXPECT_EQ(parse(send_request(to, kScrape)).body, kBody);
    EXPECT_LT(Clock::now() - before, 1s);
    size_t closed = 0;
    for (const auto& fd : slow) closed += read_to_close(fd.get(), 200ms).has_value();
    EXPECT_EQ(closed, MetricsServer::kMaxConnections - MetricsServer::kMaxPerClient);
}

// As many slow clients as slots: a new connection takes the slot of the one
// that has waited longest for a request.
TEST_F(MetricsServerTest, SlowClientsOnEverySlotMakeRoomForANewOne) {
    start("127.0.0.1");
    std::vector<UniqueFd> slow;
    for (size_t i = 0; i < MetricsServer::kMaxConnections; ++i)
        slow.push_back(connect_to(to, fmt::format("127.0.0.{}", 10 + i).c_str()));
    const auto before = Clock::now();
    EXPECT_EQ(parse(send_request(to, kScrape)).body, kBody);
    EXPECT_LT(Clock::now() - before, 1s);
    const auto oldest = read_to_close(slow.front().get(), 500ms);
    ASSERT_TRUE(oldest) << "the connection waiting longest was left open";
    EXPECT_EQ(*oldest, "");
    EXPECT_FALSE(read_to_close(slow.back().get(), 100ms)) << "the newest slow connection was closed";
}

// A persistent connection (HTTP/1.1's default) has the whole timeout for
// each request from its last response, and no more when it stays idle.
TEST_F(MetricsServerTest, APersistentConnectionHasTheTimeoutAfterEachResponse) {
    MetricsServer::Limits limits = MetricsServer::default_limits();
    limits.timeout = 400ms;
    server.emplace(listen_on("127.0.0.1"), [] { return std::string(kBody); }, limits);
    to = listen_on("127.0.0.1", server->port());
    const UniqueFd fd = connect_to(to);
    const auto connected = Clock::now();
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(250ms);  // within the timeout of the last response, past that of the connection
        send_all(fd.get(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        const auto response = read_response(fd.get());
        ASSERT_TRUE(response) << "request " << i << " was not answered";
        const Response r = parse(*response);
        EXPECT_EQ(r.body, kBody);
        EXPECT_THAT(r.headers, testing::Contains("Connection: keep-alive"));
    }
    EXPECT_GT(Clock::now() - connected, limits.timeout);
    const auto idle = Clock::now();
    const auto closed = read_to_close(fd.get(), 2s);
    ASSERT_TRUE(closed) << "an idle connection stayed open";
    EXPECT_EQ(*closed, "");
    EXPECT_GE(Clock::now() - idle, limits.timeout - 100ms);
}

TEST_F(MetricsServerTest, PipelinedRequestsAreAnsweredInOrder) {
    start("127.0.0.1");
    const UniqueFd fd = connect_to(to);
    send_all(fd.get(), "GET /metrics HTTP/1.1\r\n\r\nGET /nothing HTTP/1.1\r\n\r\nHEAD /metrics HTTP/1.0\r\n\r\n");
    const auto all = read_to_close(fd.get());
    ASSERT_TRUE(all) << "HTTP/1.0 without keep-alive did not close";
    const size_t second = all->find("HTTP/1.1 404");
    const size_t third = all->find("HTTP/1.1 200", second);
    ASSERT_NE(second, std::string::npos) << *all;
    ASSERT_NE(third, std::string::npos) << *all;
    EXPECT_EQ(parse(all->substr(0, second)).body, kBody);
    EXPECT_THAT(parse(all->substr(third)).headers, testing::Contains("Connection: close"));
}

TEST_F(MetricsServerTest, ProviderThatThrowsGives500AndTheNextScrapeWorks) {
    std::atomic<int> calls{0};
    start("127.0.0.1", [&calls]() -> std::string {
        if (calls++ < 2) throw std::runtime_error("cannot read vips4: No such file or directory");
        return kBody;
    });
    testing::internal::CaptureStderr();
    for (int i = 0; i < 2; ++i) {
        const Response r = parse(send_request(to, kScrape));
        EXPECT_EQ(r.status, "HTTP/1.1 500 Internal Server Error");
        EXPECT_THAT(r.body, Not(HasSubstr("vips4")));  // internals stay in the log
    }
    const Response r = parse(send_request(to, kScrape));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.status, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.body, kBody);
    EXPECT_EQ(calls, 3);
    // Two failed scrapes, one line: a scraper every few seconds would flood the log.
    const std::string failed = "metrics on " + to.str() +
                               ": cannot render the metrics: cannot read vips4: No such file or directory\n";
    EXPECT_THAT(log, HasSubstr(failed));
    EXPECT_EQ(log.find(failed), log.rfind(failed)) << log;
    EXPECT_THAT(log, HasSubstr("metrics on " + to.str() + ": rendering works again\n"));
}

TEST_F(MetricsServerTest, ProviderThrowingAnythingIsA500) {
    start("127.0.0.1", []() -> std::string { throw 42; });
    EXPECT_THAT(send_request(to, kScrape), StartsWith("HTTP/1.1 500 "));
    EXPECT_THAT(send_request(to, kScrape), StartsWith("HTTP/1.1 500 "));
}

TEST_F(MetricsServerTest, BindFailureNamesTheAddress) {
    start("127.0.0.1");
    try {
        MetricsServer second(to, [] { return std::string(); });
        FAIL() << "bound twice to " << to.str();
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), "metrics_listen " + to.str() + ": bind: Address already in use");
    }
    // 192.0.2.1 (TEST-NET-1) is no address of this namespace.
    try {
        MetricsServer elsewhere(listen_on("192.0.2.1", 9165), [] { return std::string(); });
        FAIL() << "bound to an address the host lacks";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "metrics_listen 192.0.2.1:9165: bind: Cannot assign requested address");
    }
}

TEST_F(MetricsServerTest, StopsWithClientsConnected) {
    start("127.0.0.1");
    const UniqueFd silent = connect_to(to);
    const auto before = Clock::now();
    server.reset();
    EXPECT_LT(Clock::now() - before, 1s);
    const auto closed = read_to_close(silent.get(), 1s);
    ASSERT_TRUE(closed);
    EXPECT_EQ(*closed, "");
}

}  // namespace
}  // namespace lbd::ctl
