/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The lb program's maps. Layouts come from lbd_abi.h; libbpf pins each map
 * by its name under the daemon's pin root. */
#ifndef LBD_LB_MAPS_H
#define LBD_LB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lbd_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_vip_key4);
	__type(value, struct lbd_vip_meta);
	__uint(max_entries, LBD_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vips4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_vip_key);
	__type(value, struct lbd_vip_meta);
	__uint(max_entries, LBD_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vips6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_vip_active);
	__uint(max_entries, LBD_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vip_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_real);
	__uint(max_entries, LBD_MAX_REALS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reals SEC(".maps");

/* One Maglev ring per VIP: slot -> index into reals. A new ring is filled
 * before it goes into `rings`; a changed one is written in place by the
 * daemon, slot by slot (docs/dataplane.md has the consistency model). */
struct lbd_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, LBD_RING_SIZE_DEFAULT);
	__uint(map_flags, LBD_RING_MAP_FLAGS);
};

/* What each ring was built from, as the daemon fingerprints it (VIP id ->
 * 64-bit hash of ring size, reals, weights and indexes; 0: unknown, as
 * while a ring is being rewritten). Not read by the program: a restarted
 * daemon keeps a ring whose fingerprint matches its config unbuilt. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LBD_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ring_inputs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, LBD_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct lbd_ring);
} rings SEC(".maps");

/* Flow tables (lbd_abi.h): TCP in conntrack4/6, UDP in conntrack_udp4/6.
 * Entries are shared by all CPUs (a flow that moves CPU keeps its real);
 * the LRU lists are per CPU so eviction does not contend. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_flow_key4);
	__type(value, struct lbd_flow);
	__uint(max_entries, LBD_CONNTRACK_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_flow_key);
	__type(value, struct lbd_flow);
	__uint(max_entries, LBD_CONNTRACK_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_flow_key4);
	__type(value, struct lbd_flow);
	__uint(max_entries, LBD_CONNTRACK_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack_udp4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_flow_key);
	__type(value, struct lbd_flow);
	__uint(max_entries, LBD_CONNTRACK_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack_udp6 SEC(".maps");

/* lc / wlc: a SYN's pick until its handshake ends, apart from the flow
 * tables so that spoofed SYNs churn only this. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_flow_key);
	__type(value, struct lbd_flow);
	__uint(max_entries, LBD_HALF_OPEN_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} half_open SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_lc_set);
	__uint(max_entries, LBD_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lc_sets SEC(".maps");

/* real_conns[index]: active flows of lc / wlc services on the real, added
 * to atomically by the program and corrected by the daemon through mmap
 * (flows that ended without a FIN or RST seen). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, LBD_MAX_REALS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} real_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LBD_FE_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flow_events SEC(".maps");

/* The flood guard's count of this second's new entries, per CPU; not pinned. */
struct lbd_guard_window {
	__u64 second;
	__u64 inserted;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_guard_window);
	__uint(max_entries, 1);
} guard_window SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_counters);
	__uint(max_entries, LBD_MAX_VIPS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vip_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_counters);
	__uint(max_entries, LBD_MAX_REALS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} real_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LBD_REASON_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct lbd_iface);
	__uint(max_entries, LBD_MAX_IFACES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ifaces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, LBD_MAX_IFACES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tx_ports SEC(".maps");

/* VRRP: the instance that owns a VRID on an interface, and what its adverts
 * must carry (bpf/lib/vrrp_rx.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_vrrp_key);
	__type(value, struct lbd_vrrp_rx);
	__uint(max_entries, LBD_VRRP_MAX_INSTANCES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vrrp_rx SEC(".maps");

/* Sources a unicast instance accepts adverts from. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_vrrp_peer_key);
	__type(value, __u8);
	__uint(max_entries, LBD_VRRP_MAX_PEERS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vrrp_peers SEC(".maps");

/* Per instance, what lbd_vrrp_tx builds frames from (bpf/lib/vrrp_tx.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_vrrp_tx);
	__uint(max_entries, LBD_VRRP_MAX_INSTANCES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vrrp_tx SEC(".maps");

/* Valid adverts to the daemon, as struct lbd_vrrp_event records. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LBD_VRRP_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vrrp_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LBD_VRRP_REASON_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vrrp_rx_stats SEC(".maps");

/* Self-fencing (lbd_abi.h): leases by instance id, and which instance
 * floats an address. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_vrrp_lease);
	__uint(max_entries, LBD_VRRP_MAX_INSTANCES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vrrp_leases SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_fence_key);
	__type(value, __u32);
	__uint(max_entries, LBD_VRRP_MAX_FENCED);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vrrp_fence SEC(".maps");

/* NAT (lbd_abi.h, "NAT"): the service of each real's replies, and the
 * replies of flows through reals that serve several. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_vip_key4);
	__type(value, struct lbd_nat_service);
	__uint(max_entries, LBD_NAT_REVERSE_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_reverse4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_vip_key);
	__type(value, struct lbd_nat_service);
	__uint(max_entries, LBD_NAT_REVERSE_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_reverse6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_flow_key4);
	__type(value, struct lbd_nat_service);
	__uint(max_entries, LBD_NAT_REPLIES_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_replies4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_flow_key);
	__type(value, struct lbd_nat_service);
	__uint(max_entries, LBD_NAT_REPLIES_SIZE);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_replies6 SEC(".maps");

/* Clients' next hops the kernel has not resolved, for the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LBD_NAT_UNRESOLVED_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nat_unresolved SEC(".maps");

/* Fragments (lbd_abi.h, "Fragments"): the ports of datagrams whose first
 * fragment went through, and the addresses whose unknown fragments are
 * dropped rather than answered by this node. One LRU list for all CPUs:
 * split per CPU, its entries would leave each CPU of a large machine few. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct lbd_frag_key);
	__type(value, struct lbd_frag_ports);
	__uint(max_entries, LBD_FRAGS_SIZE);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_fence_key);
	__type(value, __u8);
	__uint(max_entries, LBD_MAX_VIP_ADDRS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vip_addrs SEC(".maps");

/* lbctl capture: heads of frames, as struct lbd_capture_record (lib/capture.h). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, LBD_CAPTURE_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} capture SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LBD_CAPTURE_COUNTER_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} capture_stats SEC(".maps");

/* The class and reason of the verdict under way on this CPU (lib/capture.h); not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} capture_reason SEC(".maps");

/* The coarse clock as this CPU last read it, and the jiffies it was read at
 * (lib/clock.h); not pinned. */
struct lbd_clock_cache {
	__u64 jiffies;
	__u64 ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_clock_cache);
	__uint(max_entries, 1);
} clock_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_abi_info);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} abi SEC(".maps");

/* Where an advert is copied to be checksummed and then queued: the verifier
 * cannot follow a loop over a variable number of packet bytes, and
 * bpf_csum_diff reads memory of a known size. One entry; not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct lbd_vrrp_event);
	__uint(max_entries, 1);
} vrrp_scratch SEC(".maps");

#endif /* LBD_LB_MAPS_H */
