// TLS client sessions for SSL_GET, as keepalived opens them: any server
// certificate is accepted (keepalived verifies none) and SNI is sent only when
// asked for. Non-blocking: a step that cannot finish says what the socket must
// become ready for before it is tried again.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct ssl_st;

namespace lbd::check {

struct TlsTransport;

struct TlsStep {
    enum class Status { done, want_read, want_write, closed, failed };
    Status status = Status::done;
    size_t bytes = 0;   // done: read or written
    std::string error;  // failed: OpenSSL's reason, or the socket's errno
};

class TlsSession {
public:
    // Over the connected non-blocking socket `fd`, which stays the caller's.
    // `sni` empty: no server name. Throws std::runtime_error when OpenSSL
    // cannot set a session up.
    TlsSession(int fd, const std::string& sni);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    TlsStep handshake();
    TlsStep read(char* buf, size_t len);
    // Retried after want_read/want_write with the same bytes, as OpenSSL asks.
    TlsStep write(const char* data, size_t len);
    // Decrypted bytes read() can return without the socket being readable.
    bool pending() const;

private:
    TlsStep result(int ret, size_t bytes, int err);

    std::unique_ptr<TlsTransport> transport_;  // before ssl_: it outlives the session that uses it
    std::unique_ptr<ssl_st, void (*)(ssl_st*)> ssl_;
};

}  // namespace lbd::check
