// One attempt of a health check: what every checker type (TCP_CHECK,
// HTTP_GET, ...) implements (check/probe_types.h). The engine
// (check/engine.h) decides when attempts run, and each checker's
// CheckerState (check/checker_state.h) what their results mean (retry,
// delay_before_retry, up and down); a probe only runs one attempt on the
// checkers' loop and says how it went.
#pragma once

#include "util/loop.h"
#include "config/model.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lbd {
class ChildProcesses;
}

namespace lbd::check {

struct ProbeResult {
    bool ok = false;
    // keepalived's words for what happened, without the service name, e.g.
    // "connection failed: Connection refused", "status code 404",
    // "MD5 digest mismatch (got 0c2f..., expected 9a1d...)", "timeout".
    std::string detail;
    // MISC_CHECK with misc_dynamic, FILE_CHECK with dynamic: the weight the
    // result sets.
    std::optional<uint32_t> weight;
};

class Probe {
public:
    using Done = std::function<void(ProbeResult)>;
    virtual ~Probe() = default;
    // Starts one attempt; `done` is called exactly once, from a loop
    // callback (never from start() itself), unless cancel() or the
    // destructor comes first. A probe runs one attempt at a time.
    virtual void start(Done done) = 0;
    // Abandons the attempt in flight, closing what it opened; done() is not
    // called. Nothing in flight: nothing.
    virtual void cancel() = 0;
};

// What a probe needs besides its checker's settings.
struct ProbeContext {
    Loop& loop;
    ChildProcesses& children;               // MISC_CHECK
    const config::GlobalDefs& global;       // MISC_CHECK's default script user
    const config::VirtualServer& vs;
    const config::RealServer& real;
};

// The probe of `checker`; throws std::invalid_argument for FILE_CHECK, which
// is no attempt but a watched file (check/engine.h).
std::unique_ptr<Probe> make_probe(const config::Checker& checker, const ProbeContext& context);

}  // namespace lbd::check
