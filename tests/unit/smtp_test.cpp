// The SMTP client against a scripted server on the loopback, bound to an
// ephemeral port: the exact dialogue, the message format, the failures, the
// timeout, and a notifier that keeps accepting alerts while the server stalls.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "notify/smtp.h"

namespace lbd::notify {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::ElementsAre;
using testing::HasSubstr;

// No wait in the fake server lasts longer, so a broken client cannot hang
// the test run.
constexpr auto kSafety = 10s;

struct Fd {
    int fd = -1;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0)
            close(fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
};

// Replies the fake server gives; each is sent as is plus CRLF.
struct Script {
    std::string greeting = "220 fake.test ESMTP";
    std::string ehlo = "250-fake.test\r\n250 8BITMIME";  // multi-line, as real servers answer
    std::string helo = "250 fake.test";
    std::string mail = "250 2.1.0 ok";
    std::function<std::string(const std::string& rcpt_line)> rcpt = [](const std::string&) {
        return std::string("250 2.1.5 ok");
    };
    std::string data = "354 go ahead";
    std::string end = "250 2.0.0 queued";
    std::string quit = "221 bye";
    bool stall = false;  // say nothing after accepting until release()
};

// Serves connections one after the other on its own thread, recording what
// the client sent.
class FakeSmtpServer {
public:
    explicit FakeSmtpServer(Script script, int family = AF_INET)
        : script_(std::move(script)), listener_(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)),
          stop_(eventfd(0, EFD_CLOEXEC)), release_(eventfd(0, EFD_CLOEXEC)) {
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (family == AF_INET) {
            auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
            sin->sin_family = AF_INET;
            sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof(*sin);
        } else {
            auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = in6addr_loopback;
            len = sizeof(*sin6);
        }
        if (bind(listener_.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(listener_.fd, 8) != 0)
            throw std::runtime_error(std::string("fake SMTP server: bind/listen: ") + strerror(errno));
        getsockname(listener_.fd, reinterpret_cast<sockaddr*>(&ss), &len);
        port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
        thread_ = std::thread([this] { serve(); });
    }

    ~FakeSmtpServer() {
        notify_fd(stop_.fd);
        thread_.join();
    }

    uint16_t port() const { return port_; }
    void release() { notify_fd(release_.fd); }

    std::vector<std::string> commands() const {
        std::lock_guard lock(mutex_);
        return commands_;
    }
    // What followed each accepted DATA, up to and including "\r\n.\r\n".
    std::vector<std::string> messages() const {
        std::lock_guard lock(mutex_);
        return messages_;
    }
    bool await_connections(size_t n) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, kSafety, [&] { return connections_ >= n; });
    }

private:
    static void notify_fd(int fd) {
        uint64_t one = 1;
        (void)!write(fd, &one, sizeof(one));
    }

    // Waits until `fd` is readable; false when stopping, released (if
    // `release` is set) or past the safety limit.
    bool readable(int fd, bool release = false) {
        pollfd p[3] = {{fd, POLLIN, 0}, {stop_.fd, POLLIN, 0}, {release_.fd, POLLIN, 0}};
        int n = poll(p, release ? 3 : 2, static_cast<int>(std::chrono::milliseconds(kSafety).count()));
        return n > 0 && p[1].revents == 0 && p[2].revents == 0 && p[0].revents != 0;
    }

    void serve() {
        while (readable(listener_.fd)) {
            Fd conn(accept4(listener_.fd, nullptr, nullptr, SOCK_CLOEXEC));
            {
                std::lock_guard lock(mutex_);
                ++connections_;
            }
            changed_.notify_all();
            if (conn.fd >= 0)
                converse(conn.fd);
        }
    }

    void converse(int fd) {
        // A stalled server ends its stall on release(), and gives up when the
        // client does (the connection becomes readable: EOF).
        if (script_.stall && readable(fd, true))
            return;
        std::string buf;
        auto reply = [fd](const std::string& text) {
            std::string line = text + "\r\n";
            (void)!send(fd, line.data(), line.size(), MSG_NOSIGNAL);
        };
        // Reads up to `end`, which it consumes; false when the client leaves.
        auto read_until = [&](std::string_view end, std::string& out) {
            for (;;) {
                if (size_t at = buf.find(end); at != std::string::npos) {
                    out = buf.substr(0, at + end.size());
                    buf.erase(0, at + end.size());
                    return true;
                }
                char chunk[4096];
                if (!readable(fd))
                    return false;
                ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
                if (n <= 0)
                    return false;
                buf.append(chunk, static_cast<size_t>(n));
            }
        };
        reply(script_.greeting);
        std::string line;
        while (read_until("\r\n", line)) {
            line.resize(line.size() - 2);
            {
                std::lock_guard lock(mutex_);
                commands_.push_back(line);
            }
            std::string verb = line.substr(0, 4);
            if (verb == "EHLO") {
                reply(script_.ehlo);
            } else if (verb == "HELO") {
                reply(script_.helo);
            } else if (verb == "MAIL") {
                reply(script_.mail);
            } else if (verb == "RCPT") {
                reply(script_.rcpt(line));
            } else if (verb == "DATA") {
                reply(script_.data);
                std::string message;
                if (script_.data.starts_with("354")) {
                    if (!read_until("\r\n.\r\n", message))
                        return;
                    {
                        std::lock_guard lock(mutex_);
                        messages_.push_back(message);
                    }
                    reply(script_.end);
                }
            } else if (verb == "QUIT") {
                reply(script_.quit);
                return;
            } else {
                reply("500 5.5.1 unrecognised command");
            }
        }
    }

    Script script_;
    Fd listener_;
    Fd stop_;
    Fd release_;
    uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    size_t connections_ = 0;
    std::vector<std::string> commands_;
    std::vector<std::string> messages_;
    std::thread thread_;  // last: starts once everything above exists
};

SmtpSettings settings_for(uint16_t port, std::string server = "127.0.0.1") {
    SmtpSettings s;
    s.server = std::move(server);
    s.port = port;
    s.timeout = 5s;
    s.helo_name = "lb1.test";
    s.from = "lbd@lb1.test";
    s.to = {"ops@example.com", "oncall@example.com"};
    return s;
}

const Mail kMail{"[lb1] VRRP Instance VI_1 - Entering MASTER state",
                 "first line\n.hidden\n..two dots\nlast line"};

std::vector<std::string> split_crlf(const std::string& text) {
    std::vector<std::string> lines;
    size_t pos = 0;
    for (size_t eol; (eol = text.find("\r\n", pos)) != std::string::npos; pos = eol + 2)
        lines.push_back(text.substr(pos, eol - pos));
    return lines;
}

// The value of the first header line "name: value", or "".
std::string header(const std::string& message, const std::string& name) {
    for (const auto& line : split_crlf(message))
        if (line.starts_with(name + ": "))
            return line.substr(name.size() + 2);
    return "";
}

bool has_bare_lf(const std::string& text) {
    for (size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            return true;
    return false;
}

// Polls `done` until it holds or `limit` passes: for events on the
// notifier's thread, seen through its counters.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds limit = kSafety) {
    auto deadline = Clock::now() + limit;
    while (!done()) {
        if (Clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

bool ipv6_loopback_available() {
    Fd s(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    return s.fd >= 0 && bind(s.fd, reinterpret_cast<sockaddr*>(&sin6), sizeof(sin6)) == 0;
}

TEST(SendMail, FullSession) {
    FakeSmtpServer server{Script{}};

    EXPECT_EQ(send_mail(settings_for(server.port()), kMail), std::nullopt);

    EXPECT_THAT(server.commands(),
                ElementsAre("EHLO lb1.test", "MAIL FROM:<lbd@lb1.test>", "RCPT TO:<ops@example.com>",
                            "RCPT TO:<oncall@example.com>", "DATA", "QUIT"));
    auto messages = server.messages();
    ASSERT_EQ(messages.size(), 1u);
    const std::string& message = messages[0];
    EXPECT_FALSE(has_bare_lf(message));
    ASSERT_TRUE(message.ends_with("\r\n.\r\n"));

    size_t blank = message.find("\r\n\r\n");
    ASSERT_NE(blank, std::string::npos);
    auto headers = split_crlf(message.substr(0, blank + 2));
    EXPECT_THAT(headers, testing::Contains("From: lbd@lb1.test"));
    EXPECT_THAT(headers, testing::Contains("To: ops@example.com, oncall@example.com"));
    EXPECT_THAT(headers, testing::Contains("Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state"));
    EXPECT_THAT(headers, testing::Contains(testing::ContainsRegex(
                             "^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
                             "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} "
                             "[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}$")));
    EXPECT_THAT(headers, testing::Contains(testing::ContainsRegex("^Message-ID: <[^@<>]+@lb1\\.test>$")));

    EXPECT_EQ(message.substr(blank + 4), "first line\r\n..hidden\r\n...two dots\r\nlast line\r\n.\r\n");
}

TEST(SendMail, MessageIdsDiffer) {
    FakeSmtpServer server{Script{}};
    ASSERT_EQ(send_mail(settings_for(server.port()), kMail), std::nullopt);
    ASSERT_EQ(send_mail(settings_for(server.port()), kMail), std::nullopt);

    auto messages = server.messages();
    ASSERT_EQ(messages.size(), 2u);
    EXPECT_NE(header(messages[0], "Message-ID"), "");
    EXPECT_NE(header(messages[0], "Message-ID"), header(messages[1], "Message-ID"));
}

TEST(SendMail, EhloRejectedFallsBackToHelo) {
    Script script;
    script.ehlo = "502 5.5.2 command not recognized";
    FakeSmtpServer server{script};

    EXPECT_EQ(send_mail(settings_for(server.port()), kMail), std::nullopt);

    auto commands = server.commands();
    ASSERT_GE(commands.size(), 3u);
    EXPECT_EQ(commands[0], "EHLO lb1.test");
    EXPECT_EQ(commands[1], "HELO lb1.test");
    EXPECT_EQ(commands[2], "MAIL FROM:<lbd@lb1.test>");
    EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SendMail, EveryRecipientRefused) {
    Script script;
    script.rcpt = [](const std::string&) { return std::string("550 no such user"); };
    FakeSmtpServer server{script};

    auto error = send_mail(settings_for(server.port()), kMail);

    ASSERT_TRUE(error.has_value());
    EXPECT_THAT(*error, HasSubstr("server 127.0.0.1:" + std::to_string(server.port()) +
                                  " refused RCPT TO:<ops@example.com>: 550 no such user"));
    EXPECT_THAT(*error, HasSubstr("RCPT TO:<oncall@example.com>"));
    // No DATA, and a polite goodbye.
    EXPECT_THAT(server.commands(), testing::Not(testing::Contains("DATA")));
    EXPECT_EQ(server.commands().back(), "QUIT");
    EXPECT_TRUE(server.messages().empty());
}

TEST(SendMail, OneRecipientRefusedStillMailsTheOthers) {
    Script script;
    script.rcpt = [](const std::string& line) {
        return std::string(line.find("oncall") != std::string::npos ? "550 5.1.1 no such user" : "250 ok");
    };
    FakeSmtpServer server{script};

    auto error = send_mail(settings_for(server.port()), kMail);

    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(*error, "server 127.0.0.1:" + std::to_string(server.port()) +
                          " refused RCPT TO:<oncall@example.com>: 550 5.1.1 no such user");
    EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SendMail, GreetingRefused) {
    Script script;
    script.greeting = "554-fake.test no service\r\n554 go away";
    FakeSmtpServer server{script};

    auto error = send_mail(settings_for(server.port()), kMail);

    ASSERT_TRUE(error.has_value());
    EXPECT_THAT(*error, HasSubstr("refused the session: 554 fake.test no service go away"));
}

TEST(SendMail, MessageRefused) {
    Script script;
    script.end = "552 5.3.4 message too big";
    FakeSmtpServer server{script};

    auto error = send_mail(settings_for(server.port()), kMail);

    ASSERT_TRUE(error.has_value());
    EXPECT_THAT(*error, HasSubstr("refused the message: 552 5.3.4 message too big"));
}

TEST(SendMail, SilentServerTimesOut) {
    Script script;
    script.stall = true;
    FakeSmtpServer server{script};
    SmtpSettings settings = settings_for(server.port());
    settings.timeout = 300ms;

    auto start = Clock::now();
    auto error = send_mail(settings, kMail);
    auto took = Clock::now() - start;

    ASSERT_TRUE(error.has_value());
    EXPECT_THAT(*error, HasSubstr("timed out after 300 ms waiting for the greeting"));
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 2s);
}

TEST(SendMail, ConnectionRefused) {
    // Bound but not listening: the kernel refuses connections to it, and no
    // other process can take the port meanwhile.
    Fd closed(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    ASSERT_EQ(bind(closed.fd, reinterpret_cast<sockaddr*>(&sin), len), 0);
    ASSERT_EQ(getsockname(closed.fd, reinterpret_cast<sockaddr*>(&sin), &len), 0);
    uint16_t port = ntohs(sin.sin_port);

    auto error = send_mail(settings_for(port), kMail);

    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(*error, "server 127.0.0.1:" + std::to_string(port) + ": cannot connect: Connection refused");
}

// "localhost" comes from /etc/hosts, no DNS: it may name ::1 first, where
// nothing listens, and the client must go on to 127.0.0.1.
TEST(SendMail, HostName) {
    FakeSmtpServer server{Script{}};

    EXPECT_EQ(send_mail(settings_for(server.port(), "localhost"), kMail), std::nullopt);
    EXPECT_EQ(server.messages().size(), 1u);
}

TEST(SendMail, NoRecipients) {
    SmtpSettings settings = settings_for(25);
    settings.to.clear();

    EXPECT_EQ(send_mail(settings, kMail), "no recipients (notification_email is empty)");
}

TEST(SendMail, Ipv6Server) {
    if (!ipv6_loopback_available())
        GTEST_SKIP() << "no IPv6 loopback address (::1) in this network namespace";
    FakeSmtpServer server{Script{}, AF_INET6};

    EXPECT_EQ(send_mail(settings_for(server.port(), "::1"), kMail), std::nullopt);
    EXPECT_EQ(send_mail(settings_for(server.port(), "[::1]"), kMail), std::nullopt);
    EXPECT_EQ(server.messages().size(), 2u);
}

TEST(SendMail, Ipv6ServerNamedInErrors) {
    if (!ipv6_loopback_available())
        GTEST_SKIP() << "no IPv6 loopback address (::1) in this network namespace";
    Script script;
    script.mail = "451 4.3.0 try later";
    FakeSmtpServer server{script, AF_INET6};

    auto error = send_mail(settings_for(server.port(), "::1"), kMail);

    ASSERT_TRUE(error.has_value());
    EXPECT_EQ(*error, "server [::1]:" + std::to_string(server.port()) +
                          " refused MAIL FROM:<lbd@lb1.test>: 451 4.3.0 try later");
}

TEST(SmtpNotifier, PostNeverWaitsOnTheServer) {
    Script script;
    script.stall = true;
    FakeSmtpServer server{script};
    SmtpNotifier notifier(settings_for(server.port()), 2);

    notifier.post({"first", "1"});
    // The worker has taken "first" off the queue once it connects.
    ASSERT_TRUE(server.await_connections(1));
    auto start = Clock::now();
    notifier.post({"second", "2"});
    notifier.post({"third", "3"});
    notifier.post({"fourth", "4"});  // pushes out "second"
    // A bound, not a benchmark: the server would keep a waiting post() for 5 s.
    EXPECT_LT(Clock::now() - start, 1s);
    EXPECT_EQ(notifier.dropped(), 1u);
    EXPECT_EQ(notifier.sent(), 0u);

    server.release();
    ASSERT_TRUE(eventually([&] { return notifier.sent() == 3; }));
    EXPECT_EQ(notifier.failed(), 0u);
    EXPECT_EQ(notifier.dropped(), 1u);

    std::vector<std::string> subjects;
    for (const auto& message : server.messages())
        subjects.push_back(header(message, "Subject"));
    EXPECT_THAT(subjects, ElementsAre("first", "third", "fourth"));
}

TEST(SmtpNotifier, CountsFailures) {
    Script script;
    script.mail = "550 5.7.1 sender rejected";
    FakeSmtpServer server{script};
    SmtpNotifier notifier(settings_for(server.port()));

    notifier.post({"one", "1"});
    notifier.post({"two", "2"});

    ASSERT_TRUE(eventually([&] { return notifier.failed() == 2; }));
    EXPECT_EQ(notifier.sent(), 0u);
    EXPECT_EQ(notifier.dropped(), 0u);
}

TEST(SmtpNotifier, ShutdownBoundedByTheTimeout) {
    Script script;
    script.stall = true;
    FakeSmtpServer server{script};
    SmtpSettings settings = settings_for(server.port());
    settings.timeout = 300ms;
    auto notifier = std::make_unique<SmtpNotifier>(settings);
    notifier->post({"in flight", "1"});
    ASSERT_TRUE(server.await_connections(1));
    notifier->post({"queued", "2"});

    auto start = Clock::now();
    notifier.reset();

    EXPECT_LT(Clock::now() - start, 2s);
    EXPECT_EQ(server.messages().size(), 0u);
}

TEST(SmtpNotifier, RejectsAnEmptyQueue) {
    EXPECT_THROW(SmtpNotifier(settings_for(25), 0), std::invalid_argument);
}

TEST(MailBuilders, VrrpStates) {
    Mail master = vrrp_state_mail("lb1", "VI_1", "MASTER");
    EXPECT_EQ(master.subject, "[lb1] VRRP Instance VI_1 - Entering MASTER state");
    EXPECT_EQ(master.body, "=> VRRP Instance is now owning VRRP VIPs <=");

    Mail backup = vrrp_state_mail("lb1", "VI_1", "BACKUP");
    EXPECT_EQ(backup.subject, "[lb1] VRRP Instance VI_1 - Entering BACKUP state");
    EXPECT_EQ(backup.body, "=> VRRP Instance is nolonger owning VRRP VIPs <=");

    Mail fault = vrrp_state_mail("lb1", "VI_2", "FAULT");
    EXPECT_EQ(fault.subject, "[lb1] VRRP Instance VI_2 - Entering FAULT state");
    EXPECT_EQ(fault.body, "=> VRRP Instance is nolonger owning VRRP VIPs <=");
}

}  // namespace
}  // namespace lbd::notify
