// What the stream probes (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK) share: a
// TCP connection to the check's target, with TLS on top for SSL_GET, and the
// frame of one attempt (its deadline, and done() run last, once everything
// the attempt opened is closed).
#pragma once

#include "util/loop.h"
#include "check/probe.h"
#include "check/tls.h"
#include "config/model_checkers.h"
#include "util/unique_fd.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lbd::check {

struct TlsOptions {
    std::string sni;  // empty: no server name
};

// Each step is started by a call and ends in its callback, always run from
// the loop (never from the call itself), so that a callback may start the
// next step or close(). close() at any time silences the step in flight.
class Stream {
public:
    enum class State { idle, connecting, handshaking, sending, receiving };
    // error empty: the step is done. Otherwise the connection is closed and
    // error says why, e.g. "connect: Connection refused".
    using Then = std::function<void(const std::string& error)>;
    struct Chunk {
        std::string_view data;  // what arrived
        bool eof = false;       // the server finished sending
        std::string error;      // reading failed; the connection is closed
    };
    using OnChunk = std::function<void(const Chunk&)>;

    explicit Stream(Loop& loop) : loop_(loop) {}
    ~Stream() { close(); }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    // Connects to `target`, then with `tls` makes the TLS handshake.
    void open(const config::CheckTarget& target, const std::optional<TlsOptions>& tls, Then then);
    // send() and receive(): once open() has succeeded.
    void send(std::string data, Then then);
    // Hands over what arrives, as it arrives, until the end of the stream,
    // an error, another step or close().
    void receive(OnChunk on_chunk);
    void close();

    State state() const { return state_; }

private:
    void step();
    void connecting();
    void handshaking();
    void sending();
    void receiving();
    void want(uint32_t events);
    void finish(const std::string& error);
    void deliver(const Chunk& chunk);

    Loop& loop_;
    UniqueFd fd_;
    std::unique_ptr<TlsSession> tls_;
    std::optional<TlsOptions> tls_options_;
    State state_ = State::idle;
    uint32_t watching_ = 0;  // the events the loop watches fd_ for; 0: none
    Loop::TimerId failing_ = 0;
    Then then_;
    OnChunk on_chunk_;
    std::string out_;
    size_t sent_ = 0;
};

// The frame of a stream probe's attempt.
class StreamProbe : public Probe {
public:
    ~StreamProbe() override { cancel(); }
    void cancel() override;

protected:
    explicit StreamProbe(Loop& loop) : loop_(loop), stream_(loop) {}

    // A new attempt: what an attempt in flight left is dropped.
    void begin(Done done);
    // (Re)starts the deadline: `limit` from now, the attempt fails with
    // timeout_detail().
    void arm(config::Duration limit);
    virtual std::string timeout_detail() const = 0;
    // Closes what the attempt opened, then calls done() as the last thing:
    // done() may destroy the probe.
    void finish(ProbeResult result);

    Loop& loop_;
    Stream stream_;

private:
    Done done_;
    Loop::TimerId deadline_ = 0;
};

}  // namespace lbd::check
