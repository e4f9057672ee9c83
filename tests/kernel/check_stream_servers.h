// What the stream probes' tests share: real servers on loopback addresses
// (one thread serves a listener's connections in turn with plain blocking
// code, TLS through OpenSSL's server side and a self-signed certificate made
// in memory), ports that refuse or never answer, and one attempt of a probe
// run to its end on a Loop with the contract checked.
#pragma once

#include "util/loop.h"
#include "check/probe.h"
#include "config/model.h"
#include "util/unique_fd.h"
#include "util/child_process.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace lbd::check::test {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// How late past its timeout an attempt may end on a busy machine.
constexpr milliseconds kLateness = 250ms;

inline config::IpAddr ip(const char* text) {
    const auto addr = config::IpAddr::parse(text);
    if (!addr) throw std::invalid_argument(std::string("not an address: ") + text);
    return *addr;
}

inline std::string address_of(const sockaddr_storage& ss) {
    char text[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr, text, sizeof(text));
    else
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(ss).sin_addr, text, sizeof(text));
    return text;
}

inline uint16_t local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) throw std::runtime_error("getsockname");
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                          : reinterpret_cast<sockaddr_in&>(ss).sin_port);
}

// A TCP socket bound to address:port (0: any free port), listening unless
// backlog is negative.
inline UniqueFd bound_socket(const config::IpAddr& addr, uint16_t port, int backlog) {
    UniqueFd fd(socket(addr.family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss;
    const socklen_t len = to_sockaddr(addr, port, ss);
    if (!fd || bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0 ||
        (backlog >= 0 && listen(fd.get(), backlog) < 0))
        throw std::runtime_error(std::string("test listener on ") + addr.str() + ": " + std::strerror(errno));
    return fd;
}

inline bool has_ipv6_loopback() {
    try {
        bound_socket(ip("::1"), 0, -1);
        return true;
    } catch (const std::runtime_error&) {
        return false;
    }
}

// A port that refuses: bound, never listening, so a SYN to it gets a RST.
class RefusingPort {
public:
    explicit RefusingPort(const char* address = "127.0.0.1") : fd_(bound_socket(ip(address), 0, -1)) {}
    uint16_t port() const { return local_port(fd_.get()); }

private:
    UniqueFd fd_;
};

// A port that never answers a SYN: a listener nobody accepts from, whose
// accept queue (backlog 0) one connection already fills, so the kernel drops
// further SYNs.
class SilentPort {
public:
    SilentPort() : listener_(bound_socket(ip("127.0.0.1"), 0, 0)), filler_(socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_storage ss;
        const socklen_t len = to_sockaddr(ip("127.0.0.1"), port(), ss);
        pollfd queued{listener_.get(), POLLIN, 0};
        if (connect(filler_.get(), reinterpret_cast<sockaddr*>(&ss), len) < 0 || poll(&queued, 1, 5000) != 1)
            throw std::runtime_error("could not fill the accept queue");
    }
    uint16_t port() const { return local_port(listener_.get()); }

private:
    UniqueFd listener_;
    UniqueFd filler_;
};

// A self-signed certificate (P-256, CN lbd-test) made in memory, and the
// server context that presents it.
class TlsServerContext {
public:
    TlsServerContext() : ctx_(SSL_CTX_new(TLS_server_method()), SSL_CTX_free) {
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
        std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
        if (!ctx_ || !key || !cert) throw std::runtime_error("TLS test server set-up");
        X509_set_version(cert.get(), 2);
        ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
        X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
        X509_set_pubkey(cert.get(), key.get());
        X509_NAME* name = X509_get_subject_name(cert.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("lbd-test"), -1, -1,
                                   0);
        X509_set_issuer_name(cert.get(), name);
        if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0 ||
            SSL_CTX_use_certificate(ctx_.get(), cert.get()) != 1 || SSL_CTX_use_PrivateKey(ctx_.get(), key.get()) != 1)
            throw std::runtime_error("TLS test server certificate");
    }
    SSL_CTX* get() const { return ctx_.get(); }

private:
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx_;
};

class Server;

// The server's end of one connection, blocking; every wait is bounded and
// ends early when the server stops.
class Conn {
public:
    Conn(Server& server, int fd, int stop, SSL* ssl) : server_(server), fd_(fd), stop_(stop), ssl_(ssl) {}

    // Up to and with `end`; on EOF, error or timeout, what came.
    std::string read_until(std::string_view end, milliseconds limit = 5s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        for (;;) {
            if (const size_t at = buffer_.find(end); at != std::string::npos) {
                std::string line = buffer_.substr(0, at + end.size());
                buffer_.erase(0, at + end.size());
                return line;
            }
            char buf[4096];
            const ssize_t n = read_some(buf, sizeof(buf), until);
            if (n <= 0) return std::exchange(buffer_, {});
            buffer_.append(buf, static_cast<size_t>(n));
        }
    }

    // True once the client has closed its end.
    bool wait_closed(milliseconds limit = 5s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        char buf[4096];
        for (;;) {
            const ssize_t n = read_some(buf, sizeof(buf), until);
            if (n == kTimedOut) return false;
            if (n <= 0) return true;
        }
    }

    // False when the client has gone.
    bool write(std::string_view data) {
        while (!data.empty()) {
            const ssize_t n = ssl_ ? SSL_write(ssl_, data.data(), static_cast<int>(data.size()))
                                   : send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n <= 0) return false;
            data.remove_prefix(static_cast<size_t>(n));
        }
        return true;
    }

    // Waits `d` unless the server stops first: a server that takes its time.
    void pause(milliseconds d) {
        pollfd stop{stop_, POLLIN, 0};
        poll(&stop, 1, static_cast<int>(d.count()));
    }

    // Ends the connection with a bare FIN: under TLS, without close_notify.
    void drop() { shutdown(fd_, SHUT_RDWR); }

    // Ends the connection with a reset when the handler returns (SO_LINGER 0).
    void reset() {
        const linger abort{1, 0};
        setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof(abort));
    }

    // "address:port" of the client.
    std::string peer() const {
        sockaddr_storage ss{};
        socklen_t len = sizeof(ss);
        getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
        const uint16_t port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(ss).sin6_port
                                                             : reinterpret_cast<sockaddr_in&>(ss).sin_port);
        return address_of(ss) + ":" + std::to_string(port);
    }

    // The server name the TLS client sent; empty without one.
    std::string sni() const {
        const char* name = ssl_ ? SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name) : nullptr;
        return name ? name : "";
    }

    void record(std::string what);

private:
    static constexpr ssize_t kTimedOut = -2;

    ssize_t read_some(char* buf, size_t len, std::chrono::steady_clock::time_point until) {
        if (!ssl_ || SSL_pending(ssl_) == 0) {
            const auto left = std::chrono::ceil<milliseconds>(until - std::chrono::steady_clock::now());
            pollfd fds[] = {{fd_, POLLIN, 0}, {stop_, POLLIN, 0}};
            if (left <= 0ms || poll(fds, 2, static_cast<int>(left.count())) <= 0 || (fds[1].revents & POLLIN))
                return kTimedOut;
        }
        return ssl_ ? SSL_read(ssl_, buf, static_cast<int>(len)) : recv(fd_, buf, len, 0);
    }

    Server& server_;
    int fd_;
    int stop_;
    SSL* ssl_;
    std::string buffer_;
};

// A listener on address:port (0: any free port) whose connections one thread
// serves one after another with `handler`; with `tls`, after a TLS handshake.
class Server {
public:
    using Handler = std::function<void(Conn&)>;

    Server(const char* address, Handler handler, SSL_CTX* tls = nullptr, uint16_t port = 0)
        : address_(ip(address)),
          listener_(bound_socket(address_, port, 16)),
          stop_(eventfd(0, EFD_CLOEXEC)),
          handler_(std::move(handler)),
          tls_(tls),
          thread_([this] { serve(); }) {}

    ~Server() {
        const uint64_t one = 1;
        if (write(stop_.get(), &one, sizeof(one)) != sizeof(one)) ADD_FAILURE() << "cannot stop the test server";
        thread_.join();
    }

    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    const config::IpAddr& address() const { return address_; }
    uint16_t port() const { return local_port(listener_.get()); }

    // Waits until `n` connections have been served to the end of the handler.
    bool wait_served(size_t n, milliseconds limit = 5s) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, limit, [&] { return served_ >= n; });
    }

    std::vector<std::string> records() {
        std::lock_guard lock(mu_);
        return records_;
    }

    void record(std::string what) {
        std::lock_guard lock(mu_);
        records_.push_back(std::move(what));
    }

private:
    void serve() {
        // A client that has gone makes write() raise SIGPIPE: for this thread
        // only, and held back, so that the write fails instead.
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
        for (;;) {
            pollfd fds[] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
            if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
            if (fds[1].revents & POLLIN) return;
            if (!(fds[0].revents & POLLIN)) continue;
            UniqueFd fd(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
            if (!fd) continue;
            const timeval bound{5, 0};
            setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
            setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &bound, sizeof(bound));
            std::unique_ptr<SSL, decltype(&SSL_free)> ssl(tls_ ? SSL_new(tls_) : nullptr, SSL_free);
            if (ssl) SSL_set_fd(ssl.get(), fd.get());
            if (!ssl || SSL_accept(ssl.get()) == 1) {
                Conn conn(*this, fd.get(), stop_.get(), ssl.get());
                handler_(conn);
                if (ssl) SSL_shutdown(ssl.get());
            }
            {
                std::lock_guard lock(mu_);
                ++served_;
            }
            cv_.notify_all();
        }
    }

    const config::IpAddr address_;
    UniqueFd listener_;
    UniqueFd stop_;
    Handler handler_;
    SSL_CTX* tls_;
    std::mutex mu_;
    std::condition_variable cv_;
    size_t served_ = 0;
    std::vector<std::string> records_;
    std::thread thread_;  // last: it starts once the rest is ready
};

inline void Conn::record(std::string what) { server_.record(std::move(what)); }

// What a probe needs around it.
struct ProbeEnv {
    Loop loop;
    ChildProcesses children;
    config::GlobalDefs global;
    config::VirtualServer vs;
    config::RealServer real;
    ProbeContext context() { return ProbeContext{loop, children, global, vs, real}; }
};

inline config::Checker checker_of(config::CheckerType type, const config::IpAddr& addr, uint16_t port,
                                  milliseconds connect_timeout = 2s) {
    config::Checker c;
    c.type = type;
    c.target.connect_ip = addr;
    c.target.connect_port = port;
    c.timing.connect_timeout = connect_timeout;
    return c;
}

struct Attempt {
    ProbeResult result;
    milliseconds took{};
};

// One attempt run to its end, the contract checked on the way: done() not
// from start(), exactly once, within `limit`, and nothing left watched or
// timed afterwards.
inline Attempt run_attempt(Loop& loop, Probe& probe, milliseconds limit = 5s) {
    std::optional<ProbeResult> result;
    int calls = 0;
    const auto began = std::chrono::steady_clock::now();
    probe.start([&](ProbeResult r) {
        ++calls;
        result = std::move(r);
    });
    EXPECT_EQ(calls, 0) << "done() called from start()";
    while (!result && std::chrono::steady_clock::now() - began < limit) loop.run_once(10ms);
    const auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - began);
    loop.run_once(0ms);  // a second done() would come now
    EXPECT_EQ(calls, 1) << "done() calls";
    EXPECT_EQ(loop.watched(), 0u) << "descriptors left watched";
    EXPECT_EQ(loop.timers(), 0u) << "timers left";
    return {result.value_or(ProbeResult{false, "done() never called", std::nullopt}), took};
}

}  // namespace lbd::check::test
