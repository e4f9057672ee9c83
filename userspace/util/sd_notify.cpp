#include "util/sd_notify.h"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <ctime>

#include <fmt/format.h>

#include "util/log.h"

namespace lbd::sd {
namespace {

// A socket that has gone away fails every ping: the first failure is worth a
// line, the next thousand are not; a success re-arms the warning.
std::atomic<bool> g_failing{false};

void send(const std::string& state) {
    const int r = sd_notify(0, state.c_str());
    if (r < 0) {
        if (!g_failing.exchange(true))
            log::warn("cannot notify systemd ({}): {}", state.substr(0, state.find('\n')), strerror(-r));
        return;
    }
    if (r > 0)
        g_failing = false;
}

std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

}  // namespace

void ready(const std::string& status) { send("READY=1\nSTATUS=" + one_line(status)); }

void status(const std::string& text) { send("STATUS=" + one_line(text)); }

void reloading() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    const uint64_t usec = static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000;
    send(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", usec));
}

void stopping() { send("STOPPING=1"); }

void watchdog() { send("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_interval() {
    uint64_t usec = 0;
    const int r = sd_watchdog_enabled(0, &usec);
    if (r < 0) {
        log::warn("ignoring WATCHDOG_USEC/WATCHDOG_PID from the environment: {}", strerror(-r));
        return std::nullopt;
    }
    if (r == 0 || usec == 0)
        return std::nullopt;
    return std::chrono::microseconds(usec);
}

WatchdogPacer::WatchdogPacer(std::optional<std::chrono::microseconds> interval, std::function<void()> ping)
    : ping_(std::move(ping)) {
    if (interval)
        period_ = std::chrono::duration_cast<Clock::duration>(*interval) / 2;
}

void WatchdogPacer::tick(Clock::time_point now) {
    if (!period_ || (last_ && now - *last_ < *period_))
        return;
    last_ = now;
    ping_();
}

std::optional<std::chrono::milliseconds> WatchdogPacer::until_due(Clock::time_point now) const {
    if (!period_)
        return std::nullopt;
    if (!last_)
        return std::chrono::milliseconds(0);
    const auto left = *last_ + *period_ - now;
    return std::max(std::chrono::ceil<std::chrono::milliseconds>(left), std::chrono::milliseconds(0));
}

}  // namespace lbd::sd
