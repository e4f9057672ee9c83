#include "ctl/metrics_server.h"

#include "util/loop.h"
#include "util/unique_fd.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <fmt/format.h>

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

// Just past the empty line that ends a request head, or npos. A bare LF ends
// a line as well as CRLF (RFC 9112 2.2).
size_t head_end(std::string_view in) {
    for (size_t lf = in.find('\n'); lf != std::string_view::npos; lf = in.find('\n', lf + 1)) {
        const std::string_view rest = in.substr(lf + 1);
        if (rest.starts_with('\n')) return lf + 2;
        if (rest.starts_with("\r\n")) return lf + 3;
    }
    return std::string_view::npos;
}

struct RequestLine {
    std::string_view method, target, version;
};

// METHOD SP TARGET SP VERSION, after the empty lines a server may skip
// (RFC 9112 2.2); nullopt for anything else.
std::optional<RequestLine> request_line(std::string_view head) {
    while (head.starts_with('\n') || head.starts_with("\r\n")) head.remove_prefix(head.front() == '\r' ? 2 : 1);
    std::string_view line = head.substr(0, head.find('\n'));
    if (line.ends_with('\r')) line.remove_suffix(1);
    const size_t sp1 = line.find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return std::nullopt;
    RequestLine r{line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1), line.substr(sp2 + 1)};
    if (r.method.empty() || r.target.empty()) return std::nullopt;
    return r;
}

std::string reply(int code, std::string_view reason, std::string_view type, std::string_view body, bool with_body,
                  std::string_view headers = {}) {
    return fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n{}",
                       code, reason, type, body.size(), headers, with_body ? body : std::string_view());
}

}  // namespace

class MetricsServer::Impl {
public:
    Impl(const config::ListenAddr& listen, Provider provider);
    ~Impl();
    uint16_t port() const { return port_; }

private:
    enum class Phase { Reading, Writing, Draining };
    struct Connection {
        UniqueFd fd;
        Phase phase = Phase::Reading;
        std::string in;   // the request head so far
        std::string out;  // the response
        size_t sent = 0;
        Loop::TimerId deadline = 0;
    };

    void run();
    void listen_for_more();
    void pause_listening();
    void accept_ready();
    void on_ready(int fd);
    void read_request(Connection& c);
    void respond(Connection& c, std::string response);
    void write_response(Connection& c);
    void drain(Connection& c);
    void close(int fd);
    void set_deadline(Connection& c, Clock::duration after);
    std::string answer(std::string_view head);
    std::string scrape(bool with_body);
    std::string provider_failed(std::string message, bool with_body);

    std::string address_;  // as bound ("127.0.0.1:9100"), for the log
    const Provider provider_;
    Loop loop_;
    UniqueFd listener_;
    uint16_t port_ = 0;
    // Only the loop's thread touches what follows once the thread runs.
    std::map<int, Connection> connections_;
    bool listening_ = false;
    std::optional<std::string> provider_error_;  // logged; cleared by the next scrape that works
    std::thread thread_;                          // last: started once the rest is set up
};

MetricsServer::Impl::Impl(const config::ListenAddr& listen, Provider provider)
    : provider_(std::move(provider)) {
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
    if (listening_ || connections_.size() >= kMaxConnections) return;
    loop_.watch(listener_.get(), EPOLLIN, [this](uint32_t) { accept_ready(); });
    listening_ = true;
}

void MetricsServer::Impl::pause_listening() {
    loop_.unwatch(listener_.get());
    listening_ = false;
}

void MetricsServer::Impl::accept_ready() {
    while (connections_.size() < kMaxConnections) {
        const int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            log::warn("metrics on {}: accept: {}; trying again in {} s", address_, std::strerror(errno),
                      kAcceptRetry.count());
            pause_listening();
            loop_.after(kAcceptRetry, [this] { listen_for_more(); });
            return;
        }
        Connection& c = connections_[fd];
        c.fd = UniqueFd(fd);
        try {
            set_deadline(c, kTimeout);
            loop_.watch(fd, EPOLLIN, [this, fd](uint32_t) { on_ready(fd); });
        } catch (const std::exception& e) {
            log::warn("metrics on {}: {}", address_, e.what());
            close(fd);
        }
    }
    // At the limit: the backlog holds the rest until a connection closes.
    pause_listening();
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
    const ssize_t n = recv(c.fd.get(), buf, kMaxRequestHead + 1 - c.in.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) return close(c.fd.get());  // gone, or failed, before its request was whole
    c.in.append(buf, static_cast<size_t>(n));
    const size_t end = head_end(c.in);
    if (end != std::string::npos && end <= kMaxRequestHead)
        return respond(c, answer(std::string_view(c.in).substr(0, end)));
    if (c.in.size() > kMaxRequestHead)
        respond(c, reply(431, "Request Header Fields Too Large", kTextType,
                         fmt::format("request head over {} bytes\n", kMaxRequestHead), true));
}

void MetricsServer::Impl::respond(Connection& c, std::string response) {
    c.phase = Phase::Writing;
    c.out = std::move(response);
    c.in = std::string();
    set_deadline(c, kTimeout);
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
    shutdown(c.fd.get(), SHUT_WR);
    c.phase = Phase::Draining;
    c.out = std::string();
    set_deadline(c, kLinger);
    const int fd = c.fd.get();
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

std::string MetricsServer::Impl::answer(std::string_view head) {
    const auto line = request_line(head);
    if (!line) return reply(400, "Bad Request", kTextType, "not an HTTP request line\n", true);
    if (line->version != "HTTP/1.0" && line->version != "HTTP/1.1") {
        if (line->version.starts_with("HTTP/"))
            return reply(505, "HTTP Version Not Supported", kTextType, "HTTP/1.0 and HTTP/1.1 only\n", true);
        return reply(400, "Bad Request", kTextType, "not an HTTP request line\n", true);
    }
    const bool head_only = line->method == "HEAD";
    if (line->method != "GET" && !head_only)
        return reply(405, "Method Not Allowed", kTextType, "GET or HEAD only\n", true, "Allow: GET, HEAD\r\n");
    if (line->target.substr(0, line->target.find('?')) != "/metrics")
        return reply(404, "Not Found", kTextType, "lbd serves its metrics at /metrics\n", !head_only);
    return scrape(!head_only);
}

std::string MetricsServer::Impl::scrape(bool with_body) {
    std::string body;
    try {
        body = provider_();
    } catch (const std::exception& e) {
        return provider_failed(e.what(), with_body);
    } catch (...) {
        return provider_failed("an exception that is not a std::exception", with_body);
    }
    if (provider_error_) {
        log::info("metrics on {}: rendering works again", address_);
        provider_error_.reset();
    }
    return reply(200, "OK", kMetricsType, body, with_body);
}

// Prometheus scrapes every few seconds: a failure that lasts is logged when
// it starts, or changes, not at each scrape.
std::string MetricsServer::Impl::provider_failed(std::string message, bool with_body) {
    if (message != provider_error_) {
        log::error("metrics on {}: cannot render the metrics: {}", address_, message);
        provider_error_ = std::move(message);
    }
    return reply(500, "Internal Server Error", kTextType, "lbd could not render its metrics; its log says why\n",
                 with_body);
}

MetricsServer::MetricsServer(const config::ListenAddr& listen, Provider provider) {
    try {
        impl_ = std::make_unique<Impl>(listen, std::move(provider));
    } catch (const std::system_error& e) {
        throw std::runtime_error(fmt::format("metrics_listen {}: {}", listen.str(), e.what()));
    }
}

MetricsServer::~MetricsServer() = default;

uint16_t MetricsServer::port() const { return impl_->port(); }

}  // namespace lbd::ctl
