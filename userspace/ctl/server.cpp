#include "ctl/server.h"

#include "ctl/protocol.h"
#include "ctl/request.h"
#include "util/log.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace lbd::ctl {
namespace {

sockaddr_un address_of(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof(a.sun_path)) throw std::runtime_error("control socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// Whether a daemon answers on `path`: a stale socket file refuses.
bool someone_listens(const sockaddr_un& a) {
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return probe && connect(probe.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

}  // namespace

Server::Limits Server::default_limits() {
    return {kMaxRequestBytes, kMaxConnections, std::chrono::duration_cast<std::chrono::milliseconds>(kRequestTimeout)};
}

Server::Server(Loop& loop, std::string path, Handler handler, Limits limits)
    : loop_(loop), path_(std::move(path)), handler_(std::move(handler)), limits_(limits) {
    const sockaddr_un a = address_of(path_);
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
    if (someone_listens(a)) throw std::runtime_error("another lbd answers on " + path_);
    unlink(path_.c_str());
    listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_) throw std::system_error(errno, std::generic_category(), "control socket");
    // bind() gives the socket file the socket's own mode less the umask
    // (unix(7)): made 0600 first, the file is born no wider, with no moment
    // where another user could connect. The umask is the whole process's,
    // and the scripts other threads fork meanwhile would inherit a change.
    if (fchmod(listener_.get(), 0600) < 0) throw std::system_error(errno, std::generic_category(), "control socket mode");
    if (bind(listener_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) < 0)
        throw std::system_error(errno, std::generic_category(), "binding " + path_);
    if (listen(listener_.get(), 64) < 0) throw std::system_error(errno, std::generic_category(), "listen " + path_);
    loop_.watch(listener_.get(), EPOLLIN, [this](uint32_t) { accept_all(); });
}

Server::~Server() {
    while (!conns_.empty()) close(conns_.begin()->first);
    loop_.unwatch(listener_.get());
    unlink(path_.c_str());
}

void Server::accept_all() {
    for (;;) {
        UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd) return;
        ucred peer{};
        socklen_t len = sizeof(peer);
        std::string refusal;
        if (getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0)
            refusal = fmt::format("cannot tell who you are: {}", strerror(errno));
        else if (peer.uid != 0 && peer.uid != geteuid())
            refusal = fmt::format("permission denied: uid {} is neither root nor lbd's user", peer.uid);
        else if (conns_.size() >= limits_.max_connections)
            refusal = fmt::format("too many connections ({} at once)", limits_.max_connections);
        Connection c;
        c.fd = std::move(fd);
        const int key = c.fd.get();
        if (!refusal.empty()) {
            log::warn("control socket: refused a client (pid {}): {}", peer.pid, refusal);
            c.out = ctl::refusal(refusal);
            c.closing = true;
        }
        auto [it, inserted] = conns_.emplace(key, std::move(c));
        extend(it->second);
        watch(it->second);
        if (!refusal.empty()) write_out(it->second);
    }
}

void Server::serve(int fd, uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Connection& c = it->second;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_requests(c);
    if (conns_.contains(fd) && !c.out.empty()) write_out(c);
}

void Server::read_requests(Connection& c) {
    const int fd = c.fd.get();
    char buf[16 * 1024];
    for (;;) {
        const ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EAGAIN) break;
        if (n <= 0) {
            // The client went away; what it asked is still answered if it
            // only shut its writing side, else the connection just ends.
            if (c.out.empty()) return close(fd);
            c.closing = true;
            break;
        }
        if (c.closing) continue;  // a refused client: its words are not read
        c.in.append(buf, static_cast<size_t>(n));
        for (size_t nl; (nl = c.in.find('\n')) != std::string::npos;) {
            c.out += answer_request(std::string_view(c.in).substr(0, nl), handler_);
            c.in.erase(0, nl + 1);
            extend(c);
        }
        if (c.in.size() > limits_.max_request) {
            c.out += refusal(fmt::format("request over {} bytes", limits_.max_request));
            c.in.clear();
            c.closing = true;
        }
    }
}

void Server::write_out(Connection& c) {
    const int fd = c.fd.get();
    while (!c.out.empty()) {
        const ssize_t n = send(fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) break;
        if (n < 0) return close(fd);
        c.out.erase(0, static_cast<size_t>(n));
    }
    if (c.out.empty() && c.closing) return close(fd);
    watch(c);
}

void Server::watch(const Connection& c) {
    const int fd = c.fd.get();
    loop_.watch(fd, EPOLLIN | (c.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT)),
                [this, fd](uint32_t events) { serve(fd, events); });
}

// A client that stalls, in its request or in reading the reply, loses its
// connection; nobody else waits for it.
void Server::extend(Connection& c) {
    loop_.cancel(c.deadline);
    const int fd = c.fd.get();
    c.deadline = loop_.after(limits_.timeout, [this, fd] {
        log::info("control socket: closing a connection idle for {} ms", limits_.timeout.count());
        conns_.at(fd).deadline = 0;
        close(fd);
    });
}

void Server::close(int fd) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    loop_.unwatch(fd);
    loop_.cancel(it->second.deadline);
    conns_.erase(it);
}

}  // namespace lbd::ctl
