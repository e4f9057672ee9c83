// Sockets for probes: where a check connects from and to (connect_ip,
// connect_port, bindto, bind_port, bind_if, fwmark), non-blocking, and how
// keepalived names the service in its log lines.
#pragma once

#include "config/model.h"
#include "util/unique_fd.h"

#include <string>

namespace lbd::check {

// socket(type, protocol) of the target's family, non-blocking and
// close-on-exec; bound as the target asks (SO_BINDTODEVICE for bind_if,
// SO_MARK for fwmark); connect() to connect_ip:connect_port started.
// `connected` is true when connect() already finished (loopback, datagram
// sockets). Throws std::system_error naming the step and the target.
struct Connecting {
    UniqueFd fd;
    bool connected = false;
};
Connecting open_socket(const config::CheckTarget& target, int type, int protocol = 0);

// After EPOLLOUT on a connecting socket: 0 once connected, else the errno
// the connection failed with (SO_ERROR).
int connect_result(int fd);

// keepalived's name of a checked service: "[10.0.0.2]:tcp:80".
using config::service_name;
std::string service_name(const config::CheckTarget& target, config::Proto proto);

}  // namespace lbd::check
