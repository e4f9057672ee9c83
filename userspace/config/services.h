// keepalived.conf in, the immutable lbd configuration out.
//
// What lbd does not act on yet (VRRP, health checkers, notification) is read
// and listed in Config::warnings; what is wrong or would be served
// differently than the operator asked is a ConfigError "file:line: message".
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
