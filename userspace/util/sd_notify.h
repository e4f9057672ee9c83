// systemd's notification protocol (sd_notify(3)) for config/lbd.service,
// Type=notify with WatchdogSec=. Every call is a no-op when NOTIFY_SOCKET is
// unset (lbd not started by systemd), so the daemon calls them
// unconditionally. They are safe from any thread: each sends one datagram on
// a socket of its own.
//
// How the daemon uses them:
//   - ready(summary) once "lbd ready: ..." is logged, with that line's text
//     as summary: systemd's start job completes there, so units ordered
//     After=lbd.service start with the lb program attached and the
//     services applied.
//   - status(summary) whenever that one-line summary changes (a VRRP
//     transition, a checker taking a real out): `systemctl status` shows it.
//   - reloading() when SIGHUP arrives, then ready(summary) when the reload
//     finished or failed: lbd serves in both cases (a failed reload keeps the
//     running configuration), and the summary says which.
//   - stopping() first thing on SIGTERM/SIGINT, before VRRP's priority 0.
//   - a WatchdogPacer made from watchdog_interval() in the main thread
//     before any engine starts (the environment systemd set at exec is read
//     once, not by several threads), then handed to one loop, its owner: the
//     VRRP engine's thread when there is a vrrp_instance (the watchdog then
//     means "elections are being served"), otherwise the main loop. That
//     loop calls tick(now) at every iteration and caps its epoll_wait
//     timeout with until_due(now), since a loop with no timer armed (every
//     instance in FAULT) would otherwise sleep through the watchdog.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace lbd::sd {

// READY=1 with STATUS=status: start-up (or a reload) is over and lbd serves.
void ready(const std::string& status);
// STATUS=text, shown by `systemctl status lbd`. A newline in text would end
// the field and start another assignment: it is sent as a space.
void status(const std::string& text);
// RELOADING=1 with MONOTONIC_USEC= (the CLOCK_MONOTONIC time it started, which
// Type=notify-reload of systemd 253 and later requires; systemd 252 ignores
// it). systemd shows the unit reloading until the next ready().
void reloading();
// STOPPING=1: systemd shows the unit deactivating while VRRP releases its
// addresses and the stop scripts run.
void stopping();
// WATCHDOG=1, the keep-alive ping. Loops use WatchdogPacer rather than this.
void watchdog();

// WatchdogSec= as systemd passes it (WATCHDOG_USEC, for this pid when
// WATCHDOG_PID is set); nullopt when no watchdog is asked for. Logs and
// returns nullopt for a malformed WATCHDOG_USEC.
std::optional<std::chrono::microseconds> watchdog_interval();

// Sends WATCHDOG=1 from a loop at most once per half interval, as
// sd_watchdog_enabled(3) advises: often enough that one late iteration does
// not fail the unit, rarely enough to cost nothing. Time comes in as
// arguments, so tests drive it without sleeping. One owner: not thread-safe.
class WatchdogPacer {
public:
    using Clock = std::chrono::steady_clock;

    // interval: watchdog_interval(); nullopt makes every tick() a no-op.
    // ping: what a due tick() does.
    explicit WatchdogPacer(std::optional<std::chrono::microseconds> interval, std::function<void()> ping = watchdog);

    bool enabled() const { return period_.has_value(); }

    // Pings when half the interval has passed since the last ping; the first
    // call pings.
    void tick(Clock::time_point now);

    // How long the owning loop may sleep before tick() is due again, rounded
    // up to whole milliseconds (rounding down would wake the loop just
    // before the deadline, again and again, with a zero timeout); nullopt
    // when the pacer is disabled.
    std::optional<std::chrono::milliseconds> until_due(Clock::time_point now) const;

private:
    std::optional<Clock::duration> period_;
    std::function<void()> ping_;
    std::optional<Clock::time_point> last_;
};

}  // namespace lbd::sd
