#include "check/smtp_reply.h"

#include "check/printable.h"

#include <string_view>

namespace lbd::check {
namespace {

bool is_code(std::string_view s) {
    return s.size() >= 3 && s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
}

}  // namespace

SmtpReply take_smtp_reply(std::string& received) {
    SmtpReply reply;
    for (size_t pos = 0, lf; (lf = received.find('\n', pos)) != std::string::npos;) {
        std::string_view line(received.data() + pos, lf - pos);
        pos = lf + 1;
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (!is_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
            reply.state = SmtpReply::State::bad;
            reply.line = printable(line);
            return reply;
        }
        if (line.size() > 3 && line[3] == '-') continue;
        reply.state = SmtpReply::State::complete;
        reply.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
        reply.line = printable(line);
        received.erase(0, pos);
        return reply;
    }
    if (received.size() > kMaxSmtpReply) reply.state = SmtpReply::State::too_long;
    return reply;
}

}  // namespace lbd::check
