// What became of the daemon's configuration loads, as `lbctl status`, the
// metrics, systemd's STATUS and the SIGUSR1 dump report it. The daemon keeps
// one and hands out copies.
#pragma once

#include <cstdint>
#include <string>

namespace lbd::ctl {

struct Reloads {
    int64_t loaded_unix_ms = 0;  // the running configuration's load: start-up or the last applied reload
    int64_t last_unix_ms = 0;    // when the last reload ended; 0: none since start-up
    bool last_applied = true;    // the last reload (start-up when none) applied its file
    std::string last_error;      // why it did not, as logged after "Reload failed"
    uint64_t applied = 0;        // reloads since start-up, by outcome
    uint64_t failed = 0;
};

}  // namespace lbd::ctl
