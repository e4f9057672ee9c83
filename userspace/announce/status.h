// What the announcer says of itself (Announcer::status()), for lbctl status
// and the metrics: a copy taken under its own lock.
#pragma once

#include "announce/selection.h"
#include "util/ip_addr.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace lbd::announce {

struct VipStatus {
    IpAddr addr;
    Verdict verdict = Verdict::no_quorum;
    bool in_table = false;  // its route was in the table when last read or written
};

struct Status {
    std::optional<uint32_t> table;  // lb_announce_table; unset: nothing is announced
    bool drained = false;
    std::vector<VipStatus> vips;  // by address
    std::string error;            // the last failure to read or write the table; empty: none
};

}  // namespace lbd::announce
