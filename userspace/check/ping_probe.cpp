#include "check/datagram.h"
#include "check/probe_types.h"
#include "check/socket.h"

#include <fmt/format.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <linux/icmp.h>  // after netinet/in.h, which keeps it from defining in6_addr again

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace lbd::check {
namespace {

ProbeResult failed(std::string detail) { return {false, std::move(detail), std::nullopt}; }
ProbeResult passed(std::string detail) { return {true, std::move(detail), std::nullopt}; }

constexpr size_t kEchoHeader = 8;   // type, code, checksum, identifier, sequence (RFC 792, RFC 4443 4.1)
constexpr size_t kPayload = 56;     // ping's default
constexpr size_t kMaxReply = 1500;  // an MTU: room for an IPv4 header and our echo, with some to spare

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
// requests still fail recv() (IP_RECVERR, which DatagramProbe sets).
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
}

// A raw socket has no ports: the real server's port means nothing here.
config::CheckTarget raw_target(config::CheckTarget t) {
    t.connect_port = 0;
    t.bind_port = 0;
    return t;
}

class PingProbe final : public DatagramProbe {
public:
    PingProbe(const config::Checker& checker, Loop& loop)
        : DatagramProbe(loop, raw_target(checker.target), checker.timing.connect_timeout, kMaxReply) {}

    void start(Done done) override {
        begin(std::move(done));
        request_ = echo_request(v6(), id_, ++sequence_);
        exchange(request_);
    }

private:
    bool v6() const { return target_.connect_ip.family == AF_INET6; }

    UniqueFd connected_socket() override {
        UniqueFd fd = open_socket(target_, SOCK_RAW, v6() ? int(IPPROTO_ICMPV6) : int(IPPROTO_ICMP)).fd;
        keep_echo_replies_only(fd.get(), v6());
        return fd;
    }

    std::optional<ProbeResult> reply(std::span<const uint8_t> icmp, size_t) override {
        if (!v6() && !icmp.empty()) {  // IPv4 raw sockets get the IP header too
            const size_t header = size_t(icmp[0] & 0x0f) * 4;
            if (icmp.size() < header) return std::nullopt;
            icmp = icmp.subspan(header);
        }
        if (!answers(icmp, request_, v6())) return std::nullopt;
        return passed(fmt::format("echo reply, sequence {}", sequence_));
    }

    ProbeResult silence() const override { return failed("timeout: no echo reply"); }

    const uint16_t id_ = next_identifier();
    uint16_t sequence_ = 0;
    std::vector<uint8_t> request_;
};

}  // namespace

std::unique_ptr<Probe> make_ping_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<PingProbe>(checker, context.loop);
}

}  // namespace lbd::check
