// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The sink: counts every frame that reaches it, per CPU, and by the last
 * byte of the IPv4 destination (which real a load balancer picked), then
 * drops it, or, with `return_ifindex` set, hands every IPv4 frame back to
 * the generator by that veth (the recirculating generator, gen.bpf.c).
 * ARP and ICMPv6 (neighbour discovery) go to the kernel, so the sink's
 * addresses resolve for whoever forwards to them.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench_abi.h"

const volatile __u32 return_ifindex;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bench_sink_counts);
	__uint(max_entries, 1);
} sink_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, BENCH_SINK_DSTS);
} sink_by_dst SEC(".maps");

SEC("xdp")
int bench_sink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 zero = 0;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->nexthdr == IPPROTO_ICMPV6)
			return XDP_PASS;
	}
	struct bench_sink_counts *c = bpf_map_lookup_elem(&sink_counts, &zero);
	if (!c)
		return XDP_DROP;
	c->packets += 1;
	c->bytes += end - data;
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		c->other += 1;
		return XDP_DROP;
	}
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	__u32 dst = bpf_ntohl(ip->daddr) & 0xff;
	__u64 *n = bpf_map_lookup_elem(&sink_by_dst, &dst);
	if (n)
		*n += 1;
	return return_ifindex ? bpf_redirect(return_ifindex, 0) : XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
