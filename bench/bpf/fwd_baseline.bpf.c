// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The practical limit of an XDP forwarder on this path: no parsing beyond
 * the EtherType, no lookup. IPv4 frames get the MACs the loader put in
 * rodata and leave through the one port in tx_port (a devmap); everything
 * else goes to the kernel.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench_abi.h"

/* The 12 bytes of destination and source MAC, as the loader laid them out:
 * copied with three 32-bit stores. */
const volatile __u32 macs[3];

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} tx_port SEC(".maps");

SEC("xdp")
int bench_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	__u32 *w = data;
	w[0] = macs[0];
	w[1] = macs[1];
	w[2] = macs[2];
	return bpf_redirect_map(&tx_port, 0, XDP_DROP);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
