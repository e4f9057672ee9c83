#include "check/probe_types.h"
#include "util/child_process.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;

ProbeResult failed(std::string detail) { return {false, std::move(detail), std::nullopt}; }
ProbeResult passed(std::string detail) { return {true, std::move(detail), std::nullopt}; }

// keepalived's reading of a MISC_CHECK script's end (check_misc.c).
ProbeResult judge(const ChildResult& r, bool dynamic) {
    if (r.timed_out) return failed("timed out");
    if (r.signal != 0) return failed(fmt::format("killed by signal {}", r.signal));
    if (r.exit_status < 0) return failed("ended, with its exit status lost");
    if (r.exit_status == 0) return passed("exited with status 0");
    // misc_dynamic: 2..255 is a weight of 0..253; 0 keeps the configured one.
    if (dynamic && r.exit_status >= 2)
        return {true, fmt::format("exited with status {}: weight {}", r.exit_status, r.exit_status - 2),
                static_cast<uint32_t>(r.exit_status - 2)};
    return failed(fmt::format("exited with status {}", r.exit_status));
}

class MiscProbe final : public Probe {
public:
    MiscProbe(const config::Checker& checker, const ProbeContext& context)
        : loop_(context.loop), children_(context.children) {
        const auto& misc = std::get<config::MiscCheck>(checker.detail);
        script_ = with_default_user({misc.command, misc.user, misc.group}, context.global.script_user,
                                    context.global.script_group);
        const config::Duration timeout = misc.timeout != config::Duration{0} ? misc.timeout : checker.timing.delay_loop;
        // ChildProcesses counts milliseconds and reads 0 as "no timeout".
        timeout_ = std::max(std::chrono::ceil<std::chrono::milliseconds>(timeout), 1ms);
        dynamic_ = misc.dynamic;
    }
    ~MiscProbe() override { cancel(); }

    void start(Done done) override {
        cancel();
        attempt_ = std::make_shared<Done>(std::move(done));
        // The child may end after this attempt was cancelled, or after the
        // probe is gone: its result then goes nowhere.
        std::weak_ptr<Done> attempt = attempt_;
        std::optional<std::string> error =
            children_.start(script_, {}, timeout_, [this, attempt](const ChildResult& r) {
                if (!attempt.expired()) finish(judge(r, dynamic_));
            });
        if (error)  // done() only from the loop, never from start()
            timer_ = loop_.after(0ms, [this, detail = std::move(*error)] {
                timer_ = 0;
                finish(failed(detail));
            });
    }

    void cancel() override {
        attempt_.reset();
        if (timer_ != 0) loop_.cancel(timer_);
        timer_ = 0;
    }

private:
    void finish(ProbeResult result) {
        Done done = std::move(*attempt_);
        cancel();
        done(std::move(result));
    }

    Loop& loop_;
    ChildProcesses& children_;
    Command script_;
    std::chrono::milliseconds timeout_{};
    bool dynamic_ = false;
    std::shared_ptr<Done> attempt_;  // the only owner: the children hold weak ones
    Loop::TimerId timer_ = 0;
};

}  // namespace

std::unique_ptr<Probe> make_misc_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<MiscProbe>(checker, context);
}

}  // namespace lbd::check
