// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor of lb_prog_bench: returns XDP_TX without touching the frame, so
 * what BPF_PROG_RUN costs by itself per call (the timer, the XDP context,
 * bottom halves off and on) can be subtracted from the lb program's figures.
 * Beside it, the floor plus one thing the lb program does on every
 * forwarded packet, each timed the same way: what that one thing costs.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

/* Kept, so the compiler cannot drop the reads. */
__u64 sink = 0;

/* The coarse clock the lb program reads for flow ages and leases. */
SEC("xdp")
int xdp_tx_clock(struct xdp_md *ctx)
{
	sink += bpf_ktime_get_coarse_ns();
	return XDP_TX;
}

struct counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct counters);
	__uint(max_entries, 4096);
} per_cpu SEC(".maps");

/* One per-CPU counter bumped, as lbd_account does for the VIP and the real. */
SEC("xdp")
int xdp_tx_counter(struct xdp_md *ctx)
{
	__u32 idx = 7;
	struct counters *c = bpf_map_lookup_elem(&per_cpu, &idx);
	if (c) {
		c->packets += 1;
		c->bytes += ctx->data_end - ctx->data;
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
