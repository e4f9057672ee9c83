// The control socket's protocol, shared by the daemon (ctl/server.h) and
// lbctl: newline-delimited JSON over a unix stream socket,
// /run/lbd/<instance>.sock, mode 0600.
//
//   request: {"version": 1, "command": "reals", "args": {...}}
//   reply:   {"version": 1, "ok": true, "result": ...}
//            {"version": 1, "ok": false, "error": "no real server 10.0.0.9 in any virtual_server"}
//
// One request per line, answered in order on the same connection. The
// commands and their results are in docs/control.md.
#pragma once

#include "util/instance.h"

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace lbd::ctl {

inline constexpr int kProtocolVersion = 1;
// A request line longer than this is refused and the connection closed.
inline constexpr size_t kMaxRequestBytes = 64 * 1024;
// Connections served at once; one more is told so and closed.
inline constexpr size_t kMaxConnections = 16;
// A connection must finish each request line, and read each reply, within this.
inline constexpr std::chrono::seconds kRequestTimeout{5};
// A reload is answered once its file is applied or refused, which may take
// longer (a ring to rebuild per changed service): its client waits this long.
inline constexpr std::chrono::seconds kReloadTimeout{60};

inline std::string socket_path(const std::string& instance) {
    return std::string(kRunDir) + "/" + instance + ".sock";
}

// A request the daemon refuses: its message goes back to the client as is.
class RequestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace lbd::ctl
