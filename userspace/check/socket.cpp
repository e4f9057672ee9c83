#include "check/socket.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace lbd::check {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

}  // namespace

Connecting open_socket(const config::CheckTarget& t, int type, int protocol) {
    const std::string to = fmt::format("[{}]:{}", t.connect_ip.str(), t.connect_port);
    Connecting c;
    c.fd.reset(socket(t.connect_ip.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol));
    if (!c.fd) fail("socket for " + to);
    const int fd = c.fd.get();
    if (!t.bind_if.empty() &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, t.bind_if.c_str(), static_cast<socklen_t>(t.bind_if.size())) < 0)
        fail(fmt::format("binding the check of {} to {}", to, t.bind_if));
    if (t.fwmark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &t.fwmark, sizeof(t.fwmark)) < 0)
        fail(fmt::format("fwmark {} on the check of {}", t.fwmark, to));
    if (t.bindto || t.bind_port != 0) {
        config::IpAddr any;
        any.family = t.connect_ip.family;
        sockaddr_storage ss;
        const socklen_t len = to_sockaddr(t.bindto.value_or(any), t.bind_port, ss);
        if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0)
            fail(fmt::format("binding the check of {} to [{}]:{}", to, t.bindto.value_or(any).str(), t.bind_port));
    }
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(t.connect_ip, t.connect_port, ss);
    if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0)
        c.connected = true;
    else if (errno != EINPROGRESS)
        fail("connect to " + to);
    return c;
}

int connect_result(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
    return err;
}

std::string service_name(const config::CheckTarget& target, config::Proto proto) {
    return config::service_name(target.connect_ip, target.connect_port, proto);
}

}  // namespace lbd::check
