#include "check/probes.h"
#include "check/socket.h"

#include <fmt/format.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <linux/icmp.h>  // after netinet/in.h, which keeps it from defining in6_addr again

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;

ProbeResult failed(std::string detail) { return {false, std::move(detail), std::nullopt}; }
ProbeResult passed(std::string detail) { return {true, std::move(detail), std::nullopt}; }

constexpr size_t kEchoHeader = 8;  // type, code, checksum, identifier, sequence (RFC 792, RFC 4443 4.1)
constexpr size_t kPayload = 56;    // ping's default

// Raw sockets see every echo reply from the target, other pingers' too: each
// probe has its identifier, starting at a random one so that two daemons
// pinging the same host do not share theirs.
uint16_t next_identifier() {
    static std::atomic<uint16_t> next{static_cast<uint16_t>(std::random_device{}())};
    return next++;
}

// RFC 1071: the one's complement of the one's complement sum of 16-bit words.
uint16_t checksum(std::span<const uint8_t> data) {
    uint32_t sum = 0;
    for (size_t i = 0; i < data.size(); i += 2) sum += uint32_t(data[i] << 8 | (i + 1 < data.size() ? data[i + 1] : 0));
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

std::vector<uint8_t> echo_request(bool v6, uint16_t id, uint16_t seq) {
    constexpr std::string_view kText = "lbd PING_CHECK ";
    std::vector<uint8_t> m(kEchoHeader + kPayload);
    m[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO;
    m[4] = uint8_t(id >> 8);
    m[5] = uint8_t(id);
    m[6] = uint8_t(seq >> 8);
    m[7] = uint8_t(seq);
    for (size_t i = 0; i < kPayload; ++i) m[kEchoHeader + i] = uint8_t(kText[i % kText.size()]);
    if (!v6) {  // the kernel computes ICMPv6's, over its pseudo-header (RFC 3542 3.1)
        const uint16_t sum = checksum(m);
        m[2] = uint8_t(sum >> 8);
        m[3] = uint8_t(sum);
    }
    return m;
}

// The echo reply to `request`: the same identifier, sequence and data.
bool answers(std::span<const uint8_t> reply, const std::vector<uint8_t>& request, bool v6) {
    return reply.size() == request.size() && reply[0] == (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY) &&
           reply[1] == 0 && std::equal(request.begin() + 4, request.end(), reply.begin() + 4) &&
           (v6 || checksum(reply) == 0);
}

// Only echo replies reach the socket's queue; ICMP errors about our
// requests still fail recv(), soft ones (host unreachable) too: IP_RECVERR.
void keep_echo_replies_only(int fd, bool v6) {
    if (v6) {
        icmp6_filter filter;
        ICMP6_FILTER_SETBLOCKALL(&filter);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
        if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) < 0)
            throw std::system_error(errno, std::generic_category(), "ICMP6_FILTER");
    } else {
        icmp_filter filter{~(1u << ICMP_ECHOREPLY)};  // a bit set drops that type
        if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter)) < 0)
            throw std::system_error(errno, std::generic_category(), "ICMP_FILTER");
    }
    const int on = 1;
    if (setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on, sizeof(on)) < 0)
        throw std::system_error(errno, std::generic_category(), "IP_RECVERR");
}

class PingProbe final : public Probe {
public:
    PingProbe(const config::Checker& checker, Loop& loop)
        : loop_(loop), target_(raw_target(checker.target)), timeout_(checker.timing.connect_timeout) {}
    ~PingProbe() override { cancel(); }

    void start(Done done) override {
        cancel();
        done_ = std::move(done);
        const bool v6 = target_.connect_ip.family == AF_INET6;
        request_ = echo_request(v6, id_, ++sequence_);
        try {
            fd_ = open_socket(target_, SOCK_RAW, v6 ? int(IPPROTO_ICMPV6) : int(IPPROTO_ICMP)).fd;
            keep_echo_replies_only(fd_.get(), v6);
        } catch (const std::system_error& e) {
            return fail_soon(e.what());
        }
        if (send(fd_.get(), request_.data(), request_.size(), 0) < 0)
            return fail_soon(fmt::format("send: {}", std::strerror(errno)));
        loop_.watch(fd_.get(), EPOLLIN, [this, v6](uint32_t) { on_readable(v6); });
        timer_ = loop_.after(timeout_, [this] {
            timer_ = 0;
            finish(failed("timeout: no echo reply"));
        });
    }

    void cancel() override {
        if (fd_) {
            loop_.unwatch(fd_.get());
            fd_.reset();
        }
        if (timer_ != 0) loop_.cancel(timer_);
        timer_ = 0;
        done_ = nullptr;
    }

private:
    // A raw socket has no ports: the real server's port means nothing here.
    static config::CheckTarget raw_target(config::CheckTarget t) {
        t.connect_port = 0;
        t.bind_port = 0;
        return t;
    }

    // done() only from the loop, never from start().
    void fail_soon(std::string detail) {
        fd_.reset();
        timer_ = loop_.after(0ms, [this, detail = std::move(detail)] {
            timer_ = 0;
            finish(failed(detail));
        });
    }

    void on_readable(bool v6) {
        std::array<uint8_t, 1500> buf;
        const ssize_t n = recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN) return;
            return finish(failed(fmt::format("recv: {}", std::strerror(errno))));
        }
        std::span<const uint8_t> icmp(buf.data(), size_t(n));
        if (!v6 && !icmp.empty()) {  // IPv4 raw sockets get the IP header too
            const size_t header = size_t(buf[0] & 0x0f) * 4;
            if (icmp.size() < header) return;
            icmp = icmp.subspan(header);
        }
        if (answers(icmp, request_, v6)) finish(passed(fmt::format("echo reply, sequence {}", sequence_)));
    }

    void finish(ProbeResult result) {
        Done done = std::move(done_);
        cancel();
        done(std::move(result));
    }

    Loop& loop_;
    const config::CheckTarget target_;
    const config::Duration timeout_;
    const uint16_t id_ = next_identifier();
    uint16_t sequence_ = 0;
    std::vector<uint8_t> request_;
    bpf::UniqueFd fd_;
    Loop::TimerId timer_ = 0;
    Done done_;
};

}  // namespace

std::unique_ptr<Probe> make_ping_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<PingProbe>(checker, context.loop);
}

}  // namespace lbd::check
