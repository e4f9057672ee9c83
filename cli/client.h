// lbctl's end of the control socket (userspace/ctl/protocol.h): one
// connection per request, bounded by the protocol's timeout.
#pragma once

#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace lbctl {

// Exit codes (lbctl(8)).
enum Exit : int {
    kOk = 0,
    kRefused = 1,      // the daemon answered with an error; `check`: the file is invalid
    kUsage = 2,        // bad command line
    kUnreachable = 3,  // no daemon answers on the socket
    kProtocol = 4,     // an answer lbctl cannot read
};

// What went wrong, with the exit code it maps to.
class Failure : public std::runtime_error {
public:
    Failure(Exit code, const std::string& what) : std::runtime_error(what), code_(code) {}
    Exit code() const { return code_; }

private:
    Exit code_;
};

// The result of `command`, or a Failure.
nlohmann::json call(const std::string& socket, const std::string& command,
                    const nlohmann::json& args = nlohmann::json::object());

}  // namespace lbctl
