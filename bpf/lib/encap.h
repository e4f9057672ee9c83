/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TUN mode (keepalived's lb_kind TUN): the datagram is wrapped in an outer
 * IPv4 header (IPIP, or 6in4 for an IPv6 VIP) or IPv6 header (IP6IP6, or
 * 4in6) addressed to the real, which strips it (bpf/decap.bpf.c) and answers
 * the client directly from the VIP.
 */
#ifndef LBD_LIB_ENCAP_H
#define LBD_LIB_ENCAP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lib/csum.h"
#include "lib/parsing.h"

#define LBD_TUN_TTL 64

static __always_inline __u32 lbd_encap_len(__u8 real_family)
{
	return real_family == LBD_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
}

/* Moves the l3_off bytes of L2 header from `from` to the frame start and sets
 * its ethertype. from - to >= 20 > 18, so the copies never overlap. */
static __always_inline int lbd_move_l2(void *data, void *end, __u32 shift, __u32 l3_off,
				       __be16 proto)
{
	void *from = data + shift;
	if (l3_off == sizeof(struct ethhdr)) {
		if (from + sizeof(struct ethhdr) > end)
			return -1;
		__builtin_memcpy(data, from, sizeof(struct ethhdr));
		((struct ethhdr *)data)->h_proto = proto;
		return 0;
	}
	if (from + sizeof(struct ethhdr) + sizeof(struct lbd_vlan_hdr) > end)
		return -1;
	__builtin_memcpy(data, from, sizeof(struct ethhdr) + sizeof(struct lbd_vlan_hdr));
	((struct lbd_vlan_hdr *)(data + sizeof(struct ethhdr)))->proto = proto;
	return 0;
}

static __always_inline int lbd_encap(struct xdp_md *ctx, const struct lbd_pkt *p,
				     const struct lbd_real *r, const struct lbd_iface *ifc,
				     __u32 hash)
{
	__u32 l3_off = p->l3_off;
	if (l3_off > LBD_L2_MAX)
		return -1;
	__u32 outer = lbd_encap_len(r->family);
	__u8 inner_proto = p->flow.family == LBD_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6;
	__be16 eth_proto = bpf_htons(r->family == LBD_AF_INET ? ETH_P_IP : ETH_P_IPV6);

	if (bpf_xdp_adjust_head(ctx, -(int)outer))
		return -1;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (lbd_move_l2(data, end, outer, l3_off, eth_proto))
		return -1;

	if (r->family == LBD_AF_INET) {
		struct iphdr *o = data + l3_off;
		lbd_barrier_var(o);
		if ((void *)(o + 1) > end)
			return -1;
		o->version = 4;
		o->ihl = 5;
		o->tos = p->tos;
		o->tot_len = bpf_htons(p->ip_len + sizeof(*o));
		o->id = 0;
		o->frag_off = bpf_htons(LBD_IP_DF);
		o->ttl = LBD_TUN_TTL;
		o->protocol = inner_proto;
		o->check = 0;
		o->saddr = ifc->tun_src4;
		o->daddr = r->addr.v4;
		o->check = lbd_ipv4_csum(o);
		return 0;
	}
	struct ipv6hdr *o = data + l3_off;
	lbd_barrier_var(o);
	if ((void *)(o + 1) > end)
		return -1;
	/* The flow label carries the flow hash so ECMP and RSS on the way to the
	 * real spread tunnels as they would spread the inner flows. */
	o->version = 6;
	o->priority = p->tos >> 4;
	o->flow_lbl[0] = ((p->tos & 0xf) << 4) | ((hash >> 16) & 0xf);
	o->flow_lbl[1] = hash >> 8;
	o->flow_lbl[2] = hash;
	o->payload_len = bpf_htons(p->ip_len);
	o->nexthdr = inner_proto;
	o->hop_limit = LBD_TUN_TTL;
	__builtin_memcpy(&o->saddr, ifc->tun_src6, 16);
	__builtin_memcpy(&o->daddr, &r->addr, 16);
	return 0;
}

#endif /* LBD_LIB_ENCAP_H */
