// The health checkers' event loop: descriptors and timers on one thread, so
// that thousands of checks run at once without a thread each and nothing
// waits. Callbacks run on the loop's thread, one at a time; a callback may
// watch, unwatch, add and cancel freely (its own watch or timer included).
//
// Only stop() and post() may be called from another thread.
#pragma once

#include "dataplane/bpf_object.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace lbd::check {

using Clock = std::chrono::steady_clock;

class Loop {
public:
    using FdCallback = std::function<void(uint32_t events)>;  // EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP
    using TimerId = uint64_t;

    Loop();  // throws std::system_error
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // Calls `cb` while fd is ready for `events` (level-triggered); watching
    // an fd again replaces its events and callback. The caller owns fd and
    // unwatches it before closing it.
    void watch(int fd, uint32_t events, FdCallback cb);
    void unwatch(int fd);

    // Calls `cb` once at `when` (at once if it has passed). 0 is never an id.
    TimerId at(Clock::time_point when, std::function<void()> cb);
    TimerId after(Clock::duration d, std::function<void()> cb) { return at(Clock::now() + d, std::move(cb)); }
    void cancel(TimerId id);  // unknown or already fired: nothing

    // Serves events and timers until stop().
    void run();
    // Serves what is due, waiting at most `max` for an event: for tests.
    void run_once(std::chrono::milliseconds max);
    // Any thread: run() returns after the callback in progress.
    void stop();
    // Any thread: `fn` runs on the loop's thread, in the order posted.
    void post(std::function<void()> fn);

    size_t watched() const { return fds_.size(); }
    size_t timers() const { return timers_.size(); }

private:
    void wait_and_dispatch(int timeout_ms);
    void fire_timers();
    int timeout_ms(std::chrono::milliseconds cap) const;

    struct Watch {
        uint32_t generation;  // in the epoll data: an event queued for an fd closed and reused is dropped
        // shared: a callback that unwatches its own fd must not destroy itself mid-call
        std::shared_ptr<FdCallback> cb;
    };

    void run_posted();

    bpf::UniqueFd epoll_;
    bpf::UniqueFd wake_;  // eventfd for stop() and post()
    std::mutex posted_mutex_;
    std::vector<std::function<void()>> posted_;
    std::atomic<bool> stop_requested_{false};
    std::unordered_map<int, Watch> fds_;
    uint32_t next_generation_ = 1;
    std::multimap<Clock::time_point, TimerId> timers_;
    std::unordered_map<TimerId, std::pair<std::multimap<Clock::time_point, TimerId>::iterator, std::function<void()>>>
        timer_cbs_;
    TimerId next_id_ = 1;
    bool stopping_ = false;
};

}  // namespace lbd::check
