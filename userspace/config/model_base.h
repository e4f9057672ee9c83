// Types every part of the configuration model uses: where a statement was
// written, the error that names it, addresses, times and scripts.
#pragma once

#include "util/command.h"
#include "util/ip_addr.h"

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lbd::config {

struct Location {
    std::string file;
    int line = 0;
    // Where a statement was written is not part of what it means: two
    // models that differ only in line numbers compare equal, so a reload
    // that moved a block is not taken for a change of it.
    bool operator==(const Location&) const { return true; }
};

// "file:line", or just "file" for line 0 (the file as a whole).
std::string to_string(const Location& loc);

// what() is "file:line: message" ("file: message" at line 0), ready for the operator.
class ConfigError : public std::runtime_error {
public:
    ConfigError(const Location& loc, const std::string& message);
};

// The model's addresses are lbd's own (util/ip_addr.h).
using lbd::IpAddr;
using lbd::family_name;

// An address with a prefix length: `10.0.0.1/24`.
struct IpPrefix {
    IpAddr addr;
    uint8_t len = 0;
    std::string str() const;  // "10.0.0.1/24"
    bool operator==(const IpPrefix&) const = default;
};

// keepalived TIMER values: seconds with up to six decimals.
using Duration = std::chrono::microseconds;

// A command keepalived runs (notify_*, quorum_up, a FIFO to write to):
// `COMMAND [USER [GROUP]]`. The command is one word of keepalived.conf — a
// quoted string when it has arguments — kept whole, quotes removed; the
// runner splits it. User and group, when empty, are global_defs' script_user.
struct Script : Command {
    Location loc;
    bool operator==(const Script&) const = default;
};

}  // namespace lbd::config
