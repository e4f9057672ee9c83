// The few DNS messages DNS_CHECK needs (RFC 1035 section 4.1): the query it
// sends and what an answer to it says. Pure: no sockets, no clock.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lbd::check::dns {

// The QTYPE of a DNS_CHECK type (A NS CNAME SOA MX TXT AAAA, any case);
// nullopt for another.
std::optional<uint16_t> type_code(std::string_view type);

// "NOERROR", "NXDOMAIN", ... (RFC 1035 4.1.1, RFC 2136 2.2); the number for
// one without a name.
std::string rcode_name(unsigned rcode);

// A query with `id`, RD set and one question: `name` (dots between labels,
// a trailing dot or none; "." and "" are the root), `type`, class IN.
// Throws std::invalid_argument for a name with an empty label, a label over
// 63 bytes or over 255 bytes in all.
std::vector<uint8_t> build_query(uint16_t id, std::string_view name, uint16_t type);

// What a datagram that came back says about the server `query` (from
// build_query) was sent to.
struct Verdict {
    enum class Kind {
        ignored,  // not an answer to this query: keep waiting
        ok,
        failed,
    };
    Kind kind = Kind::ignored;
    std::string detail;  // why it failed or was ignored, or what the answer held
};

// ignored: shorter than a header, another id, or QR clear (a query).
// failed: an RCODE other than NOERROR ("rcode NXDOMAIN"), or an answer to
// another question (names compared without case, RFC 4343). ok otherwise,
// even with no answer records: keepalived looks at the RCODE only.
Verdict check_answer(std::span<const uint8_t> query, std::span<const uint8_t> answer);

}  // namespace lbd::check::dns
