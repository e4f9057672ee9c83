#include "ctl/server.h"

#include "ctl/protocol.h"
#include "util/log.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
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

using nlohmann::json;

// epoll data for the listener and the timer; connections use their fd.
constexpr uint64_t kListener = uint64_t(1) << 32;
constexpr uint64_t kTimer = uint64_t(2) << 32;

sockaddr_un address_of(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof(a.sun_path)) throw std::runtime_error("control socket path too long: " + path);
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// Whether a daemon answers on `path`: a stale socket file refuses.
bool someone_listens(const sockaddr_un& a) {
    bpf::UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    return probe && connect(probe.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) == 0;
}

std::string reply(bool ok, const json& what) {
    json r = {{"version", kProtocolVersion}, {"ok", ok}};
    r[ok ? "result" : "error"] = what;
    return r.dump() + "\n";
}

}  // namespace

Server::Limits Server::default_limits() {
    return {kMaxRequestBytes, kMaxConnections, std::chrono::duration_cast<std::chrono::milliseconds>(kRequestTimeout)};
}

Server::Server(std::string path, Handler handler, Limits limits)
    : path_(std::move(path)),
      handler_(std::move(handler)),
      limits_(limits),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      timer_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
    if (!epoll_ || !timer_) throw std::system_error(errno, std::generic_category(), "control socket set-up");
    const sockaddr_un a = address_of(path_);
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path());
    if (someone_listens(a)) throw std::runtime_error("another lbd answers on " + path_);
    unlink(path_.c_str());
    listener_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_) throw std::system_error(errno, std::generic_category(), "control socket");
    // The socket is born 0600: no moment where another user could connect.
    const mode_t old = umask(0177);
    const int bound = bind(listener_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a));
    umask(old);
    if (bound < 0) throw std::system_error(errno, std::generic_category(), "binding " + path_);
    if (listen(listener_.get(), 64) < 0) throw std::system_error(errno, std::generic_category(), "listen " + path_);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListener;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, listener_.get(), &ev);
    ev.data.u64 = kTimer;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, timer_.get(), &ev);
}

Server::~Server() {
    conns_.clear();
    unlink(path_.c_str());
}

void Server::dispatch() {
    epoll_event evs[32];
    const int n = epoll_wait(epoll_.get(), evs, 32, 0);
    for (int i = 0; i < n; ++i) {
        if (evs[i].data.u64 == kListener) {
            accept_all();
        } else if (evs[i].data.u64 == kTimer) {
            uint64_t expirations;
            if (read(timer_.get(), &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
                log::warn("control socket timer: {}", strerror(errno));
        } else {
            serve(static_cast<int>(evs[i].data.u64), evs[i].events);
        }
    }
    expire();
    arm_timer();
}

void Server::accept_all() {
    for (;;) {
        bpf::UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
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
        c.deadline = Clock::now() + limits_.timeout;
        const int key = c.fd.get();
        if (!refusal.empty()) {
            log::warn("control socket: refused a client (pid {}): {}", peer.pid, refusal);
            c.out = reply(false, refusal);
            c.closing = true;
        }
        auto [it, inserted] = conns_.emplace(key, std::move(c));
        watch(it->second, EPOLL_CTL_ADD);
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
            c.out += answer(c.in.substr(0, nl));
            c.in.erase(0, nl + 1);
            c.deadline = Clock::now() + limits_.timeout;
        }
        if (c.in.size() > limits_.max_request) {
            c.out += reply(false, fmt::format("request over {} bytes", limits_.max_request));
            c.in.clear();
            c.closing = true;
        }
    }
}

std::string Server::answer(const std::string& line) {
    json request;
    try {
        request = json::parse(line);
    } catch (const json::exception& e) {
        return reply(false, fmt::format("malformed request: {}", e.what()));
    }
    if (!request.is_object() || !request.contains("version") || !request["version"].is_number_integer())
        return reply(false, "malformed request: no version");
    if (request["version"] != kProtocolVersion)
        return reply(false, fmt::format("protocol version {} is not spoken here (lbd speaks {})",
                                        request["version"].dump(), kProtocolVersion));
    if (!request.contains("command") || !request["command"].is_string())
        return reply(false, "malformed request: no command");
    const json args = request.value("args", json::object());
    if (!args.is_object()) return reply(false, "malformed request: args must be an object");
    const std::string command = request["command"];
    try {
        return reply(true, handler_(command, args));
    } catch (const RequestError& e) {
        return reply(false, e.what());
    } catch (const std::exception& e) {
        log::error("control socket: {} failed: {}", command, e.what());
        return reply(false, fmt::format("{} failed: {}", command, e.what()));
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
    watch(c, EPOLL_CTL_MOD);
}

void Server::watch(const Connection& c, int op) {
    epoll_event ev{};
    ev.events = EPOLLIN | (c.out.empty() ? 0u : static_cast<uint32_t>(EPOLLOUT));
    ev.data.u64 = static_cast<uint32_t>(c.fd.get());
    epoll_ctl(epoll_.get(), op, c.fd.get(), &ev);
}

void Server::close(int fd) {
    epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    conns_.erase(fd);
}

// A client that stalls, in its request or in reading the reply, loses its
// connection; nobody else waits for it.
void Server::expire() {
    const auto now = Clock::now();
    for (auto it = conns_.begin(); it != conns_.end();) {
        auto next = std::next(it);
        if (it->second.deadline <= now) {
            log::info("control socket: closing a connection idle for {} ms", limits_.timeout.count());
            close(it->first);
        }
        it = next;
    }
}

void Server::arm_timer() {
    itimerspec spec{};
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [fd, c] : conns_) next = std::min(next, c.deadline);
    if (next != Clock::time_point::max()) {
        const auto ns = std::max<int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(next.time_since_epoch()).count(), 1);
        spec.it_value.tv_sec = ns / 1'000'000'000;
        spec.it_value.tv_nsec = ns % 1'000'000'000;
    }
    timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
}

}  // namespace lbd::ctl
