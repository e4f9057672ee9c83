// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * decap: tc ingress on a real server in TUN mode. Strips the outer IPv4 or
 * IPv6 header of IPIP / IP6IP6 / 4in6 / 6in4 packets addressed to this host
 * so the inner packet reaches the VIP bound on lo — without the ipip module,
 * which this kernel (and many hardened hosts) lacks. Anything else goes on
 * untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"

/* Since Linux 6.3; Debian 12's uapi headers predate them. */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

#define LBD_IP_FRAGMENTED 0x3fff /* MF or an offset */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_decap_key);
	__type(value, __u32);
	__uint(max_entries, 64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} decap_dsts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LBD_DECAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} decap_stats SEC(".maps");

static __always_inline void lbd_decap_count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&decap_stats, &what);
	if (n)
		*n += 1;
}

SEC("tc")
int lbd_decap(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;

	struct lbd_decap_key k = {};
	__u32 outer;
	__u8 inner;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->ihl != 5)
			return TC_ACT_OK;
		if (ip->frag_off & bpf_htons(LBD_IP_FRAGMENTED))
			return TC_ACT_OK;
		k.family = LBD_AF_INET;
		k.addr.v4 = ip->daddr;
		outer = sizeof(*ip);
		inner = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		k.family = LBD_AF_INET6;
		__builtin_memcpy(&k.addr, &ip6->daddr, 16);
		outer = sizeof(*ip6);
		inner = ip6->nexthdr;
	} else {
		return TC_ACT_OK;
	}
	if (inner != IPPROTO_IPIP && inner != IPPROTO_IPV6)
		return TC_ACT_OK;
	if (!bpf_map_lookup_elem(&decap_dsts, &k))
		return TC_ACT_OK;

	/* The DECAP flag sets skb->protocol to the inner family; the segment
	 * size of a GRO-merged packet is the inner one and stays. */
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | (inner == IPPROTO_IPIP ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4
								       : BPF_F_ADJ_ROOM_DECAP_L3_IPV6);
	if (bpf_skb_adjust_room(skb, -(int)outer, BPF_ADJ_ROOM_MAC, flags)) {
		lbd_decap_count(LBD_DECAP_FAILED);
		return TC_ACT_SHOT;
	}
	__be16 proto = bpf_htons(inner == IPPROTO_IPIP ? ETH_P_IP : ETH_P_IPV6);
	bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto), 0);
	lbd_decap_count(LBD_DECAP_OK);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
