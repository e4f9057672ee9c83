#include "check/checker_state.h"

namespace lbd::check {

CheckerState::CheckerState(const config::CheckTiming& timing) : CheckerState(timing, !timing.alpha) {}

CheckerState::CheckerState(const config::CheckTiming& timing, bool up) : t_(timing), up_(up) {}

CheckerState::Outcome CheckerState::on_result(bool ok) {
    Outcome o;
    o.next = t_.delay_loop;
    if (ok) {
        retries_ = 0;
        o.changed = !up_;
        up_ = true;
        return o;
    }
    if (up_ && retries_ < t_.retry) {
        ++retries_;
        o.next = t_.delay_before_retry;
        o.retrying = true;
        return o;
    }
    retries_ = 0;
    o.changed = up_;
    up_ = false;
    return o;
}

}  // namespace lbd::check
