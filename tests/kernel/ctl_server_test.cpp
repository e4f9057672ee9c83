// ctl::Server with real unix sockets: requests answered in order, and what
// it refuses: malformed JSON, a missing or other version, an unknown
// command, a request over the size limit, a peer that is neither root nor
// lbd's user, one connection too many, a client that stalls.
#include "ctl/protocol.h"
#include "ctl/server.h"
#include "kernel_test.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// Every umask() call of the process: this definition wins over libc's for
// the code linked into the test, lbd's libraries included.
std::atomic<int> g_umask_calls{0};
extern "C" mode_t umask(mode_t mask) noexcept {
    ++g_umask_calls;
    return static_cast<mode_t>(syscall(SYS_umask, mask));
}

namespace lbd::ctl {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class CtlServer : public ::testing::Test {
protected:
    void SetUp() override {
        LBD_REQUIRE_NETNS();
        dir_ = std::filesystem::temp_directory_path() / fmt::format("lbd-ctl-{}", getpid());
        path_ = (dir_ / "t.sock").string();
    }
    void TearDown() override {
        stop();
        server_.reset();
        std::filesystem::remove_all(dir_);
    }

    // The server, served on a thread as the daemon's loop would.
    void start(Server::Limits limits = Server::default_limits()) {
        server_.emplace(loop_, path_,
                        [](const std::string& command, const json& args) -> json {
                            if (command == "echo") return args;
                            if (command == "refuse") throw RequestError("no, because");
                            if (command == "crash") throw std::runtime_error("boom");
                            throw RequestError("unknown command '" + command + "'");
                        },
                        limits);
        thread_ = std::thread([this] { loop_.run(); });
    }

    void stop() {
        if (!thread_.joinable()) return;
        loop_.stop();
        thread_.join();
    }

    int connect_client() {
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
        EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
        timeval tv{3, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        return fd;
    }

    // Every reply line until `lines` came or the server closed.
    static std::vector<json> replies(int fd, size_t lines, bool* closed = nullptr) {
        std::string in;
        std::vector<json> out;
        char buf[4096];
        while (out.size() < lines) {
            const ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0) {
                if (closed) *closed = n == 0;
                break;
            }
            in.append(buf, size_t(n));
            for (size_t nl; (nl = in.find('\n')) != std::string::npos; in.erase(0, nl + 1))
                out.push_back(json::parse(in.substr(0, nl)));
        }
        return out;
    }

    static void send_all(int fd, const std::string& s) {
        ASSERT_EQ(send(fd, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size()));
    }

    std::filesystem::path dir_;
    std::string path_;
    Loop loop_;
    std::optional<Server> server_;  // served on loop_
    std::thread thread_;            // runs loop_
};

TEST_F(CtlServer, RequestsAreAnsweredInOrderOnOneConnection) {
    start();
    EXPECT_EQ(std::filesystem::status(path_).permissions() & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    const int fd = connect_client();
    send_all(fd, R"({"version":1,"command":"echo","args":{"n":1}})" "\n"
                 R"({"version":1,"command":"refuse"})" "\n"
                 R"({"version":1,"command":"crash"})" "\n");
    const auto r = replies(fd, 3);
    ASSERT_EQ(r.size(), 3u);
    EXPECT_EQ(r[0], (json{{"version", 1}, {"ok", true}, {"result", {{"n", 1}}}}));
    EXPECT_EQ(r[1], (json{{"version", 1}, {"ok", false}, {"error", "no, because"}}));
    EXPECT_EQ(r[2]["error"], "crash failed: boom");  // a handler's failure is an answer, not the end
    close(fd);
}

TEST_F(CtlServer, MalformedRequestsGetTheirReason) {
    start();
    const int fd = connect_client();
    send_all(fd, "this is not json\n"
                 R"({"command":"echo"})" "\n"
                 R"({"version":2,"command":"echo"})" "\n"
                 R"({"version":1})" "\n"
                 R"({"version":1,"command":"echo","args":[1]})" "\n"
                 R"({"version":1,"command":"nosuch"})" "\n");
    const auto r = replies(fd, 6);
    ASSERT_EQ(r.size(), 6u);
    EXPECT_TRUE(r[0]["error"].get<std::string>().starts_with("malformed request: ")) << r[0];
    EXPECT_EQ(r[1]["error"], "malformed request: no version");
    EXPECT_EQ(r[2]["error"], "protocol version 2 is not spoken here (lbd speaks 1)");
    EXPECT_EQ(r[3]["error"], "malformed request: no command");
    EXPECT_EQ(r[4]["error"], "malformed request: args must be an object");
    EXPECT_EQ(r[5]["error"], "unknown command 'nosuch'");
    for (const auto& x : r) EXPECT_FALSE(x["ok"].get<bool>());
    close(fd);
}

// Found by fuzz.ctl_request: the parser's message quotes the bytes it choked
// on, and a reply that is no UTF-8 could not be written (the exception
// would have ended the daemon).
TEST_F(CtlServer, BytesThatAreNoUtf8AreRefusedInAReplyThatIs) {
    start();
    const int fd = connect_client();
    send_all(fd, "{\"version\": 1, \"command\": \"echo\", \"args\": {\"a\": tru\x82\xff}}\n"
                 R"({"version":1,"command":"echo","args":{"still":"here"}})" "\n");
    const auto r = replies(fd, 2);
    ASSERT_EQ(r.size(), 2u);
    EXPECT_TRUE(r[0]["error"].get<std::string>().starts_with("malformed request: ")) << r[0];
    EXPECT_EQ(r[1]["result"]["still"], "here");
    close(fd);
}

TEST_F(CtlServer, AnOversizedRequestIsRefusedAndTheConnectionClosed) {
    start({1024, 16, 2s});
    const int fd = connect_client();
    send_all(fd, std::string(2000, 'x'));
    bool closed = false;
    const auto r = replies(fd, 2, &closed);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["error"], "request over 1024 bytes");
    EXPECT_TRUE(closed);
    close(fd);
}

// What another user gets: `answer` of the first reply, or how connect failed.
std::string as_nobody(const std::string& path) {
    int pipefd[2];
    if (pipe(pipefd) != 0) return "pipe failed";
    const pid_t child = fork();
    if (child == 0) {
        close(pipefd[0]);
        std::string answer;
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
        timeval tv{3, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
            answer = std::string("connect: ") + strerror(errno);
        } else {
            char buf[512];
            const ssize_t n = recv(fd, buf, sizeof(buf), 0);
            answer = n > 0 ? std::string(buf, size_t(n)) : "nothing";
        }
        _exit(write(pipefd[1], answer.data(), answer.size()) > 0 ? 0 : 3);
    }
    close(pipefd[1]);
    std::string got;
    char buf[512];
    for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) > 0;) got.append(buf, size_t(n));
    close(pipefd[0]);
    int status = 0;
    waitpid(child, &status, 0);
    return got;
}

// The umask is the process's: a change, however short, is inherited by the
// scripts other threads fork meanwhile. The socket is 0600 without one.
TEST_F(CtlServer, TheSocketIsMadeOwnerOnlyWithoutTouchingTheUmask) {
    const mode_t saved = static_cast<mode_t>(syscall(SYS_umask, 0));
    const int before = g_umask_calls.load();
    start();
    EXPECT_EQ(g_umask_calls.load(), before) << "the control socket changed the process umask";
    EXPECT_EQ(static_cast<mode_t>(syscall(SYS_umask, saved)), 0u);
    struct stat st{};
    ASSERT_EQ(stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(CtlServer, AnotherUserCannotEvenConnect) {
    start();
    EXPECT_EQ(as_nobody(path_), "connect: Permission denied");  // the socket is 0600
}

TEST_F(CtlServer, APeerThatIsNeitherRootNorLbdsUserIsRefused) {
    start();
    // Past the file's mode (an operator's chmod), the peer's credentials still count.
    std::filesystem::permissions(path_, std::filesystem::perms::all);
    const json r = json::parse(as_nobody(path_));
    EXPECT_FALSE(r["ok"].get<bool>());
    EXPECT_EQ(r["error"], "permission denied: uid 65534 is neither root nor lbd's user");
}

TEST_F(CtlServer, OneConnectionTooManyIsToldSo) {
    start({1024, 2, 5s});
    const int a = connect_client(), b = connect_client();
    send_all(a, R"({"version":1,"command":"echo"})" "\n");
    ASSERT_EQ(replies(a, 1).size(), 1u);  // both are in
    const int c = connect_client();
    bool closed = false;
    const auto r = replies(c, 2, &closed);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["error"], "too many connections (2 at once)");
    EXPECT_TRUE(closed);
    close(a);
    close(b);
    close(c);
}

TEST_F(CtlServer, AClientThatStallsIsClosedAndStallsNobodyElse) {
    start({1024, 16, 300ms});
    const int stalled = connect_client();
    send_all(stalled, R"({"version":1,"comm)");  // and nothing more
    const int other = connect_client();
    send_all(other, R"({"version":1,"command":"echo","args":{"x":2}})" "\n");
    const auto r = replies(other, 1);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0]["result"]["x"], 2);
    const auto began = std::chrono::steady_clock::now();
    bool closed = false;
    EXPECT_TRUE(replies(stalled, 1, &closed).empty());
    EXPECT_TRUE(closed);
    EXPECT_LT(std::chrono::steady_clock::now() - began, 2s);
    close(stalled);
    close(other);
}

TEST_F(CtlServer, ASecondServerOnALiveSocketIsRefusedAndAStaleOneReplaced) {
    start();
    Loop other;
    EXPECT_THROW(Server(other, path_, [](const std::string&, const json&) { return json(); }), std::runtime_error);
    stop();
    server_.reset();
    // A socket file nobody answers on (a killed daemon's) is taken over.
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_.c_str());
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    close(fd);
    EXPECT_NO_THROW(Server(other, path_, [](const std::string&, const json&) { return json(); }));
}

}  // namespace
}  // namespace lbd::ctl
