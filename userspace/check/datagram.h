// What the datagram probes (UDP_CHECK, DNS_CHECK, PING_CHECK) share: the
// frame of one exchange on a socket connected to the check's target. One
// request goes out whole; each datagram that comes back is the probe's to
// judge until one decides the attempt or connect_timeout passes; ICMP errors
// about the request fail it; done() runs only from the loop, last.
#pragma once

#include "util/loop.h"
#include "check/probe.h"
#include "config/model_checkers.h"
#include "util/unique_fd.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lbd::check {

class DatagramProbe : public Probe {
public:
    ~DatagramProbe() override { cancel(); }
    void cancel() override;

protected:
    // reply() sees at most `max_datagram` bytes of each datagram.
    DatagramProbe(Loop& loop, config::CheckTarget target, config::Duration timeout, size_t max_datagram);

    // A new attempt: what an attempt in flight left is dropped.
    void begin(Done done);
    // Sends `request` in one datagram on connected_socket(), then hands each
    // datagram that comes to reply(); silence() once the timeout passes.
    void exchange(std::span<const uint8_t> request);
    // Fails the attempt with `detail` from the loop, since start() must not
    // call done() itself.
    void fail_soon(std::string detail);

    // A socket connected to target_; UDP unless the probe says otherwise.
    // Throws std::system_error.
    virtual UniqueFd connected_socket();
    // A datagram that came: its first bytes (up to max_datagram) and its
    // whole length. The attempt's result, or nullopt to wait for another.
    virtual std::optional<ProbeResult> reply(std::span<const uint8_t> datagram, size_t length) = 0;
    // The attempt's result when no datagram has decided it by the timeout.
    virtual ProbeResult silence() const = 0;

    const config::CheckTarget target_;

private:
    void on_readable();
    // Closes what the attempt opened, then calls done() as the last thing:
    // done() may destroy the probe.
    void finish(ProbeResult result);

    Loop& loop_;
    const config::Duration timeout_;
    std::vector<uint8_t> buffer_;
    UniqueFd fd_;
    Loop::TimerId timer_ = 0;
    Done done_;
};

}  // namespace lbd::check
