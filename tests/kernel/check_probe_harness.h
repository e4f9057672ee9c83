// What the datagram and script probes' tests (UDP_CHECK, DNS_CHECK,
// PING_CHECK, MISC_CHECK) share: the context a probe is made with, one
// attempt run on the probe's loop with done()'s contract checked, a UDP
// server on that loop, free ports, and the namespace's links and sysctls.
//
// The stream probes' run_attempt() (check_stream_servers.h) stays apart: it
// also asserts that nothing is left watched or timed after an attempt, which
// these tests cannot, since their servers and the children's fd live on the
// probe's loop.
#pragma once

#include "util/loop.h"
#include "check/probe.h"
#include "config/model.h"
#include "util/child_process.h"

#include <gtest/gtest.h>

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
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lbd::check::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using Bytes = std::vector<uint8_t>;

constexpr milliseconds kMargin = 250ms;  // how late past its timeout an attempt may end

inline Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

inline config::IpAddr addr(const char* text) { return *config::IpAddr::parse(text); }

// What a probe needs besides its checker.
struct Harness {
    Loop loop;
    ChildProcesses children;
    config::GlobalDefs global;
    config::VirtualServer vs;
    config::RealServer real;
    ProbeContext context() { return {loop, children, global, vs, real}; }
};

struct Outcome {
    std::optional<ProbeResult> result;
    milliseconds took{};
};

// One attempt, the loop served until done() (at most `limit`).
inline Outcome attempt(Loop& loop, Probe& probe, milliseconds limit = 3s) {
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

inline sockaddr_storage sockaddr_of(const config::IpAddr& a, uint16_t port, socklen_t& len) {
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

inline uint16_t port_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len), 0);
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                          : reinterpret_cast<sockaddr_in&>(ss).sin_port);
}

// A UDP port nobody listens on: bound once, then let go.
inline uint16_t free_port(const char* address) {
    const config::IpAddr a = addr(address);
    const int fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    socklen_t len;
    const sockaddr_storage ss = sockaddr_of(a, 0, len);
    EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&ss), len), 0);
    const uint16_t port = port_of(fd);
    close(fd);
    return port;
}

using Replies = std::vector<Bytes>;

// A UDP server on the test's loop. `answer` gives the datagrams sent back
// for each one that comes (none: silence), `delay` after it came.
class UdpServer {
public:
    using Answer = std::function<Replies(const Bytes& request)>;
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
    UdpServer(const UdpServer&) = delete;
    UdpServer& operator=(const UdpServer&) = delete;

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
        auto send_all = [this, replies = answer_(requests.back()), from, len] {
            for (const Bytes& r : replies)
                sendto(fd_, r.data(), r.size(), 0, reinterpret_cast<const sockaddr*>(&from), len);
        };
        if (delay_ == 0ms)
            send_all();
        else
            pending_.push_back(loop_.after(delay_, send_all));
    }

    Loop& loop_;
    Answer answer_;
    milliseconds delay_;
    int fd_ = -1;
    std::vector<Loop::TimerId> pending_;
};

inline int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

inline void put(const std::string& path, const std::string& value) {
    std::ofstream out(path);
    out << value << "\n";
    EXPECT_TRUE(out.flush()) << "writing " << path;
}

// Takes back what a test added to the namespace, which the other tests
// share when they run in one process.
class Undo {
public:
    explicit Undo(std::string cmd) : cmd_(std::move(cmd)) {}
    ~Undo() { run(cmd_); }
    Undo(const Undo&) = delete;
    Undo& operator=(const Undo&) = delete;

private:
    std::string cmd_;
};

// A link whose other end has no host: ARP for 10.255.0.3 goes unanswered.
[[nodiscard]] inline std::unique_ptr<Undo> link_to_nobody() {
    EXPECT_EQ(run("ip link add lbd-void type veth peer name lbd-void-peer"), 0);
    auto undo = std::make_unique<Undo>("ip link del lbd-void");
    EXPECT_EQ(run("ip addr add 10.255.0.254/24 dev lbd-void"), 0);
    EXPECT_EQ(run("ip link set lbd-void up"), 0);
    EXPECT_EQ(run("ip link set lbd-void-peer up"), 0);
    return undo;
}

}  // namespace lbd::check::test
