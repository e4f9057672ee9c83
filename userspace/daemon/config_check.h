// What this build of lbd acts on, against what a keepalived.conf may ask
// for. The config reader models everything keepalived users write; the
// engines arrive one by one, and until then the operator is told, once, with
// the line, what is read but not run.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"

namespace lbd {

// "file:line: ..." for each block lbd reads but does not run yet.
std::vector<std::string> not_acted_on(const config::Config& cfg);
// "file:line: ..." for what is served with a limit an operator should know
// (NAT services sharing a real's port: connection state for their replies).
std::vector<std::string> caveats(const config::Config& cfg);
// "file:line: interface X does not exist on this host" for each interface the
// file names that this host lacks (lb_interface included).
std::vector<std::string> missing_interfaces(const config::Config& cfg);

// keepalived's warning when a script would run as root while
// enable_script_security is off; nullopt when none would.
std::optional<std::string> script_security_warning(const config::Config& cfg);

// `lbd -t` and `lbctl check`: parse (with the `@ID` lines of `config_id`),
// validate, say on `out` what would not be acted on and which interfaces
// are missing here (a warning: configs are often checked elsewhere). 0 when
// valid, 1 with "file:line: message".
int check_config(const std::string& path, const std::string& config_id, std::FILE* out);

}  // namespace lbd
