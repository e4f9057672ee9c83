#include "ctl/metrics_request.h"

#include <algorithm>
#include <cctype>
#include <optional>

namespace lbd::ctl {
namespace {

struct RequestLine {
    std::string_view method, target, version;
};

// The line at the start of `text`, without its CRLF or LF; `text` moves past it.
std::string_view next_line(std::string_view& text) {
    const size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    return line;
}

// METHOD SP TARGET SP VERSION; nullopt for anything else.
std::optional<RequestLine> request_line(std::string_view line) {
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return std::nullopt;
    RequestLine r{line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1), line.substr(sp2 + 1)};
    if (r.method.empty() || r.target.empty()) return std::nullopt;
    return r;
}

bool same_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Whether a Connection header of the head lists `option` (RFC 9110 7.6.1).
bool connection_has(std::string_view headers, std::string_view option) {
    while (!headers.empty()) {
        const std::string_view line = next_line(headers);
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos || !same_ignoring_case(trim(line.substr(0, colon)), "connection"))
            continue;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty()) {
            const size_t comma = value.find(',');
            if (same_ignoring_case(trim(value.substr(0, comma)), option)) return true;
            value.remove_prefix(comma == std::string_view::npos ? value.size() : comma + 1);
        }
    }
    return false;
}

MetricsRequest refused(int status, std::string_view reason, std::string_view body) {
    MetricsRequest r;
    r.status = status;
    r.reason = reason;
    r.body = body;
    return r;
}

}  // namespace

size_t request_head_end(std::string_view in) {
    for (size_t lf = in.find('\n'); lf != std::string_view::npos; lf = in.find('\n', lf + 1)) {
        const std::string_view rest = in.substr(lf + 1);
        if (rest.starts_with('\n')) return lf + 2;
        if (rest.starts_with("\r\n")) return lf + 3;
    }
    return std::string_view::npos;
}

MetricsRequest judge_request(std::string_view head) {
    // Empty lines before the request line may be skipped (RFC 9112 2.2).
    while (head.starts_with('\n') || head.starts_with("\r\n")) head.remove_prefix(head.front() == '\r' ? 2 : 1);
    const auto line = request_line(next_line(head));
    if (!line) return refused(400, "Bad Request", "not an HTTP request line\n");
    if (line->version != "HTTP/1.0" && line->version != "HTTP/1.1") {
        if (line->version.starts_with("HTTP/"))
            return refused(505, "HTTP Version Not Supported", "HTTP/1.0 and HTTP/1.1 only\n");
        return refused(400, "Bad Request", "not an HTTP request line\n");
    }
    MetricsRequest r;
    r.keep_alive = line->version == "HTTP/1.1" ? !connection_has(head, "close") : connection_has(head, "keep-alive");
    r.with_body = line->method != "HEAD";
    if (line->method != "GET" && line->method != "HEAD") {
        r.status = 405;
        r.reason = "Method Not Allowed";
        r.body = "GET or HEAD only\n";
        r.headers = "Allow: GET, HEAD\r\n";
        r.with_body = true;
        return r;
    }
    if (line->target.substr(0, line->target.find('?')) != "/metrics") {
        r.status = 404;
        r.reason = "Not Found";
        r.body = "lbd serves its metrics at /metrics\n";
        return r;
    }
    r.kind = MetricsRequest::Kind::metrics;
    r.status = 200;
    r.reason = "OK";
    r.body = {};
    return r;
}

}  // namespace lbd::ctl
