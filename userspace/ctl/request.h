// One line of the control protocol (ctl/protocol.h) answered: the request
// parsed and checked, the handler called, the reply line made. No sockets,
// so that the control socket's parsing is fuzzed on its own (tests/fuzz/).
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace lbd::ctl {

// Returns the command's result; throws RequestError for a request it
// refuses (the message is the reply's error).
using Handler = std::function<nlohmann::json(const std::string& command, const nlohmann::json& args)>;

// The reply line (newline included) to one request line (without its
// newline). Malformed JSON, a missing or other version, a missing command,
// args that are not an object, a handler's refusal or failure: each is an
// `ok: false` reply with the reason; a failure is logged as well.
std::string answer_request(std::string_view line, const Handler& handler);

// The `ok: false` reply line for `why`, for what the server refuses before
// any request is read (another user, too many connections, a line too long).
std::string refusal(const std::string& why);

}  // namespace lbd::ctl
