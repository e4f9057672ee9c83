// Where a running lbd instance can be found by other processes (lbctl,
// lbd --cleanup).
#pragma once

#include <string>

namespace lbd {

// The lock and the control socket of each instance.
inline constexpr const char* kRunDir = "/run/lbd";

// /run/lbd/<instance>.lock: held (flock) while the daemon runs; holds its pid.
inline std::string lock_path(const std::string& instance) {
    return std::string(kRunDir) + "/" + instance + ".lock";
}

}  // namespace lbd
