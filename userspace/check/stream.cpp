#include "check/stream.h"

#include "check/socket.h"

#include <fmt/format.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;

// A TLS record's plaintext (16 KiB at most) fits whole.
constexpr size_t kReadSize = 16 * 1024;

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

// open_socket() names the target, which the engine's log line names already;
// a connect refused at once then reads like one refused later.
std::string open_error(const std::system_error& e) {
    if (std::string_view(e.what()).starts_with("connect to ")) return "connect: " + e.code().message();
    return e.what();
}

}  // namespace

void Stream::open(const config::CheckTarget& target, const std::optional<TlsOptions>& tls, Then then) {
    close();
    then_ = std::move(then);
    tls_options_ = tls;
    state_ = State::connecting;
    try {
        fd_ = open_socket(target, SOCK_STREAM).fd;
        want(EPOLLOUT);  // a connect that finished at once is writable at once
    } catch (const std::system_error& e) {
        // Not from here: the caller has not finished starting the step.
        failing_ = loop_.after(0ms, [this, error = open_error(e)] {
            failing_ = 0;
            finish(error);
        });
    }
}

void Stream::send(std::string data, Then then) {
    then_ = std::move(then);
    out_ = std::move(data);
    sent_ = 0;
    state_ = State::sending;
    want(EPOLLOUT);
}

void Stream::receive(OnChunk on_chunk) {
    on_chunk_ = std::move(on_chunk);
    state_ = State::receiving;
    want(EPOLLIN);
}

void Stream::close() {
    loop_.cancel(failing_);
    failing_ = 0;
    if (watching_ != 0) loop_.unwatch(fd_.get());
    watching_ = 0;
    tls_.reset();
    fd_.reset();
    state_ = State::idle;
    out_.clear();
    sent_ = 0;
}

void Stream::want(uint32_t events) {
    if (events == watching_) return;
    if (events == 0)
        loop_.unwatch(fd_.get());
    else
        loop_.watch(fd_.get(), events, [this](uint32_t) { step(); });
    watching_ = events;
}

void Stream::step() {
    switch (state_) {
    case State::connecting:
        return connecting();
    case State::handshaking:
        return handshaking();
    case State::sending:
        return sending();
    case State::receiving:
        return receiving();
    case State::idle:  // every way to idle unwatches
        break;
    }
}

void Stream::connecting() {
    if (const int err = connect_result(fd_.get()); err != 0)
        return finish(fmt::format("connect: {}", std::strerror(err)));
    if (!tls_options_) return finish({});
    try {
        tls_ = std::make_unique<TlsSession>(fd_.get(), tls_options_->sni);
    } catch (const std::runtime_error& e) {
        return finish(e.what());
    }
    state_ = State::handshaking;
    handshaking();
}

void Stream::handshaking() {
    const TlsStep r = tls_->handshake();
    switch (r.status) {
    case TlsStep::Status::done:
        return finish({});
    case TlsStep::Status::want_read:
        return want(EPOLLIN);
    case TlsStep::Status::want_write:
        return want(EPOLLOUT);
    case TlsStep::Status::closed:
        return finish("TLS handshake: connection closed by the server");
    case TlsStep::Status::failed:
        return finish("TLS handshake: " + r.error);
    }
}

void Stream::sending() {
    while (sent_ < out_.size()) {
        if (!tls_) {
            const ssize_t n = ::send(fd_.get(), out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
            if (n >= 0) {
                sent_ += static_cast<size_t>(n);
                continue;
            }
            if (would_block(errno)) return;
            return finish(fmt::format("send: {}", std::strerror(errno)));
        }
        const TlsStep r = tls_->write(out_.data() + sent_, out_.size() - sent_);
        switch (r.status) {
        case TlsStep::Status::done:
            sent_ += r.bytes;
            break;
        case TlsStep::Status::want_read:
            return want(EPOLLIN);
        case TlsStep::Status::want_write:
            return want(EPOLLOUT);
        case TlsStep::Status::closed:
            return finish("send: connection closed by the server");
        case TlsStep::Status::failed:
            return finish("send: " + r.error);
        }
    }
    finish({});
}

void Stream::receiving() {
    std::array<char, kReadSize> buf;
    if (!tls_) {
        const ssize_t n = recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n > 0) return deliver({std::string_view(buf.data(), static_cast<size_t>(n)), false, {}});
        if (n == 0) {
            want(0);
            state_ = State::idle;
            return deliver({{}, true, {}});
        }
        if (would_block(errno)) return;
        const std::string error = fmt::format("read: {}", std::strerror(errno));
        close();
        return deliver({{}, false, error});
    }
    TlsStep r = tls_->read(buf.data(), buf.size());
    switch (r.status) {
    case TlsStep::Status::done: {
        if (!tls_->pending()) return deliver({std::string_view(buf.data(), r.bytes), false, {}});
        // Plaintext OpenSSL holds already: the socket will not signal it.
        std::string got(buf.data(), r.bytes);
        while (tls_->pending() && (r = tls_->read(buf.data(), buf.size())).status == TlsStep::Status::done)
            got.append(buf.data(), r.bytes);
        return deliver({got, false, {}});
    }
    case TlsStep::Status::want_read:
        return want(EPOLLIN);
    case TlsStep::Status::want_write:
        return want(EPOLLOUT);
    case TlsStep::Status::closed:
        want(0);
        state_ = State::idle;
        return deliver({{}, true, {}});
    case TlsStep::Status::failed: {
        const std::string error = "read: " + r.error;
        close();
        return deliver({{}, false, error});
    }
    }
}

void Stream::finish(const std::string& error) {
    if (error.empty()) {
        want(0);
        state_ = State::idle;
    } else {
        close();
    }
    Then then = std::move(then_);
    then_ = nullptr;
    then(error);
}

// A copy runs: the receiver may replace on_chunk_ while it runs.
void Stream::deliver(const Chunk& chunk) {
    const OnChunk on_chunk = on_chunk_;
    on_chunk(chunk);
}

void StreamProbe::cancel() {
    loop_.cancel(deadline_);
    deadline_ = 0;
    stream_.close();
    done_ = nullptr;
}

void StreamProbe::begin(Done done) {
    cancel();
    done_ = std::move(done);
}

void StreamProbe::arm(config::Duration limit) {
    loop_.cancel(deadline_);
    deadline_ = loop_.after(limit, [this] {
        deadline_ = 0;
        finish({false, timeout_detail(), std::nullopt});
    });
}

void StreamProbe::finish(ProbeResult result) {
    loop_.cancel(deadline_);
    deadline_ = 0;
    stream_.close();
    Done done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
}

}  // namespace lbd::check
