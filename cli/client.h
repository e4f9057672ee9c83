// lbctl's end of the control socket (userspace/ctl/protocol.h): a
// connection, each request on it bounded by the protocol's timeout.
#pragma once

#include <nlohmann/json.hpp>

#include "ctl/protocol.h"
#include "util/unique_fd.h"

#include <chrono>
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

// One connection to the daemon; requests on it are answered in order, each
// within the protocol's timeout. lbctl uses one per request; a client that
// times requests (bench/weight_bench.cpp) keeps one open.
class Connection {
public:
    explicit Connection(const std::string& socket);

    // The result of `command`, or a Failure.
    nlohmann::json call(const std::string& command, const nlohmann::json& args = nlohmann::json::object());
    // call() in two halves, for a client that watches what the request does
    // before the answer comes.
    void send_request(const std::string& command, const nlohmann::json& args);
    nlohmann::json answer();

    // How long to wait for each answer from now on: the protocol's request
    // timeout unless a command takes longer by design (a reload).
    void wait_up_to(std::chrono::seconds timeout);

private:
    std::string read_line();

    std::string socket_;
    lbd::UniqueFd fd_;
    std::string in_;  // what arrived after the last reply line
    std::chrono::seconds timeout_ = lbd::ctl::kRequestTimeout;
};

// The result of `command` over a connection of its own, or a Failure.
nlohmann::json call(const std::string& socket, const std::string& command,
                    const nlohmann::json& args = nlohmann::json::object());

}  // namespace lbctl
