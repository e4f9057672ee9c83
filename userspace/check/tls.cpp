#include "check/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace lbd::check {

// The socket under a session. OpenSSL's own socket BIO writes with write(),
// which raises SIGPIPE when the server has gone away; ours sends with
// MSG_NOSIGNAL, and remembers the end of the stream for BIO_eof(), which
// OpenSSL asks to tell a closed connection from a failed read.
struct TlsTransport {
    int fd;
    bool eof = false;
};

namespace {

TlsTransport& transport_of(BIO* b) { return *static_cast<TlsTransport*>(BIO_get_data(b)); }

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int bio_write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    const ssize_t n = send(transport_of(b).fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
    if (n < 0 && would_block(errno)) BIO_set_retry_write(b);
    return static_cast<int>(n);
}

int bio_read(BIO* b, char* buf, int len) {
    BIO_clear_retry_flags(b);
    const ssize_t n = recv(transport_of(b).fd, buf, static_cast<size_t>(len), 0);
    if (n == 0) transport_of(b).eof = true;
    if (n < 0 && would_block(errno)) BIO_set_retry_read(b);
    return static_cast<int>(n);
}

long bio_ctrl(BIO* b, int cmd, long, void*) {
    switch (cmd) {
    case BIO_CTRL_FLUSH:  // nothing is buffered here
        return 1;
    case BIO_CTRL_EOF:
        return transport_of(b).eof ? 1 : 0;
    default:
        return 0;
    }
}

// The most specific reason OpenSSL queued, and the queue emptied for the
// next call.
std::string openssl_error() {
    const unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    if (e == 0) return "unknown error";
    if (const char* reason = ERR_reason_error_string(e)) return reason;
    char text[256];
    ERR_error_string_n(e, text, sizeof(text));
    return text;
}

// Made once and kept for the life of the process: every session of every
// checker shares them.
const BIO_METHOD* socket_method() {
    static BIO_METHOD* const method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "lbd check socket");
        if (m == nullptr || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) ||
            !BIO_meth_set_ctrl(m, bio_ctrl))
            throw std::runtime_error("TLS: cannot make the socket BIO: " + openssl_error());
        return m;
    }();
    return method;
}

SSL_CTX* client_context() {
    static SSL_CTX* const ctx = [] {
        SSL_CTX* c = SSL_CTX_new(TLS_client_method());
        if (c == nullptr) throw std::runtime_error("TLS: cannot make a client context: " + openssl_error());
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
        // Many servers close without close_notify; for a check that is the
        // end of the response, not an error.
        SSL_CTX_set_options(c, SSL_OP_IGNORE_UNEXPECTED_EOF);
        return c;
    }();
    return ctx;
}

}  // namespace

TlsSession::TlsSession(int fd, const std::string& sni)
    : transport_(std::make_unique<TlsTransport>(TlsTransport{fd})), ssl_(SSL_new(client_context()), SSL_free) {
    if (!ssl_) throw std::runtime_error("TLS: cannot make a session: " + openssl_error());
    BIO* bio = BIO_new(socket_method());
    if (bio == nullptr) throw std::runtime_error("TLS: cannot make the socket BIO: " + openssl_error());
    BIO_set_data(bio, transport_.get());
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_.get(), bio, bio);
    if (!sni.empty() && !SSL_set_tlsext_host_name(ssl_.get(), sni.c_str()))
        throw std::runtime_error("TLS: cannot set the server name " + sni + ": " + openssl_error());
    SSL_set_connect_state(ssl_.get());
}

TlsSession::~TlsSession() = default;

// SSL_get_error() reads the thread's error queue: it must hold only what the
// call just made queued.
TlsStep TlsSession::handshake() {
    ERR_clear_error();
    errno = 0;
    const int ret = SSL_connect(ssl_.get());
    return result(ret, 0, errno);
}

TlsStep TlsSession::read(char* buf, size_t len) {
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    const int ret = SSL_read_ex(ssl_.get(), buf, len, &n);
    return result(ret, n, errno);
}

TlsStep TlsSession::write(const char* data, size_t len) {
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    const int ret = SSL_write_ex(ssl_.get(), data, len, &n);
    return result(ret, n, errno);
}

bool TlsSession::pending() const { return SSL_pending(ssl_.get()) > 0; }

TlsStep TlsSession::result(int ret, size_t bytes, int err) {
    using S = TlsStep::Status;
    switch (SSL_get_error(ssl_.get(), ret)) {
    case SSL_ERROR_NONE:
        return {S::done, bytes, {}};
    case SSL_ERROR_WANT_READ:
        return {S::want_read, 0, {}};
    case SSL_ERROR_WANT_WRITE:
        return {S::want_write, 0, {}};
    case SSL_ERROR_ZERO_RETURN:
        return {S::closed, 0, {}};
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) return {S::failed, 0, err != 0 ? std::strerror(err) : "connection closed"};
        return {S::failed, 0, openssl_error()};
    default:
        return {S::failed, 0, openssl_error()};
    }
}

}  // namespace lbd::check
