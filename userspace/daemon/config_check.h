// What this build of lbd acts on, against what a keepalived.conf may ask
// for. The config reader models everything keepalived users write; the
// engines arrive one by one, and until then the operator is told, once, with
// the line, what is read but not run.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "config/model.h"

namespace lbd {

// "file:line: ..." for each block lbd reads but does not run yet.
std::vector<std::string> not_acted_on(const config::Config& cfg);
// The virtual servers the data plane can serve (NAT cannot be, yet).
std::vector<config::VirtualServer> servable(const config::Config& cfg);
// "file:line: interface X does not exist on this host" for each interface the
// file names that this host lacks (lb_interface included).
std::vector<std::string> missing_interfaces(const config::Config& cfg);

// `lbd -t` and `lbctl check`: parse (with the `@ID` lines of `config_id`),
// validate, say on `out` what would not be acted on and which interfaces
// are missing here (a warning: configs are often checked elsewhere). 0 when
// valid, 1 with "file:line: message".
int check_config(const std::string& path, const std::string& config_id, std::FILE* out);

}  // namespace lbd
