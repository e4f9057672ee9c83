// Where a running lbd instance can be found by other processes (lbctl).
#pragma once

#include <string>

#include "lbd_abi.h"

namespace lbd {

// /run/lbd/<instance>.lock: held (flock) while the daemon runs; holds its pid.
inline std::string lock_path(const std::string& instance) {
    return std::string(LBD_RUN_DIR) + "/" + instance + ".lock";
}

}  // namespace lbd
