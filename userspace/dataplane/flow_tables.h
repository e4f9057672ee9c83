// The lb program's flow tables (bpf/lbd_abi.h, "Flow tables") as userspace
// reads them: four LRU hashes, TCP and UDP for each family, walked with
// batched lookups (a handful of system calls per thousand entries, where a
// key-by-key walk takes two per entry and restarts when its key is evicted)
// and never further than their capacity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lbd_abi.h"
#include "util/unique_fd.h"

namespace lbd::dataplane {

struct FlowTable {
    const char* pin;  // its name under the pin directory
    uint8_t family;   // LBD_AF_INET: keyed by lbd_flow_key4
    uint8_t proto;    // IPPROTO_TCP or IPPROTO_UDP
};
inline constexpr FlowTable kFlowTables[] = {
    {LBD_PIN_CONNTRACK4, LBD_AF_INET, 6},
    {LBD_PIN_CONNTRACK6, LBD_AF_INET6, 6},
    {LBD_PIN_CONNTRACK_UDP4, LBD_AF_INET, 17},
    {LBD_PIN_CONNTRACK_UDP6, LBD_AF_INET6, 17},
};

// The four tables of a pin directory, opened; throws naming the pin.
struct FlowTableFds {
    explicit FlowTableFds(const std::string& pin_dir);
    UniqueFd fds[std::size(kFlowTables)];
};

// Calls fn(key, flow) for the entries of one table, in batches, visiting at
// most `max` entries (its capacity: under churn a walk meets entries that
// moved); returns how many it visited. Keys come family-neutral.
size_t walk_flows(int fd, const FlowTable& table, size_t max,
                  const std::function<void(const lbd_flow_key&, const lbd_flow&)>& fn);

// Deletes these entries (family-neutral keys) from one table; absent ones
// are no error.
void delete_flows(int fd, const FlowTable& table, const std::vector<lbd_flow_key>& keys);

// How many entries one table holds at most.
size_t flow_table_capacity(int fd);

}  // namespace lbd::dataplane
