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

// keepalived's default config id (`-i`): the node name up to its first dot.
std::string default_config_id();

// `config_id` picks the conditional lines (`@ID`, `@^ID`) that are read.
Config load(const std::string& path, const std::string& config_id);

// `name` is the file name in locations; relative includes resolve from the
// current directory.
Config parse_string(std::string_view text, const std::string& name, const std::string& config_id = {});

}  // namespace lbd::config
