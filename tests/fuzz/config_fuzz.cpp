// libFuzzer target for the keepalived.conf reader: any input must parse or
// fail with ConfigError; anything else escaping (or a crash) is a bug.
#include "config/model.h"
#include "config/load.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // `include` reads host files (/dev/zero, /proc/...), which would make
    // runs slow and irreproducible; include handling has its own unit tests.
    if (text.find("include") != std::string_view::npos) return 0;
    try {
        lbd::config::parse_string(text, "fuzz.conf", "fuzz");  // @fuzz lines are read, @^fuzz ones not
    } catch (const lbd::config::ConfigError&) {
    }
    return 0;
}
