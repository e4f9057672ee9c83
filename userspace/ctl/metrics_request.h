// What the metrics listener makes of a request head (RFC 9112): where the
// head ends, and what to answer. Pure: a client's bytes in, a verdict out,
// so that the parsing is fuzzed without sockets (tests/fuzz/).
#pragma once

#include <cstddef>
#include <string_view>

namespace lbd::ctl {

// Just past the empty line that ends a request head, or npos. A bare LF ends
// a line as well as CRLF (RFC 9112 2.2).
size_t request_head_end(std::string_view in);

struct MetricsRequest {
    // metrics: GET or HEAD of /metrics (a query string is ignored); refused:
    // anything else, answered with status, reason, body and extra headers.
    enum class Kind { metrics, refused } kind = Kind::refused;
    bool with_body = true;  // false for HEAD
    // HTTP/1.1 unless "Connection: close", HTTP/1.0 only with "Connection:
    // keep-alive" (RFC 9112 9.3); never after a refusal of a bad request.
    bool keep_alive = false;
    int status = 400;
    std::string_view reason = "Bad Request";
    std::string_view body = "not an HTTP request line\n";
    std::string_view headers;  // extra header lines, each ending in CRLF
};

// `head` as request_head_end() cut it. GET and HEAD of /metrics; other
// paths 404, other methods 405, a line that is no request line 400, HTTP
// versions other than 1.0 and 1.1 505.
MetricsRequest judge_request(std::string_view head);

}  // namespace lbd::ctl
