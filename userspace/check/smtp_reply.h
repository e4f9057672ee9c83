// An SMTP reply as SMTP_CHECK reads it (RFC 5321 section 4.2.1): one or
// more lines of a 3-digit code, with '-' after the code on all lines but the
// last; lines end in CRLF or a bare LF. Pure: bytes in, a verdict out.
#pragma once

#include <cstddef>
#include <string>

namespace lbd::check {

// Far beyond what a server sends (RFC 5321 section 4.5.3.1.5: 512 bytes a
// line): past it, the peer is no SMTP server.
inline constexpr size_t kMaxSmtpReply = 64 * 1024;

struct SmtpReply {
    enum class State {
        incomplete,  // its last line has not come yet
        complete,
        bad,       // a line that is no reply line
        too_long,  // over kMaxSmtpReply without its last line
    };
    State state = State::incomplete;
    int code = 0;      // complete: the code of the last line
    std::string line;  // complete: the last line; bad: the bad one (printable)
};

// The first reply at the front of `received`, taken out of it once complete;
// what follows it stays for the next call.
SmtpReply take_smtp_reply(std::string& received);

}  // namespace lbd::check
