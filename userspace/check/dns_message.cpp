#include "check/dns_message.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <string>
#include <utility>

namespace lbd::check::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxLabel = 63;  // RFC 1035 2.3.4
constexpr size_t kMaxName = 255;
constexpr uint16_t kClassIn = 1;
constexpr uint8_t kFlagQr = 0x80;  // first flags byte: QR, opcode, AA, TC, RD
constexpr uint8_t kFlagRd = 0x01;

constexpr std::pair<std::string_view, uint16_t> kTypes[] = {
    {"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28},
};

constexpr std::array<std::string_view, 11> kRcodes = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

uint16_t be16(std::span<const uint8_t> m, size_t at) { return uint16_t(m[at] << 8 | m[at + 1]); }

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(uint8_t(v >> 8));
    out.push_back(uint8_t(v & 0xff));
}

bool same_ignoring_case(uint8_t a, uint8_t b) { return std::tolower(a) == std::tolower(b); }

}  // namespace

std::optional<uint16_t> type_code(std::string_view type) {
    for (const auto& [name, code] : kTypes)
        if (std::equal(name.begin(), name.end(), type.begin(), type.end(),
                       [](char a, char b) { return a == std::toupper(static_cast<unsigned char>(b)); }))
            return code;
    return std::nullopt;
}

std::string rcode_name(unsigned rcode) {
    return rcode < kRcodes.size() ? std::string(kRcodes[rcode]) : std::to_string(rcode);
}

std::vector<uint8_t> build_query(uint16_t id, std::string_view name, uint16_t type) {
    std::vector<uint8_t> out;
    put16(out, id);
    out.push_back(kFlagRd);
    out.push_back(0);
    put16(out, 1);  // QDCOUNT
    put16(out, 0);  // ANCOUNT
    put16(out, 0);  // NSCOUNT
    put16(out, 0);  // ARCOUNT
    const std::string_view whole = name;
    if (name.ends_with('.')) name.remove_suffix(1);  // "." is the root, as ""
    const size_t name_start = out.size();
    for (bool more = !name.empty(); more;) {
        const size_t dot = name.find('.');
        const std::string_view label = name.substr(0, dot);
        if (label.empty()) throw std::invalid_argument(fmt::format("DNS name '{}' has an empty label", whole));
        if (label.size() > kMaxLabel)
            throw std::invalid_argument(
                fmt::format("DNS name '{}' has a label of {} bytes, over {}", whole, label.size(), kMaxLabel));
        out.push_back(uint8_t(label.size()));
        out.insert(out.end(), label.begin(), label.end());
        more = dot != std::string_view::npos;
        if (more) name.remove_prefix(dot + 1);
    }
    out.push_back(0);
    if (out.size() - name_start > kMaxName)
        throw std::invalid_argument(
            fmt::format("DNS name '{}' is {} bytes encoded, over {}", whole, out.size() - name_start, kMaxName));
    put16(out, type);
    put16(out, kClassIn);
    return out;
}

Verdict check_answer(std::span<const uint8_t> query, std::span<const uint8_t> answer) {
    using Kind = Verdict::Kind;
    if (answer.size() < kHeaderSize)
        return {Kind::ignored, fmt::format("{} bytes, too short for a DNS header", answer.size())};
    if (be16(answer, 0) != be16(query, 0))
        return {Kind::ignored, fmt::format("id {:04x}, not {:04x}", be16(answer, 0), be16(query, 0))};
    if ((answer[2] & kFlagQr) == 0) return {Kind::ignored, "a query, not an answer"};
    const unsigned rcode = answer[3] & 0x0f;
    if (rcode != 0) return {Kind::failed, "rcode " + rcode_name(rcode)};
    const auto question = query.subspan(kHeaderSize);
    const bool same_question = be16(answer, 4) == 1 && answer.size() >= query.size() &&
                               std::equal(question.begin(), question.end() - 4, answer.begin() + kHeaderSize,
                                          same_ignoring_case) &&
                               std::equal(question.end() - 4, question.end(), answer.begin() + query.size() - 4);
    if (!same_question) return {Kind::failed, "answer to another question"};
    const uint16_t answers = be16(answer, 6);
    return {Kind::ok, fmt::format("NOERROR, {} answer{}", answers, answers == 1 ? "" : "s")};
}

}  // namespace lbd::check::dns
