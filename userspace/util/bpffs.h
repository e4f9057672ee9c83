// Pin directories under bpffs, for the daemon's maps and lbd-decap's.
#pragma once

#include <string>

#include "util/unique_fd.h"

namespace lbd {

// Mounts bpffs on /sys/fs/bpf when it is not there (`ip netns exec` gives
// each command a fresh /sys without it), then creates `dir`.
void ensure_pin_dir(const std::string& dir);
// Removes the pins in `dir` and the directory itself; missing is fine.
void remove_pin_dir(const std::string& dir);
// Opens a pinned map or program; throws naming the path.
UniqueFd open_pinned(const std::string& path);

}  // namespace lbd
