#include "client.h"

#include "ctl/protocol.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lbctl {

using nlohmann::json;

Connection::Connection(const std::string& socket_path)
    : socket_(socket_path), fd_(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(a.sun_path)) throw Failure(kUsage, "socket path too long: " + socket_path);
    std::memcpy(a.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (!fd_) throw Failure(kUnreachable, fmt::format("socket: {}", strerror(errno)));
    // The daemon answers within its own timeout or closes: so do we.
    wait_up_to(timeout_);
    if (connect(fd_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) < 0)
        throw Failure(kUnreachable, fmt::format("no lbd answers on {}: {}", socket_path, strerror(errno)));
}

void Connection::wait_up_to(std::chrono::seconds timeout) {
    timeout_ = timeout;
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

json Connection::call(const std::string& command, const json& args) {
    send_request(command, args);
    return answer();
}

void Connection::send_request(const std::string& command, const json& args) {
    const std::string line =
        json{{"version", lbd::ctl::kProtocolVersion}, {"command", command}, {"args", args}}.dump() + "\n";
    for (size_t sent = 0; sent < line.size();) {
        const ssize_t n = send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0) throw Failure(kUnreachable, fmt::format("sending to {}: {}", socket_, strerror(errno)));
        sent += static_cast<size_t>(n);
    }
}

json Connection::answer() {
    json reply;
    try {
        reply = json::parse(read_line());
    } catch (const json::exception& e) {
        throw Failure(kProtocol, fmt::format("unreadable answer: {}", e.what()));
    }
    if (!reply.is_object() || reply.value("version", 0) != lbd::ctl::kProtocolVersion)
        throw Failure(kProtocol, "an answer of another protocol version: " + reply.dump());
    if (!reply.value("ok", false)) throw Failure(kRefused, reply.value("error", std::string("refused")));
    return reply.value("result", json());
}

std::string Connection::read_line() {
    size_t end;
    while ((end = in_.find('\n')) == std::string::npos) {
        char buf[64 * 1024];
        const ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            throw Failure(kUnreachable, fmt::format("lbd did not answer within {} s", timeout_.count()));
        if (n < 0) throw Failure(kUnreachable, fmt::format("reading from {}: {}", socket_, strerror(errno)));
        if (n == 0) throw Failure(kProtocol, "lbd closed the connection without an answer");
        in_.append(buf, static_cast<size_t>(n));
    }
    std::string line = in_.substr(0, end);
    in_.erase(0, end + 1);
    return line;
}

json call(const std::string& socket_path, const std::string& command, const json& args) {
    return Connection(socket_path).call(command, args);
}

}  // namespace lbctl
