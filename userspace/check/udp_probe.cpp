#include "check/probes.h"
#include "check/socket.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
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

// keepalived's datagram when no payload is set, so that servers that
// recognise it keep doing so.
std::vector<uint8_t> default_payload() {
    constexpr std::string_view kText = "keepalived check - ";
    std::vector<uint8_t> out(32);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(kText[i % kText.size()]);
    return out;
}

int nibble(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// keepalived's comparison: over the bytes the reply and the pattern both
// have, so a short reply is min_reply_length's business; 'x' is any nibble.
// Empty when they match.
std::string mismatch(std::span<const uint8_t> reply, std::string_view pattern) {
    for (size_t at = 0; at < pattern.size() && at / 2 < reply.size(); ++at) {
        const uint8_t byte = reply[at / 2];
        const int got = at % 2 == 0 ? byte >> 4 : byte & 0x0f;
        if (pattern[at] != 'x' && got != nibble(pattern[at]))
            return fmt::format("reply data mismatch at byte {} (got {:02x}, expected {})", at / 2, byte,
                               pattern.substr(at - at % 2, 2));
    }
    return {};
}

class UdpProbe final : public Probe {
public:
    UdpProbe(const config::Checker& checker, Loop& loop)
        : loop_(loop),
          target_(checker.target),
          timeout_(checker.timing.connect_timeout),
          udp_(std::get<config::UdpCheck>(checker.detail)),
          reply_(std::max<size_t>(1, (udp_.reply_pattern.size() + 1) / 2)) {
        if (udp_.payload.empty()) udp_.payload = default_payload();
    }
    ~UdpProbe() override { cancel(); }

    void start(Done done) override {
        cancel();
        done_ = std::move(done);
        try {
            fd_ = open_socket(target_, SOCK_DGRAM, IPPROTO_UDP).fd;
        } catch (const std::system_error& e) {
            return fail_soon(e.what());
        }
        // Host and network unreachable too, not only port unreachable.
        const int on = 1;
        const bool v6 = target_.connect_ip.family == AF_INET6;
        if (setsockopt(fd_.get(), v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on, sizeof(on)) < 0)
            return fail_soon(fmt::format("IP_RECVERR: {}", std::strerror(errno)));
        const ssize_t sent = send(fd_.get(), udp_.payload.data(), udp_.payload.size(), 0);
        if (sent < 0) return fail_soon(fmt::format("send: {}", std::strerror(errno)));
        if (size_t(sent) != udp_.payload.size())
            return fail_soon(fmt::format("send: {} of {} bytes sent", sent, udp_.payload.size()));
        loop_.watch(fd_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
        timer_ = loop_.after(timeout_, [this] {
            timer_ = 0;
            finish(udp_.require_reply ? failed("timeout: no reply") : passed("no reply, none required"));
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
    // done() only from the loop, never from start().
    void fail_soon(std::string detail) {
        fd_.reset();
        timer_ = loop_.after(0ms, [this, detail = std::move(detail)] {
            timer_ = 0;
            finish(failed(detail));
        });
    }

    void on_readable() {
        // MSG_TRUNC: the datagram's whole length, whatever fits the buffer.
        const ssize_t n = recv(fd_.get(), reply_.data(), reply_.size(), MSG_TRUNC);
        if (n < 0) {
            if (errno == EAGAIN) return;
            return finish(failed(fmt::format("recv: {}", std::strerror(errno))));
        }
        finish(judge(size_t(n)));
    }

    ProbeResult judge(size_t length) const {
        if (udp_.reply_pattern.empty()) return passed(fmt::format("reply of {} bytes", length));
        if (length < udp_.min_reply_length)
            return failed(
                fmt::format("reply of {} bytes, under min_reply_length {}", length, udp_.min_reply_length));
        if (length > udp_.max_reply_length)
            return failed(
                fmt::format("reply of {} bytes, over max_reply_length {}", length, udp_.max_reply_length));
        const auto got = std::span<const uint8_t>(reply_).first(std::min(length, reply_.size()));
        if (std::string why = mismatch(got, udp_.reply_pattern); !why.empty()) return failed(std::move(why));
        return passed(fmt::format("reply of {} bytes matches", length));
    }

    void finish(ProbeResult result) {
        Done done = std::move(done_);
        cancel();
        done(std::move(result));
    }

    Loop& loop_;
    const config::CheckTarget target_;
    const config::Duration timeout_;
    config::UdpCheck udp_;
    std::vector<uint8_t> reply_;  // as much of a reply as the pattern covers
    bpf::UniqueFd fd_;
    Loop::TimerId timer_ = 0;
    Done done_;
};

}  // namespace

std::unique_ptr<Probe> make_udp_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<UdpProbe>(checker, context.loop);
}

}  // namespace lbd::check
