// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * decap: tc ingress on a real server in TUN mode. Strips the outer IPv4 or
 * IPv6 header of IPIP / IP6IP6 / 4in6 / 6in4 packets addressed to this host
 * so the inner packet reaches the VIP bound on lo — without the ipip module,
 * which this kernel (and many hardened hosts) lacks. Only packets from the
 * LB nodes' tunnel sources (decap_srcs) are unwrapped; one from another
 * source is dropped and counted. Anything else goes on untouched.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "decap_maps.h"
#include "lbd_abi.h"
#include "lib/parsing.h"

/* Since Linux 6.3; Debian 12's uapi headers predate them. */
#ifndef BPF_F_ADJ_ROOM_DECAP_L3_IPV4
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define BPF_F_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)
#endif

static __always_inline void lbd_decap_count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&decap_stats, &what);
	if (n)
		*n += 1;
}

SEC("tc")
int lbd_decap(struct __sk_buff *skb)
{
	struct lbd_tunnel t = {};
	if (lbd_parse_tunnel((void *)(long)skb->data, (void *)(long)skb->data_end, &t))
		return TC_ACT_OK;
	if (!bpf_map_lookup_elem(&decap_dsts, &t.dst))
		return TC_ACT_OK;
	/* Handed to the stack, the kernel would drop it (no ipip module) or, with
	 * a tunnel device of its own, unwrap it: either way it is no one's but
	 * lbd's to take. */
	if (!bpf_map_lookup_elem(&decap_srcs, &t.src)) {
		lbd_decap_count(LBD_DECAP_REFUSED_SRC);
		return TC_ACT_SHOT;
	}

	/* The DECAP flag sets skb->protocol to the inner family; the segment
	 * size of a GRO-merged packet is the inner one and stays. */
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | (t.inner == IPPROTO_IPIP ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4
									  : BPF_F_ADJ_ROOM_DECAP_L3_IPV6);
	if (bpf_skb_adjust_room(skb, -(int)t.outer_len, BPF_ADJ_ROOM_MAC, flags)) {
		lbd_decap_count(LBD_DECAP_FAILED);
		return TC_ACT_SHOT;
	}
	__be16 proto = bpf_htons(t.inner == IPPROTO_IPIP ? ETH_P_IP : ETH_P_IPV6);
	bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto), 0);
	lbd_decap_count(LBD_DECAP_OK);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
