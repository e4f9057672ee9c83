// An HTTP/1.x response as HTTP_GET and SSL_GET read it (RFC 9112): the
// status line, the headers, and a body that ends after Content-Length bytes,
// at the last chunk of a chunked body, or where the connection ends. Pure:
// bytes in as they arrive, a verdict out.
//
// Lines may end in CRLF or a bare LF (RFC 9112 section 2.2). A body cut short
// by the end of the connection is taken as it is, as keepalived takes it:
// the status, digest and regex then judge what arrived.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lbd::check {

class HttpResponse {
public:
    static constexpr size_t kDefaultLimit = size_t{4} << 20;

    // Fails a response that needs more than `limit` bytes of the connection.
    explicit HttpResponse(size_t limit = kDefaultLimit) : limit_(limit) {}

    enum class State { incomplete, complete, failed };
    // The next bytes of the connection; bytes after the end of the response
    // are not looked at.
    State feed(std::string_view bytes);
    // The server closed the connection.
    State end();

    State state() const { return state_; }
    int status() const { return status_; }               // once the status line is read
    const std::string& body() const { return body_; }    // without chunked framing
    const std::string& error() const { return error_; }  // failed: why

private:
    enum class Part { status_line, headers, body_sized, body_to_eof, chunk_size, chunk_data, chunk_end, trailers };

    std::optional<std::string> take_line(std::string_view bytes, size_t& pos);
    void on_line(const std::string& line);
    void status_line(const std::string& line);
    void header(const std::string& line);
    void headers_done();
    void chunk_size(const std::string& line);
    void complete() { state_ = State::complete; }
    void too_large();
    void fail(std::string why);

    const size_t limit_;
    State state_ = State::incomplete;
    Part part_ = Part::status_line;
    size_t used_ = 0;   // bytes of the connection taken so far
    std::string line_;  // a line not ended yet
    int status_ = 0;
    std::optional<size_t> content_length_;
    bool chunked_ = false;
    size_t left_ = 0;  // of the sized body or of the chunk
    std::string body_;
    std::string error_;
};

}  // namespace lbd::check
