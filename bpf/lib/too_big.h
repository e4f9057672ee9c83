/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * When encapsulation would push a datagram over the egress MTU, the client is
 * told so: ICMP "fragmentation needed" (RFC 792, RFC 1191) or ICMPv6 "packet
 * too big" (RFC 4443 section 3.2), sent back out the ingress port with the
 * MTU left after the tunnel header. The frame is rewritten in place:
 *
 *   [L2][IP][L4 ...]  ->  [L2 swapped][new IP][ICMP][quoted IP header][8 bytes]
 */
#ifndef LBD_LIB_TOO_BIG_H
#define LBD_LIB_TOO_BIG_H

#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lib/csum.h"
#include "lib/encap.h"
#include "lib/parsing.h"

#define LBD_ICMP_TTL 64
#define LBD_QUOTE_L4 8 /* bytes of the transport header quoted back (ports, seq) */
#define LBD_QUOTE_MAX_WORDS ((8 + 60 + LBD_QUOTE_L4) / 2)

/* Shrinks the frame to L2 + quoted IP header + 8 bytes, then makes room for
 * the new IP and ICMP headers in front and swaps the Ethernet addresses. */
static __always_inline int lbd_make_room(struct xdp_md *ctx, __u32 l3_off, __u32 quote,
					 __u32 room, __be16 proto)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	int keep = l3_off + quote;
	if (bpf_xdp_adjust_tail(ctx, keep - (int)(end - data)))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)room))
		return -1;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data + room;
	if ((void *)(eth + 1) > end)
		return -1;
	__u8 dst[ETH_ALEN], src[ETH_ALEN];
	__builtin_memcpy(dst, eth->h_source, ETH_ALEN);
	__builtin_memcpy(src, eth->h_dest, ETH_ALEN);
	if (lbd_move_l2(data, end, room, l3_off, proto))
		return -1;
	eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	return 0;
}

/* Sums `bytes` (even, at most 2 * LBD_QUOTE_MAX_WORDS) starting at p. */
static __always_inline __u64 lbd_csum_span(__u64 sum, void *p, void *end, __u32 bytes)
{
	__u16 *w = p;
	for (int i = 0; i < LBD_QUOTE_MAX_WORDS; i++) {
		if (i * 2 >= bytes)
			break;
		if ((void *)(w + i + 1) > end)
			break;
		sum += w[i];
	}
	return sum;
}

static __always_inline int lbd_icmp4_too_big(struct xdp_md *ctx, __u32 l3_off, __u16 mtu)
{
	if (l3_off > LBD_L2_MAX)
		return -1;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + l3_off;
	lbd_barrier_var(ip);
	if ((void *)(ip + 1) > end)
		return -1;
	__u32 quote = ip->ihl * 4 + LBD_QUOTE_L4;
	__be32 client = ip->saddr, vip = ip->daddr;
	__u32 room = sizeof(struct iphdr) + sizeof(struct lbd_icmphdr);
	if (lbd_make_room(ctx, l3_off, quote, room, bpf_htons(ETH_P_IP)))
		return -1;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	struct iphdr *o = data + l3_off;
	lbd_barrier_var(o);
	struct lbd_icmphdr *icmp = (void *)(o + 1);
	if ((void *)(icmp + 1) > end)
		return -1;
	o->version = 4;
	o->ihl = 5;
	o->tos = 0;
	o->tot_len = bpf_htons(room + quote);
	o->id = 0;
	o->frag_off = 0;
	o->ttl = LBD_ICMP_TTL;
	o->protocol = IPPROTO_ICMP;
	o->check = 0;
	o->saddr = vip;
	o->daddr = client;
	o->check = lbd_ipv4_csum(o);

	icmp->type = LBD_ICMP_DEST_UNREACH;
	icmp->code = LBD_ICMP_FRAG_NEEDED;
	icmp->checksum = 0;
	icmp->unused = 0;
	icmp->mtu = bpf_htons(mtu);
	icmp->checksum = lbd_csum_fold(lbd_csum_span(0, icmp, end, sizeof(*icmp) + quote));
	return 0;
}

static __always_inline int lbd_icmp6_too_big(struct xdp_md *ctx, __u32 l3_off, __u32 mtu)
{
	if (l3_off > LBD_L2_MAX)
		return -1;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = data + l3_off;
	lbd_barrier_var(ip6);
	if ((void *)(ip6 + 1) > end)
		return -1;
	struct in6_addr client = ip6->saddr, vip = ip6->daddr;
	__u32 quote = sizeof(*ip6) + LBD_QUOTE_L4;
	__u32 room = sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr);
	if (lbd_make_room(ctx, l3_off, quote, room, bpf_htons(ETH_P_IPV6)))
		return -1;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	struct ipv6hdr *o = data + l3_off;
	lbd_barrier_var(o);
	struct icmp6hdr *icmp = (void *)(o + 1);
	if ((void *)(icmp + 1) > end)
		return -1;
	__u32 icmp_len = sizeof(*icmp) + quote;
	o->version = 6;
	o->priority = 0;
	o->flow_lbl[0] = o->flow_lbl[1] = o->flow_lbl[2] = 0;
	o->payload_len = bpf_htons(icmp_len);
	o->nexthdr = IPPROTO_ICMPV6;
	o->hop_limit = LBD_ICMP_TTL;
	o->saddr = vip;
	o->daddr = client;

	icmp->icmp6_type = ICMPV6_PKT_TOOBIG;
	icmp->icmp6_code = 0;
	icmp->icmp6_cksum = 0;
	icmp->icmp6_mtu = bpf_htonl(mtu);
	/* Pseudo-header: addresses, upper-layer length, next header. */
	__u64 sum = lbd_csum_add(0, &o->saddr, 16);
	sum += bpf_htons(icmp_len);
	sum += bpf_htons(IPPROTO_ICMPV6);
	icmp->icmp6_cksum = lbd_csum_fold(lbd_csum_span(sum, icmp, end, icmp_len));
	return 0;
}

#endif /* LBD_LIB_TOO_BIG_H */
