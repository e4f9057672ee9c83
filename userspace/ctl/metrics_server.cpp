#include "ctl/metrics_server.h"

#include "ctl/metrics_request.h"

#include "util/loop.h"
#include "util/unique_fd.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

namespace lbd::ctl {
namespace {

constexpr std::string_view kMetricsType = "text/plain; version=0.0.4";
constexpr std::string_view kTextType = "text/plain; charset=utf-8";

// After the response, what the client still sends is read and dropped for
// this long before the close: closing with unread bytes resets the
// connection, which can destroy the response in flight (a 431 to a long head).
constexpr std::chrono::seconds kLinger{1};

// accept() out of descriptors or memory: the connection stays queued, and a
// level-triggered listener would spin on it; tried again after this.
constexpr std::chrono::seconds kAcceptRetry{1};

constexpr int kBacklog = 64;

[[noreturn]] void fail(const char* step) { throw std::system_error(errno, std::generic_category(), step); }

std::string reply(int code, std::string_view reason, std::string_view type, std::string_view body, bool with_body,
                  bool keep_alive, std::string_view headers = {}) {
    return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: {}\r\n\r\n{}",
                       code, reason, type, body.size(), headers, keep_alive ? "keep-alive" : "close",
                       with_body ? body : std::string_view());
}

// Who a connection comes from, port left out: what max_per_client counts.
std::string client_of(const sockaddr_storage& ss) {
    if (ss.ss_family == AF_INET6)
        return std::string(reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr), 16);
    return std::string(reinterpret_cast<const char*>(&reinterpret_cast<const sockaddr_in&>(ss).sin_addr), 4);
}

}  // namespace

class MetricsServer::Impl {
public:
    Impl(const config::ListenAddr& listen, Provider provider, Limits limits);
    ~Impl();
    uint16_t port() const { return port_; }

private:
    enum class Phase { Reading, Writing, Draining };
    struct Connection {
        UniqueFd fd;
        std::string client;
        Phase phase = Phase::Reading;
        Clock::time_point waiting_since{};  // Reading: since the head was due to start
        std::string in;   // the request head so far, and what follows it
        std::string out;  // the response
        size_t sent = 0;
        bool keep_alive = false;
        Loop::TimerId deadline = 0;
    };

    void run();
    void listen_for_more();
    void pause_listening();
    void accept_ready();
    bool evict_longest_waiting();
    size_t connections_of(const std::string& client) const;
    void on_ready(int fd);
    void read_request(Connection& c);
    void next_request(Connection& c);
    void respond(Connection& c, std::string response, bool keep_alive);
    void write_response(Connection& c);
    void drain(Connection& c);
    void close(int fd);
    void set_deadline(Connection& c, Clock::duration after);
    std::string answer(std::string_view head, bool& keep_alive);
    std::string scrape(bool with_body, bool keep_alive);
    std::string provider_failed(std::string message, bool with_body, bool keep_alive);

    std::string address_;  // as bound ("127.0.0.1:9165"), for the log
    const Provider provider_;
    const Limits limits_;
    Loop loop_;
    UniqueFd listener_;
    uint16_t port_ = 0;
    // Only the loop's thread touches what follows once the thread runs.
    std::map<int, Connection> connections_;
    bool listening_ = false;
    std::optional<std::string> provider_error_;  // logged; cleared by the next scrape that works
    std::thread thread_;                          // last: started once the rest is set up
};

MetricsServer::Impl::Impl(const config::ListenAddr& listen, Provider provider, Limits limits)
    : provider_(std::move(provider)), limits_(limits) {
    listener_ = UniqueFd(socket(listen.addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!listener_) fail("socket");
    // A restarted daemon binds again while its last connections sit in TIME_WAIT.
    const int one = 1;
    if (setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) fail("SO_REUSEADDR");
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(listen.addr, listen.port, ss);
    if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0) fail("bind");
    if (::listen(listener_.get(), kBacklog) < 0) fail("listen");
    socklen_t bound = sizeof ss;
    if (getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&ss), &bound) < 0) fail("getsockname");
    port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                           : reinterpret_cast<sockaddr_in&>(ss).sin_port);
    address_ = config::ListenAddr{listen.addr, port_}.str();
    listen_for_more();
    thread_ = std::thread([this] { run(); });
}

MetricsServer::Impl::~Impl() {
    loop_.stop();
    thread_.join();
}

void MetricsServer::Impl::run() {
    try {
        loop_.run();
    } catch (const std::exception& e) {
        log::error("metrics on {} stopped: {}", address_, e.what());
    }
}

void MetricsServer::Impl::listen_for_more() {
    if (listening_ || connections_.size() >= limits_.max_connections) return;
    loop_.watch(listener_.get(), EPOLLIN, [this](uint32_t) { accept_ready(); });
    listening_ = true;
}

void MetricsServer::Impl::pause_listening() {
    loop_.unwatch(listener_.get());
    listening_ = false;
}

void MetricsServer::Impl::accept_ready() {
    for (;;) {
        // Every slot taken: the connection that has waited longest for a
        // request makes room; while every one is busy with a response, the
        // backlog holds the rest until one ends.
        if (connections_.size() >= limits_.max_connections && !evict_longest_waiting()) return pause_listening();
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        const int fd = accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            log::warn("metrics on {}: accept: {}; trying again in {} s", address_, std::strerror(errno),
                      kAcceptRetry.count());
            pause_listening();
            loop_.after(kAcceptRetry, [this] { listen_for_more(); });
            return;
        }
        UniqueFd owned(fd);
        std::string client = client_of(peer);
        if (connections_of(client) >= limits_.max_per_client) continue;  // closed: that client has its share
        Connection& c = connections_[fd];
        c.fd = std::move(owned);
        c.client = std::move(client);
        c.waiting_since = Clock::now();
        try {
            set_deadline(c, limits_.timeout);
            loop_.watch(fd, EPOLLIN, [this, fd](uint32_t) { on_ready(fd); });
        } catch (const std::exception& e) {
            log::warn("metrics on {}: {}", address_, e.what());
            close(fd);
        }
    }
}

bool MetricsServer::Impl::evict_longest_waiting() {
    const Connection* longest = nullptr;
    for (const auto& [fd, c] : connections_)
        if (c.phase == Phase::Reading && (!longest || c.waiting_since < longest->waiting_since)) longest = &c;
    if (!longest) return false;
    close(longest->fd.get());
    return true;
}

size_t MetricsServer::Impl::connections_of(const std::string& client) const {
    return static_cast<size_t>(
        std::count_if(connections_.begin(), connections_.end(), [&](const auto& c) { return c.second.client == client; }));
}

void MetricsServer::Impl::on_ready(int fd) {
    const auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    Connection& c = it->second;
    try {
        switch (c.phase) {
            case Phase::Reading:
                return read_request(c);
            case Phase::Writing:
                return write_response(c);
            case Phase::Draining:
                return drain(c);
        }
    } catch (const std::exception& e) {
        log::warn("metrics on {}: {}", address_, e.what());
        close(fd);
    }
}

void MetricsServer::Impl::read_request(Connection& c) {
    char buf[kMaxRequestHead + 1];
    // One byte past the limit tells a head too long from one that fits exactly.
    const ssize_t n = recv(c.fd.get(), buf, kMaxRequestHead + 1 - std::min(c.in.size(), kMaxRequestHead), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) return close(c.fd.get());  // gone, or failed, before its request was whole
    c.in.append(buf, static_cast<size_t>(n));
    next_request(c);
}

// Answers the head at the front of c.in once it is whole (a pipelined one
// may be there already when the previous response is written).
void MetricsServer::Impl::next_request(Connection& c) {
    const size_t end = request_head_end(c.in);
    if (end != std::string::npos && end <= kMaxRequestHead) {
        bool keep_alive = false;
        std::string response = answer(std::string_view(c.in).substr(0, end), keep_alive);
        c.in.erase(0, end);
        return respond(c, std::move(response), keep_alive);
    }
    if (c.in.size() > kMaxRequestHead)
        respond(c,
                reply(431, "Request Header Fields Too Large", kTextType,
                      fmt::format("request head over {} bytes\n", kMaxRequestHead), true, false),
                false);
}

void MetricsServer::Impl::respond(Connection& c, std::string response, bool keep_alive) {
    c.phase = Phase::Writing;
    c.out = std::move(response);
    c.sent = 0;
    c.keep_alive = keep_alive;
    if (!keep_alive) c.in = std::string();
    set_deadline(c, limits_.timeout);
    const int fd = c.fd.get();
    loop_.watch(fd, EPOLLOUT, [this, fd](uint32_t) { on_ready(fd); });
}

void MetricsServer::Impl::write_response(Connection& c) {
    while (c.sent < c.out.size()) {
        const ssize_t n = send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        if (n < 0) return close(c.fd.get());
        c.sent += static_cast<size_t>(n);
    }
    c.out = std::string();
    const int fd = c.fd.get();
    if (c.keep_alive) {
        // The next request is due within the timeout from now.
        c.phase = Phase::Reading;
        c.waiting_since = Clock::now();
        set_deadline(c, limits_.timeout);
        loop_.watch(fd, EPOLLIN, [this, fd](uint32_t) { on_ready(fd); });
        return next_request(c);
    }
    shutdown(fd, SHUT_WR);
    c.phase = Phase::Draining;
    set_deadline(c, kLinger);
    loop_.watch(fd, EPOLLIN, [this, fd](uint32_t) { on_ready(fd); });
}

void MetricsServer::Impl::drain(Connection& c) {
    char buf[4096];
    const ssize_t n = recv(c.fd.get(), buf, sizeof buf, 0);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) return;
    close(c.fd.get());
}

void MetricsServer::Impl::close(int fd) {
    const auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    loop_.unwatch(fd);
    loop_.cancel(it->second.deadline);
    connections_.erase(it);
    listen_for_more();
}

void MetricsServer::Impl::set_deadline(Connection& c, Clock::duration after) {
    loop_.cancel(c.deadline);
    const int fd = c.fd.get();
    c.deadline = loop_.after(after, [this, fd] { close(fd); });
}

std::string MetricsServer::Impl::answer(std::string_view head, bool& keep_alive) {
    const MetricsRequest r = judge_request(head);
    keep_alive = r.keep_alive;
    if (r.kind == MetricsRequest::Kind::metrics) return scrape(r.with_body, keep_alive);
    return reply(r.status, r.reason, kTextType, r.body, r.with_body, keep_alive, r.headers);
}

std::string MetricsServer::Impl::scrape(bool with_body, bool keep_alive) {
    std::string body;
    try {
        body = provider_();
    } catch (const std::exception& e) {
        return provider_failed(e.what(), with_body, keep_alive);
    } catch (...) {
        return provider_failed("an exception that is not a std::exception", with_body, keep_alive);
    }
    if (provider_error_) {
        log::info("metrics on {}: rendering works again", address_);
        provider_error_.reset();
    }
    return reply(200, "OK", kMetricsType, body, with_body, keep_alive);
}

// Prometheus scrapes every few seconds: a failure that lasts is logged when
// it starts, or changes, not at each scrape.
std::string MetricsServer::Impl::provider_failed(std::string message, bool with_body, bool keep_alive) {
    if (message != provider_error_) {
        log::error("metrics on {}: cannot render the metrics: {}", address_, message);
        provider_error_ = std::move(message);
    }
    return reply(500, "Internal Server Error", kTextType, "lbd could not render its metrics; its log says why\n",
                 with_body, keep_alive);
}

MetricsServer::MetricsServer(const config::ListenAddr& listen, Provider provider, Limits limits) {
    try {
        impl_ = std::make_unique<Impl>(listen, std::move(provider), limits);
    } catch (const std::system_error& e) {
        throw std::runtime_error(fmt::format("metrics_listen {}: {}", listen.str(), e.what()));
    }
}

MetricsServer::~MetricsServer() = default;

uint16_t MetricsServer::port() const { return impl_->port(); }

}  // namespace lbd::ctl
