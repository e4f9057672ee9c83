// A command line to run and who runs it (util/child_process.h runs it).
#pragma once

#include <string>

namespace lbd {

// keepalived's `COMMAND [USER [GROUP]]`. The command is kept whole;
// split_command() splits it. An empty user is the daemon's own identity.
struct Command {
    std::string command;
    std::string user;
    std::string group;  // as written; a leading ':' asks for supplementary groups
    bool operator==(const Command&) const = default;
};

}  // namespace lbd
