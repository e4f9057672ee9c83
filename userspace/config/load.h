// keepalived.conf in, the immutable lbd configuration out.
//
// Every block keepalived knows is read into the model (config/model.h). What
// lbd reads but does not act on is listed in Config::warnings; what is wrong
// — a value out of range, an unknown keyword, a reference to nothing — is a
// ConfigError "file:line: message".
#pragma once

#include "config/model.h"

#include <string>
#include <string_view>

namespace lbd::config {

Config load(const std::string& path);

// `name` is the file name in locations; relative includes resolve from the
// current directory.
Config parse_string(std::string_view text, const std::string& name);

}  // namespace lbd::config
