#include "check/datagram.h"
#include "check/dns_message.h"
#include "check/probe_types.h"

#include <fmt/format.h>

#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <utility>
#include <variant>
#include <vector>

namespace lbd::check {
namespace {

// What is read of an answer: only its header and question matter, and those
// fit well within the 512 bytes of a UDP answer without EDNS (RFC 1035 4.2.1).
constexpr size_t kMaxAnswer = 512;

class DnsProbe final : public DatagramProbe {
public:
    DnsProbe(const config::Checker& checker, Loop& loop)
        : DatagramProbe(loop, checker.target, checker.timing.connect_timeout, kMaxAnswer),
          dns_(std::get<config::DnsCheck>(checker.detail)),
          random_(std::random_device{}()) {}

    void start(Done done) override {
        begin(std::move(done));
        const auto type = dns::type_code(dns_.type);
        if (!type) return fail_soon(fmt::format("unknown query type {}", dns_.type));
        try {
            query_ = dns::build_query(static_cast<uint16_t>(random_()), dns_.name, *type);
        } catch (const std::invalid_argument& e) {
            return fail_soon(e.what());
        }
        exchange(query_);
    }

private:
    std::optional<ProbeResult> reply(std::span<const uint8_t> datagram, size_t) override {
        using Kind = dns::Verdict::Kind;
        dns::Verdict v = dns::check_answer(query_, datagram);
        if (v.kind == Kind::ignored) return std::nullopt;
        return ProbeResult{v.kind == Kind::ok, std::move(v.detail), std::nullopt};
    }

    ProbeResult silence() const override { return {false, "timeout: no answer", std::nullopt}; }

    const config::DnsCheck dns_;
    std::mt19937 random_;
    std::vector<uint8_t> query_;
};

}  // namespace

std::unique_ptr<Probe> make_dns_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<DnsProbe>(checker, context.loop);
}

}  // namespace lbd::check
