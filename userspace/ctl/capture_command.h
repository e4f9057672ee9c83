// The control socket's `capture` command (docs/control.md): a session of
// dataplane::Capture opened, read in batches by polling, and stopped, over
// the protocol's request/reply lines.
#pragma once

#include <nlohmann/json.hpp>

#include "dataplane/capture.h"

namespace lbd::ctl {

// Records one read returns at most: a reply of some 150 KiB.
inline constexpr size_t kCaptureBatch = 256;

// args {"classes": [...], "snaplen": N} opens a session; {"session": ID}
// reads it; {"session": ID, "stop": true} closes it. Throws RequestError.
nlohmann::json capture_command(dataplane::Capture* capture, const nlohmann::json& args);

}  // namespace lbd::ctl
