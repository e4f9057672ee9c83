// Reads what the lb program counts, straight from the pinned maps, summing
// the per-CPU values. Used by the control socket's commands and the metrics
// (userspace/ctl/), and by the tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lbd_abi.h"

namespace lbd::dataplane {

struct VipView {
    lbd_vip_key key{};  // family-neutral, whichever map it came from
    lbd_vip_meta meta{};
    bool active = false;
    lbd_counters counters{};
};

struct RealView {
    uint32_t index = 0;
    lbd_real real{};
    lbd_counters counters{};
};

struct Snapshot {
    std::vector<VipView> vips;
    std::vector<RealView> reals;        // entries with an address
    std::vector<uint64_t> reasons;      // indexed by enum lbd_reason
    std::vector<uint64_t> vrrp_reasons; // indexed by enum lbd_vrrp_reason
    std::vector<uint64_t> flow_events;  // indexed by enum lbd_flow_event
};

// Throws naming the pin that could not be read.
Snapshot read_snapshot(const std::string& pin_dir);

// One flow table entry, whichever table it came from.
struct FlowView {
    lbd_flow_key key{};  // family-neutral
    lbd_flow flow{};
};
// The flow table entries for which `keep` is true, at most `limit` of them;
// `total` gets how many `keep` accepted in all. Walks every table in
// batches, no further than its capacity. Throws naming the pin.
std::vector<FlowView> read_flows(const std::string& pin_dir, const std::function<bool(const FlowView&)>& keep,
                                 size_t limit, size_t& total);
const char* reason_name(unsigned reason);
const char* vrrp_reason_name(unsigned reason);
const char* flow_event_name(unsigned event);
std::string addr_str(const lbd_addr& addr, unsigned family);
// How lbctl and the metrics name a virtual service: "10.213.0.100:tcp:80",
// "[fd00::1]:tcp:80" (keepalived's brackets, where a bare IPv6 address would
// run into the port).
std::string vip_name(const lbd_vip_key& key);
// enum lbd_fwd_mode as keepalived's lb_kind spells it: "DR", "TUN".
const char* mode_name(unsigned mode);
std::string mac_str(const __u8* mac);

}  // namespace lbd::dataplane
