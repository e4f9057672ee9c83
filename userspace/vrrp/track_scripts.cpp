#include "vrrp/track_scripts.h"

#include "util/log.h"

#include <sys/timerfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace lbd::vrrp {
namespace {

using Clock = std::chrono::steady_clock;

// What a run that could not start counts as: a shell's "command not found".
constexpr int kCannotRun = 127;

// keepalived: a script without a timeout may run for its whole interval.
std::chrono::milliseconds timeout_of(const config::VrrpScript& s) {
    const auto t = s.timeout.count() > 0 ? s.timeout : s.interval;
    return std::max(std::chrono::ceil<std::chrono::milliseconds>(t), std::chrono::milliseconds(1));
}

// keepalived's line for a change of status; ScriptTracker words the exit
// status case, keepalived has its own words for the two others.
std::string change_line(const std::string& name, const ChildResult& r, std::string tracker_line) {
    if (r.timed_out) return fmt::format("VRRP_Script({}) timed_out", name);
    if (r.signal != 0) return fmt::format("VRRP_Script({}) failed (due to signal {})", name, r.signal);
    return tracker_line;
}

}  // namespace

struct TrackScripts::Script {
    Script(const config::VrrpScript& c, Command cmd, Clock::time_point first_run)
        : cfg(c), command(std::move(cmd)), tracker(c.name, c.rise, c.fall, c.init_fail), next_run(first_run) {}

    config::VrrpScript cfg;
    Command command;  // its user resolved
    ScriptTracker tracker;
    Clock::time_point next_run;
    bool running = false;
    std::optional<int> last_exit;  // keepalived logs each new exit status
    std::string start_error;       // logged once, until a start succeeds
};

TrackScripts::TrackScripts(ChildProcesses& children, const std::vector<config::VrrpScript>& scripts,
                           OnChange on_change, const config::GlobalDefs& global,
                           const std::map<std::string, std::pair<config::VrrpScript, ScriptTracker>>& previous)
    : children_(children),
      on_change_(std::move(on_change)),
      timer_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {
    if (!timer_) throw std::system_error(errno, std::generic_category(), "vrrp_script timerfd");
    const auto now = Clock::now();
    for (const config::VrrpScript& s : scripts) {
        const Command command{s.command, s.user, s.group};
        scripts_.push_back(std::make_shared<Script>(s, with_default_user(command, global.script_user, global.script_group), now));
        if (auto p = previous.find(s.name); p != previous.end() && p->second.first == s)
            scripts_.back()->tracker = p->second.second;
    }
    arm();
}

void TrackScripts::dispatch() {
    uint64_t expirations;
    if (read(timer_.get(), &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
        throw std::system_error(errno, std::generic_category(), "vrrp_script timerfd");
    const auto now = Clock::now();
    for (const auto& s : scripts_) {
        if (s->next_run > now) continue;
        s->next_run = now + s->cfg.interval;
        if (s->running)
            log::info("Track script {} is already running, expect idle - skipping run", s->cfg.name);
        else
            run(s);
    }
    arm();
}

std::map<std::string, std::pair<config::VrrpScript, ScriptTracker>> TrackScripts::trackers() const {
    std::map<std::string, std::pair<config::VrrpScript, ScriptTracker>> out;
    for (const auto& s : scripts_) out.emplace(s->cfg.name, std::make_pair(s->cfg, s->tracker));
    return out;
}

Status TrackScripts::status(const std::string& name) const {
    for (const auto& s : scripts_)
        if (s->cfg.name == name) return s->tracker.status();
    throw std::out_of_range(fmt::format("no vrrp_script {}", name));
}

void TrackScripts::run(const std::shared_ptr<Script>& s) {
    const std::weak_ptr<Script> weak = s;
    auto error = children_.start(s->command, {}, timeout_of(s->cfg), [this, weak](const ChildResult& r) {
        if (auto alive = weak.lock()) finished(*alive, r);
    });
    if (!error) {
        s->running = true;
        s->start_error.clear();
        return;
    }
    if (*error != s->start_error) log::warn("VRRP_Script({}) cannot run: {}", s->cfg.name, *error);
    s->start_error = *error;
    ChildResult r;
    r.exit_status = kCannotRun;
    finished(*s, r);
}

void TrackScripts::finished(Script& s, const ChildResult& r) {
    s.running = false;
    const bool exited = !r.timed_out && r.signal == 0;
    if (exited && r.exit_status != s.last_exit) {
        log::info("Script `{}` now returning {}", s.cfg.name, r.exit_status);
        s.last_exit = r.exit_status;
    }
    auto line = s.tracker.on_result(exited ? r.exit_status : -1);  // killed: a failure
    if (!line) return;
    log::info("{}", change_line(s.cfg.name, r, std::move(*line)));
    on_change_(s.cfg.name, s.tracker.status());
}

void TrackScripts::arm() const {
    if (scripts_.empty()) return;
    auto next = Clock::time_point::max();
    for (const auto& s : scripts_) next = std::min(next, s->next_run);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(next.time_since_epoch()).count();
    itimerspec spec{};
    spec.it_value = {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
    if (timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) < 0)
        throw std::system_error(errno, std::generic_category(), "vrrp_script timerfd");
}

}  // namespace lbd::vrrp
