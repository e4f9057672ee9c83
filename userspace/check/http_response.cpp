#include "check/http_response.h"

#include "check/printable.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace lbd::check {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return l >= 'a' && l <= 'f' ? l - 'a' + 10 : -1;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

std::string_view trim(std::string_view s) {
    const size_t first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

}  // namespace

HttpResponse::State HttpResponse::feed(std::string_view bytes) {
    if (state_ != State::incomplete) return state_;
    const std::string_view allowed = bytes.substr(0, limit_ - used_);
    size_t pos = 0;
    while (pos < allowed.size() && state_ == State::incomplete) {
        switch (part_) {
        case Part::body_sized:
        case Part::chunk_data: {
            const size_t n = std::min(left_, allowed.size() - pos);
            body_.append(allowed.substr(pos, n));
            pos += n;
            left_ -= n;
            if (left_ > 0) break;
            if (part_ == Part::body_sized)
                complete();
            else
                part_ = Part::chunk_end;
            break;
        }
        case Part::body_to_eof:
            body_.append(allowed.substr(pos));
            pos = allowed.size();
            break;
        case Part::status_line:
        case Part::headers:
        case Part::chunk_size:
        case Part::chunk_end:
        case Part::trailers:
            if (auto line = take_line(allowed, pos)) on_line(*line);
            break;
        }
    }
    used_ += pos;
    if (state_ == State::incomplete && bytes.size() > allowed.size()) too_large();
    return state_;
}

HttpResponse::State HttpResponse::end() {
    if (state_ != State::incomplete) return state_;
    if (part_ == Part::status_line && used_ == 0)
        fail("no data received");
    else if (part_ == Part::status_line || part_ == Part::headers)
        fail("connection closed before the end of the headers");
    else
        complete();
    return state_;
}

std::optional<std::string> HttpResponse::take_line(std::string_view bytes, size_t& pos) {
    const size_t lf = bytes.find('\n', pos);
    if (lf == std::string_view::npos) {
        line_.append(bytes.substr(pos));
        pos = bytes.size();
        return std::nullopt;
    }
    std::string line = std::move(line_);
    line_.clear();
    line.append(bytes.substr(pos, lf - pos));
    pos = lf + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

void HttpResponse::on_line(const std::string& line) {
    switch (part_) {
    case Part::status_line:
        return status_line(line);
    case Part::headers:
        return line.empty() ? headers_done() : header(line);
    case Part::chunk_size:
        return chunk_size(line);
    case Part::chunk_end:
        if (!line.empty()) return fail("bad chunked body: chunk data longer than its size");
        part_ = Part::chunk_size;
        return;
    case Part::trailers:
        if (line.empty()) complete();
        return;
    case Part::body_sized:
    case Part::body_to_eof:
    case Part::chunk_data:  // taken as bytes, not lines
        return;
    }
}

// HTTP-version SP 3DIGIT [SP reason-phrase] (RFC 9112 section 4).
void HttpResponse::status_line(const std::string& line) {
    const size_t sp = line.find(' ');
    const bool ok = line.starts_with("HTTP/") && sp != std::string::npos && line.size() >= sp + 4 &&
                    is_digit(line[sp + 1]) && is_digit(line[sp + 2]) && is_digit(line[sp + 3]) &&
                    (line.size() == sp + 4 || line[sp + 4] == ' ');
    if (!ok) return fail("bad status line: " + printable(line));
    status_ = std::stoi(line.substr(sp + 1, 3));
    part_ = Part::headers;
}

void HttpResponse::header(const std::string& line) {
    const size_t colon = line.find(':');
    // A continuation (obs-fold) or a line that is no field: neither is one
    // of the fields read here.
    if (line.front() == ' ' || line.front() == '\t' || colon == std::string::npos) return;
    const std::string name = lower(trim(std::string_view(line).substr(0, colon)));
    const std::string_view value = trim(std::string_view(line).substr(colon + 1));
    if (name == "content-length") {
        const bool digits = !value.empty() && value.size() <= 18 && std::all_of(value.begin(), value.end(), is_digit);
        if (!digits) return fail("bad Content-Length: " + printable(value));
        const size_t length = std::stoull(std::string(value));
        if (content_length_ && *content_length_ != length) return fail("conflicting Content-Length headers");
        content_length_ = length;
    } else if (name == "transfer-encoding") {
        // chunked is the last coding when there is one (RFC 9112 section 6.1).
        chunked_ = lower(value).ends_with("chunked");
    }
}

// RFC 9112 section 6.3: 1xx, 204 and 304 have no body; Transfer-Encoding
// wins over Content-Length; without either the body runs to the end of the
// connection.
void HttpResponse::headers_done() {
    if (status_ / 100 == 1 || status_ == 204 || status_ == 304) return complete();
    if (chunked_) {
        part_ = Part::chunk_size;
    } else if (content_length_) {
        left_ = *content_length_;
        part_ = Part::body_sized;
        if (left_ == 0) complete();
    } else {
        part_ = Part::body_to_eof;
    }
}

// chunk-size [chunk-ext] (RFC 9112 section 7.1).
void HttpResponse::chunk_size(const std::string& line) {
    size_t size = 0;
    size_t i = 0;
    for (; i < line.size() && hex_value(line[i]) >= 0; ++i) {
        size = size * 16 + static_cast<size_t>(hex_value(line[i]));
        if (size > limit_) return too_large();
    }
    if (i == 0 || (i < line.size() && line[i] != ';' && line[i] != ' ' && line[i] != '\t'))
        return fail("bad chunk size: " + printable(line));
    if (size == 0) {
        part_ = Part::trailers;
        return;
    }
    left_ = size;
    part_ = Part::chunk_data;
}

void HttpResponse::too_large() { fail(fmt::format("response too large: more than {} bytes", limit_)); }

void HttpResponse::fail(std::string why) {
    state_ = State::failed;
    error_ = std::move(why);
}

}  // namespace lbd::check
