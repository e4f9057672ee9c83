#include "client.h"

#include "ctl/protocol.h"
#include "dataplane/bpf_object.h"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace lbctl {

using nlohmann::json;

json call(const std::string& socket_path, const std::string& command, const json& args) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(a.sun_path)) throw Failure(kUsage, "socket path too long: " + socket_path);
    std::memcpy(a.sun_path, socket_path.c_str(), socket_path.size() + 1);
    lbd::bpf::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw Failure(kUnreachable, fmt::format("socket: {}", strerror(errno)));
    // The daemon answers within its own timeout or closes: so do we.
    timeval tv{static_cast<time_t>(lbd::ctl::kRequestTimeout.count()), 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) < 0)
        throw Failure(kUnreachable, fmt::format("no lbd answers on {}: {}", socket_path, strerror(errno)));
    const std::string line =
        json{{"version", lbd::ctl::kProtocolVersion}, {"command", command}, {"args", args}}.dump() + "\n";
    for (size_t sent = 0; sent < line.size();) {
        const ssize_t n = send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0) throw Failure(kUnreachable, fmt::format("sending to {}: {}", socket_path, strerror(errno)));
        sent += static_cast<size_t>(n);
    }
    std::string in;
    char buf[64 * 1024];
    while (in.find('\n') == std::string::npos) {
        const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            throw Failure(kUnreachable, fmt::format("lbd did not answer within {} s", lbd::ctl::kRequestTimeout.count()));
        if (n < 0) throw Failure(kUnreachable, fmt::format("reading from {}: {}", socket_path, strerror(errno)));
        if (n == 0) throw Failure(kProtocol, "lbd closed the connection without an answer");
        in.append(buf, static_cast<size_t>(n));
    }
    json reply;
    try {
        reply = json::parse(in.substr(0, in.find('\n')));
    } catch (const json::exception& e) {
        throw Failure(kProtocol, fmt::format("unreadable answer: {}", e.what()));
    }
    if (!reply.is_object() || reply.value("version", 0) != lbd::ctl::kProtocolVersion)
        throw Failure(kProtocol, "an answer of another protocol version: " + reply.dump());
    if (!reply.value("ok", false)) throw Failure(kRefused, reply.value("error", std::string("refused")));
    return reply.value("result", json());
}

}  // namespace lbctl
