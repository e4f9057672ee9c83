// RAII fixture around the lb program for BPF_PROG_TEST_RUN: opens and loads
// the skeleton with every pin removed (tests never touch /sys/fs/bpf), fills
// the maps, runs one frame and reads the per-CPU reason counters back.
#pragma once

#include "frame.h"
#include "lbd_abi.h"

#include <linux/bpf.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct lbd_lb;

namespace lbd::test {

// Result of a fixture step: err is 0 or a negative errno, what says which
// step failed and why.
struct Status {
    int err = 0;
    std::string what;
    bool ok() const { return err == 0; }
};

// Why BPF fixtures cannot run in this process (not root), or empty.
std::string bpf_skip_reason();

// Moves the calling process into a fresh network namespace with lo up, so
// ingress_ifindex is 1 and bpf_fib_lookup sees no routes but lo's. Done once;
// later calls return the first result.
Status enter_test_netns();

struct RunResult {
    int err = 0;           // bpf_prog_test_run_opts: 0 or -errno
    uint32_t verdict = 0;  // XDP_* or TC_ACT_*
    Bytes out;
};

// Runs prog_fd once on frame (no ctx: the kernel uses lo of the caller's
// namespace as the ingress device) and returns the verdict and output frame.
// The kernel refuses (EINVAL) a frame shorter than ETH_HLEN, metadata or not.
RunResult test_run(int prog_fd, const Bytes& frame);

using ReasonCounts = std::array<uint64_t, LBD_REASON_MAX>;
const char* reason_name(uint32_t reason);
const char* xdp_verdict_name(uint32_t verdict);

// Map keys and values in their wire form. Ports are given in host order.
lbd_vip_key vip_key4(uint32_t addr, uint16_t port, uint8_t proto);
lbd_vip_key vip_key6(const Ip6& addr, uint16_t port, uint8_t proto);
lbd_real real4(uint32_t addr, const Mac& next_hop, uint32_t ifindex, uint8_t flags);
lbd_real real6(const Ip6& addr, const Mac& next_hop, uint32_t ifindex, uint8_t flags);
lbd_flow_key flow_key4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto);
lbd_flow_key flow_key6(const Ip6& src, const Ip6& dst, uint16_t sport, uint16_t dport,
                       uint8_t proto);

// The program's flow hashes, computed by compiling bpf/lib/hash.h as C++.
uint32_t flow_hash(const lbd_flow_key& k);
uint32_t source_hash(const lbd_flow_key& k);

struct LbOptions {
    std::optional<uint64_t> ct_idle_tcp_ns;  // rodata knobs; unset keeps the default
    std::optional<uint64_t> ct_idle_udp_ns;
    uint32_t conntrack_entries = 4096;  // small: the default preallocates per CPU
};

class LbFixture {
public:
    explicit LbFixture(const LbOptions& opts = {});
    ~LbFixture();
    LbFixture(const LbFixture&) = delete;
    LbFixture& operator=(const LbFixture&) = delete;

    // Whether open and load succeeded; every other call needs it.
    const Status& status() const { return status_; }

    // vips[key] = meta, vip_addrs[key's address] and vip_active[meta.vip_id] = active.
    Status add_vip(const lbd_vip_key& key, const lbd_vip_meta& meta, bool active = true);
    // lease: 1 + the VRRP instance whose lease fences the VIP; 0: none.
    Status set_vip_active(uint32_t vip_id, bool active, uint32_t lease = 0);
    // vrrp_leases[instance_id], current until expires_ns (CLOCK_MONOTONIC;
    // 0: no lease), of an instance in `state` with lease `flags`.
    Status set_lease(uint32_t instance_id, uint64_t expires_ns, uint8_t state = LBD_VRRP_MASTER,
                     uint8_t flags = 0);
    // vrrp_fence[the address of `addr`] = instance_id.
    Status set_fenced(const lbd_vip_key& addr, uint32_t instance_id);
    // Like the daemon, copies ifaces[real.ifindex] into real.egress when the
    // real has a next hop (LBD_REAL_F_NEIGH), and set_iface() refreshes the
    // copies; a next hop on an interface without an entry is written as no
    // next hop at all.
    Status set_real(uint32_t index, const lbd_real& real);
    Status set_iface(uint32_t ifindex, const lbd_iface& iface);
    // A new inner array of slots.size() entries swapped into rings[vip_id].
    Status set_ring(uint32_t vip_id, const std::vector<uint32_t>& slots);
    Status clear_ring(uint32_t vip_id);
    Status set_tx_port(uint32_t key, uint32_t ifindex);
    Status put_flow(const lbd_flow_key& key, const lbd_flow& flow);
    // Removes one conntrack entry; an absent entry is not an error.
    Status delete_flow(const lbd_flow_key& key);

    // NAT: nat_reverse[real's (address, port, protocol)] = the service its
    // replies answer for; the program's nat_in_use switch.
    Status set_nat_reverse(const lbd_vip_key& real, const lbd_nat_service& service);
    void set_nat_in_use(bool on);
    // The program's announce_lease_ns (bpf/lib/fence.h): 0 none.
    void set_announce_lease(uint64_t expires_ns);
    // The nat_replies entry of a reply as the real sends it, if any.
    std::optional<lbd_nat_service> nat_reply(const lbd_flow_key& reply) const;
    // The records queued in nat_unresolved, taken off the ring.
    std::vector<lbd_nat_unresolved> unresolved();

    // lc / wlc: lc_sets[vip_id], and real_conns[index] as the program keeps it.
    Status set_lc_set(uint32_t vip_id, const std::vector<lbd_lc_member>& members);
    Status set_real_conns(uint32_t index, int64_t conns);
    int64_t real_conns(uint32_t index) const;
    std::optional<lbd_flow> half_open(const lbd_flow_key& key) const;
    // The flood guard's new entries per CPU and second (0: off).
    void set_guard_rate(uint32_t per_cpu_per_second);
    // flow_events[event] summed over CPUs.
    uint64_t flow_events(uint32_t event) const;

    RunResult run(const Bytes& frame);

    // Per-CPU counters summed over every possible CPU.
    ReasonCounts reasons() const;
    lbd_counters vip_counters(uint32_t vip_id) const;
    lbd_counters real_counters(uint32_t index) const;
    std::optional<lbd_flow> flow(const lbd_flow_key& key) const;
    // Entries in the flow tables (TCP and UDP), counted by walking their keys.
    size_t flow_count() const;

    // The loaded lb program, for callers that drive BPF_PROG_TEST_RUN
    // themselves (bench/prog times each call); -1 when not loaded.
    int prog_fd() const;
    // The loaded object, for tests of its other programs and maps (VRRP);
    // nullptr when not loaded.
    lbd_lb* skeleton() const { return status_.ok() ? skel_ : nullptr; }

    // map_flags of the inner ring maps set_ring() creates. The kernel accepts
    // an inner map only if its flags equal the template's (LBD_RING_MAP_FLAGS);
    // a test changes this to show it.
    uint32_t ring_map_flags = LBD_RING_MAP_FLAGS;

private:
    Status update(int fd, const void* key, const void* value, const char* what);
    Status write_real(uint32_t index, lbd_real real);
    // Which of a pair of maps keyed by flow (conntrack4/6 or conntrack_udp4/6
    // by its protocol, nat_replies4/6) a flow lives in, and its key there.
    struct CtKey {
        int fd = -1;
        lbd_flow_key4 k4{};
        const void* ptr = nullptr;  // the IPv6 key; nullptr: k4, which copies keep
        const void* key() const { return ptr == nullptr ? &k4 : ptr; }
    };
    static CtKey flow_keyed(const lbd_flow_key& key, int fd4, int fd6);
    CtKey ct_key(const lbd_flow_key& key) const;
    lbd_counters counters(int fd, uint32_t index) const;

    std::map<uint32_t, lbd_real> reals_;
    std::map<uint32_t, lbd_iface> ifaces_;

    lbd_lb* skel_ = nullptr;
    Status status_;
};

}  // namespace lbd::test
