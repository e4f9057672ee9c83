#include "util/loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <vector>

namespace lbd {
namespace {

constexpr int kBatch = 256;

[[noreturn]] void fail(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

// epoll data: generation << 32 | fd; generation 0 is the wake-up eventfd.
uint64_t tag(uint32_t generation, int fd) { return uint64_t(generation) << 32 | uint32_t(fd); }

}  // namespace

Loop::Loop() : epoll_(epoll_create1(EPOLL_CLOEXEC)), wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (!epoll_ || !wake_) fail("event loop set-up");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(0, wake_.get());
    if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev) < 0) fail("event loop: epoll_ctl");
}

void Loop::watch(int fd, uint32_t events, FdCallback cb) {
    auto it = fds_.find(fd);
    const uint32_t generation = it != fds_.end() ? it->second.generation : next_generation_++;
    if (next_generation_ == 0) next_generation_ = 1;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag(generation, fd);
    if (epoll_ctl(epoll_.get(), it != fds_.end() ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
        fail("event loop: epoll_ctl");
    fds_[fd] = Watch{generation, std::make_shared<FdCallback>(std::move(cb))};
}

void Loop::unwatch(int fd) {
    if (fds_.erase(fd) > 0) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

Loop::TimerId Loop::at(Clock::time_point when, std::function<void()> cb) {
    const TimerId id = next_id_++;
    auto it = timers_.emplace(when, id);
    timer_cbs_.emplace(id, std::make_pair(it, std::move(cb)));
    return id;
}

void Loop::cancel(TimerId id) {
    auto it = timer_cbs_.find(id);
    if (it == timer_cbs_.end()) return;
    timers_.erase(it->second.first);
    timer_cbs_.erase(it);
}

void Loop::on_turn(std::function<Clock::time_point()> before_wait, std::function<void()> after_wake) {
    before_wait_ = std::move(before_wait);
    after_wake_ = std::move(after_wake);
}

int Loop::timeout_ms(std::chrono::milliseconds cap) const {
    auto until = timers_.empty() ? Clock::time_point::max() : timers_.begin()->first;
    if (before_wait_) until = std::min(until, before_wait_());
    if (until == Clock::time_point::max()) return static_cast<int>(cap.count());
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now());
    return static_cast<int>(std::clamp<int64_t>(left.count(), 0, cap.count()));
}

void Loop::fire_timers() {
    const auto now = Clock::now();
    while (!timers_.empty() && timers_.begin()->first <= now) {
        const TimerId id = timers_.begin()->second;
        timers_.erase(timers_.begin());
        auto node = timer_cbs_.extract(id);
        node.mapped().second();
    }
}

void Loop::wait_and_dispatch(std::chrono::milliseconds cap) {
    epoll_event evs[kBatch];
    const int n = epoll_wait(epoll_.get(), evs, kBatch, timeout_ms(cap));
    if (n < 0 && errno != EINTR) fail("event loop: epoll_wait");
    if (after_wake_) after_wake_();
    for (int i = 0; i < n; ++i) {
        const int fd = static_cast<int>(evs[i].data.u64 & 0xffffffffu);
        const auto generation = static_cast<uint32_t>(evs[i].data.u64 >> 32);
        if (generation == 0) {
            uint64_t v;
            if (read(wake_.get(), &v, sizeof(v)) < 0 && errno != EAGAIN) fail("event loop: wake-up");
            run_posted();
            if (stop_requested_.exchange(false)) stopping_ = true;
            continue;
        }
        // Looked up again for each event: an earlier callback of this batch
        // may have unwatched the fd, or closed it and watched a new one of
        // the same number.
        auto it = fds_.find(fd);
        if (it == fds_.end() || it->second.generation != generation) continue;
        std::shared_ptr<FdCallback> cb = it->second.cb;
        (*cb)(evs[i].events);
    }
    fire_timers();
}

void Loop::run() {
    constexpr std::chrono::milliseconds kForever{60'000};
    while (!stopping_) wait_and_dispatch(kForever);
    stopping_ = false;
}

void Loop::run_once(std::chrono::milliseconds max) { wait_and_dispatch(max); }

void Loop::stop() {
    stop_requested_ = true;
    const uint64_t one = 1;
    if (write(wake_.get(), &one, sizeof(one)) < 0) fail("event loop: stop");
}

void Loop::post(std::function<void()> fn) {
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(fn));
    }
    const uint64_t one = 1;
    if (write(wake_.get(), &one, sizeof(one)) < 0) fail("event loop: post");
}

void Loop::run_posted() {
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock(posted_mutex_);
        batch.swap(posted_);
    }
    for (auto& fn : batch) fn();
}

}  // namespace lbd
