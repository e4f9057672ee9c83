// The config tests' way in: keepalived.conf text, read as if from a file of
// the given name, and the message of what it is refused for.
#pragma once

#include "config/load.h"

#include <string>
#include <string_view>

namespace lbd::config::test {

// what() of the ConfigError reading `text` throws, or "no error".
inline std::string error_of(std::string_view text, const std::string& name) {
    try {
        parse_string(text, name);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace lbd::config::test
