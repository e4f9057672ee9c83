#include "check/datagram.h"
#include "check/probe_types.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lbd::check {
namespace {

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

// As much of a reply as the pattern covers.
size_t pattern_bytes(const config::Checker& checker) {
    return std::max<size_t>(1, (std::get<config::UdpCheck>(checker.detail).reply_pattern.size() + 1) / 2);
}

class UdpProbe final : public DatagramProbe {
public:
    UdpProbe(const config::Checker& checker, Loop& loop)
        : DatagramProbe(loop, checker.target, checker.timing.connect_timeout, pattern_bytes(checker)),
          udp_(std::get<config::UdpCheck>(checker.detail)) {
        if (udp_.payload.empty()) udp_.payload = default_payload();
    }

    void start(Done done) override {
        begin(std::move(done));
        exchange(udp_.payload);
    }

private:
    std::optional<ProbeResult> reply(std::span<const uint8_t> got, size_t length) override {
        if (udp_.reply_pattern.empty()) return passed(fmt::format("reply of {} bytes", length));
        if (length < udp_.min_reply_length)
            return failed(
                fmt::format("reply of {} bytes, under min_reply_length {}", length, udp_.min_reply_length));
        if (length > udp_.max_reply_length)
            return failed(
                fmt::format("reply of {} bytes, over max_reply_length {}", length, udp_.max_reply_length));
        if (std::string why = mismatch(got, udp_.reply_pattern); !why.empty()) return failed(std::move(why));
        return passed(fmt::format("reply of {} bytes matches", length));
    }

    ProbeResult silence() const override {
        return udp_.require_reply ? failed("timeout: no reply") : passed("no reply, none required");
    }

    config::UdpCheck udp_;
};

}  // namespace

std::unique_ptr<Probe> make_udp_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<UdpProbe>(checker, context.loop);
}

}  // namespace lbd::check
