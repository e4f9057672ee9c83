// What one checker's attempts make of it, as keepalived's checkers count
// them: a failure while the checker is up is retried `retry` times (also
// written nb_get_retry), `delay_before_retry` apart, and the failure after
// the last retry takes it down; while down, one success brings it up.
// Attempts otherwise run every `delay_loop`. A checker starts up, or down
// with `alpha`. Pure: the caller runs the attempts and waits the delays.
#pragma once

#include "config/model_checkers.h"

#include <chrono>
#include <cstdint>

namespace lbd::check {

class CheckerState {
public:
    explicit CheckerState(const config::CheckTiming& timing);
    // When restarted by a reload: the state the previous run had reached.
    CheckerState(const config::CheckTiming& timing, bool up);

    struct Outcome {
        config::Duration next;  // until the next attempt
        bool changed = false;   // up() changed with this result
        bool retrying = false;  // a failure that is being retried
    };
    Outcome on_result(bool ok);

    bool up() const { return up_; }
    uint32_t retries() const { return retries_; }  // of the failure being retried

private:
    config::CheckTiming t_;
    bool up_;
    uint32_t retries_ = 0;
};

}  // namespace lbd::check
