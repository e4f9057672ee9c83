// lbctl capture, the daemon's side (bpf/lib/capture.h): the lb object's
// capture switched on for the classes its sessions want, and the `capture`
// ring buffer read into each session's queue. A session not read for
// kLease is closed, so capture is never left on by a client that went away;
// with no session left, capture is off.
//
// Main thread only (the control socket's requests and the daemon's tick).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "lbd_abi.h"

struct lbd_lb;
struct ring_buffer;

namespace lbd::dataplane {

struct CaptureRecord {
    uint64_t at_ns = 0;  // CLOCK_MONOTONIC
    uint32_t ifindex = 0;
    uint32_t len = 0;     // the frame's length
    uint16_t reason = 0;  // as lbd_capture_record's
    uint8_t cls = 0;      // one enum lbd_capture_class
    uint8_t verdict = 0;  // XDP_*
    std::string data;     // the frame's head, at most the session's snap length
};

class Capture {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kLease{3};
    static constexpr size_t kMaxSessions = 4;
    // Records a session holds between two reads; more are counted as lost.
    static constexpr size_t kQueueMax = 4096;

    explicit Capture(const lbd_lb& objects);
    ~Capture();  // capture off
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;

    // A new session for `classes` (enum lbd_capture_class bits) keeping
    // `snaplen` bytes (1..LBD_CAPTURE_SNAP_MAX) of each frame; throws
    // std::invalid_argument for bad arguments, std::runtime_error when
    // kMaxSessions are open.
    uint64_t open(uint32_t classes, uint32_t snaplen, Clock::time_point now);

    struct Batch {
        std::vector<CaptureRecord> records;
        uint64_t lost = 0;  // since the last read: the ring or the queue was full
    };
    // Up to `max` records of the session, and renews its lease; throws
    // std::out_of_range for a session that is not open (closed, expired).
    Batch read(uint64_t session, size_t max, Clock::time_point now);
    void close(uint64_t session);
    // Closes the sessions whose lease has run out.
    void expire(Clock::time_point now);

private:
    struct Session {
        uint32_t classes = 0;
        uint32_t snaplen = 0;
        Clock::time_point lease;
        std::deque<CaptureRecord> queue;
        uint64_t lost = 0;
        uint64_t ring_lost_seen = 0;  // capture_stats' lost count at the last read
    };

    void drain();
    void switch_bpf();
    uint64_t ring_lost() const;
    static int on_record(void* ctx, void* data, size_t size);

    const lbd_lb& objects_;
    ring_buffer* ring_ = nullptr;
    std::map<uint64_t, Session> sessions_;
    uint64_t next_id_ = 1;
};

}  // namespace lbd::dataplane
