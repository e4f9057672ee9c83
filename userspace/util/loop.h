// lbd's event loop: descriptors and timers on one thread, so that thousands
// of checks, the control socket's clients or a VRRP engine's sources are
// served without a thread each and without ever waiting. Every part that
// loops (the daemon's main thread, the VRRP engine, the health checkers,
// the metrics listener) runs one of these.
//
// Callbacks run on the loop's thread, one at a time; a callback may watch,
// unwatch, add and cancel freely (its own watch or timer included).
// Only stop(), post() and call() may be used from another thread.
#pragma once

#include "util/unique_fd.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace lbd {

using Clock = std::chrono::steady_clock;

// How long a thread that hands work to another loop waits for the answer
// (lbctl's drain, weight and failover): the loop may be busy, never stuck.
inline constexpr std::chrono::seconds kAnswerWithin{1};

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

    // For an owner whose every turn matters more than any one event (the
    // VRRP engine): before_wait runs before each wait and returns the
    // latest moment the loop may sleep until; after_wake runs as soon as
    // the wait ends, before any descriptor's callback or timer.
    void on_turn(std::function<Clock::time_point()> before_wait, std::function<void()> after_wake);

    // Serves events and timers until stop().
    void run();
    // Serves what is due, waiting at most `max` for an event: for tests.
    void run_once(std::chrono::milliseconds max);
    // Any thread: run() returns after the callback in progress.
    void stop();
    // Any thread: `fn` runs on the loop's thread, in the order posted.
    void post(std::function<void()> fn);
    // Another thread: fn's result once the loop ran it, or nullopt when it
    // did not within `within` (fn may still run later; it must not rely on
    // the caller's stack).
    template <class F>
    auto call(F fn, Clock::duration within = kAnswerWithin) -> std::optional<decltype(fn())> {
        using R = decltype(fn());
        auto done = std::make_shared<std::promise<R>>();
        auto answer = done->get_future();
        post([fn = std::move(fn), done] { done->set_value(fn()); });
        if (answer.wait_for(within) != std::future_status::ready) return std::nullopt;
        return answer.get();
    }

    size_t watched() const { return fds_.size(); }
    size_t timers() const { return timers_.size(); }

private:
    void wait_and_dispatch(std::chrono::milliseconds cap);
    void fire_timers();
    int timeout_ms(std::chrono::milliseconds cap) const;
    void run_posted();

    struct Watch {
        uint32_t generation;  // in the epoll data: an event queued for an fd closed and reused is dropped
        // shared: a callback that unwatches its own fd must not destroy itself mid-call
        std::shared_ptr<FdCallback> cb;
    };

    UniqueFd epoll_;
    UniqueFd wake_;  // eventfd for stop() and post()
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
    std::function<Clock::time_point()> before_wait_;
    std::function<void()> after_wake_;
};

}  // namespace lbd
