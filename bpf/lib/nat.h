/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * NAT (keepalived's lb_kind NAT): rewriting a packet's address and port on
 * one side of its flow, as LVS-NAT does, with every checksum it touches
 * updated incrementally (RFC 1624) and the TTL / hop limit decremented, for
 * this node forwards as a router.
 *
 * Toward a real, the destination VIP:port becomes real:port; from a real,
 * the source real:port becomes VIP:port. ICMP errors about such a flow are
 * rewritten too: the outer address this node answers for, and the quoted
 * packet's address, port and checksums, so the sender of the error (a
 * router, the real, the client) is understood by the other end.
 */
#ifndef LBD_LIB_NAT_H
#define LBD_LIB_NAT_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lib/csum.h"
#include "lib/parsing.h"

/* What lbd_nat_rewrite says besides success (0). */
#define LBD_NAT_TTL -2 /* the TTL / hop limit would reach 0: not forwarded */
#define LBD_NAT_BAD -1 /* a header is not where parsing found it */

/* One's-complement deltas (RFC 1624 eqn. 3): a checksum over data in which
 * the word `from` became `to` gains ~from + to. Words are summed as they lie
 * in memory, which yields the checksum as it lies in memory. */
static __always_inline __u64 lbd_delta16(__u16 from, __u16 to)
{
	return (__u16)~from + (__u64)to;
}

static __always_inline __u64 lbd_delta32(__u32 from, __u32 to)
{
	return lbd_delta16(from, to) + lbd_delta16(from >> 16, to >> 16);
}

static __always_inline __u16 lbd_csum_update(__u16 check, __u64 delta)
{
	return lbd_csum_fold((__u16)~check + delta);
}

/* UDP over IPv4 may carry no checksum (0), and a computed 0 is sent as
 * 0xffff (RFC 768); over IPv6 the checksum is mandatory. */
static __always_inline void lbd_udp_csum_update(struct udphdr *uh, __u64 delta, __u8 family)
{
	if (family == LBD_AF_INET && !uh->check)
		return;
	__u16 c = lbd_csum_update(uh->check, delta);
	uh->check = c ? c : 0xffff;
}

/* The address at `a` becomes `to` (4 or 16 bytes by family); returns the
 * delta for checksums that cover it. Word by word: no copy on the stack. */
static __always_inline __u64 lbd_set_addr(void *a, const union lbd_addr *to, __u8 family)
{
	__u32 *w = a;
	__u64 d = lbd_delta32(w[0], to->v6[0]);
	w[0] = to->v6[0];
	if (family == LBD_AF_INET6) {
#pragma unroll
		for (int i = 1; i < 4; i++) {
			d += lbd_delta32(w[i], to->v6[i]);
			w[i] = to->v6[i];
		}
	}
	return d;
}

/* The port at `p` becomes `port` unless that is 0; returns the delta. */
static __always_inline __u64 lbd_set_port(__be16 *p, __be16 port)
{
	if (!port || *p == port)
		return 0;
	__u64 d = lbd_delta16(*p, port);
	*p = port;
	return d;
}

/* TTL / hop limit minus one; LBD_NAT_TTL when it would reach 0. Returns the
 * delta for the IPv4 header checksum (0 for IPv6, which has none). */
static __always_inline int lbd_hop(void *l3, __u8 family, __u64 *delta)
{
	if (family == LBD_AF_INET) {
		struct iphdr *ip = l3;
		if (ip->ttl <= 1)
			return LBD_NAT_TTL;
		/* ttl and protocol share one 16-bit word */
		__u16 *w = (__u16 *)&ip->ttl;
		__u16 old = *w;
		ip->ttl--;
		*delta += lbd_delta16(old, *w);
		return 0;
	}
	struct ipv6hdr *ip6 = l3;
	if (ip6->hop_limit <= 1)
		return LBD_NAT_TTL;
	ip6->hop_limit--;
	return 0;
}

/* A TCP or UDP packet: the flow's destination (`to_dst`) or source address
 * and port become `to` and `port`. */
static __always_inline int lbd_nat_l4(void *data, void *end, const struct lbd_pkt *p,
				      const union lbd_addr *to, __be16 port, int to_dst)
{
	__u32 l3_off = p->l3_off;
	lbd_barrier_var(l3_off);
	if (l3_off > LBD_L2_MAX)
		return LBD_NAT_BAD;
	void *l3 = data + l3_off;
	__u8 family = p->flow.family;
	__u64 ip_delta = 0, l4_delta;
	void *l4;
	if (family == LBD_AF_INET) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end)
			return LBD_NAT_BAD;
		if (lbd_hop(ip, family, &ip_delta))
			return LBD_NAT_TTL;
		l4_delta = lbd_set_addr(to_dst ? &ip->daddr : &ip->saddr, to, family);
		ip_delta += l4_delta;
		ip->check = lbd_csum_update(ip->check, ip_delta);
		__u32 hlen = ip->ihl * 4;
		lbd_barrier_var(hlen);
		if (hlen > 60)
			return LBD_NAT_BAD;
		l4 = l3 + hlen;
	} else {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > end)
			return LBD_NAT_BAD;
		if (lbd_hop(ip6, family, &ip_delta))
			return LBD_NAT_TTL;
		l4_delta = lbd_set_addr(to_dst ? &ip6->daddr : &ip6->saddr, to, family);
		l4 = ip6 + 1;
	}
	lbd_barrier_var(l4);
	if (p->flow.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > end)
			return LBD_NAT_BAD;
		l4_delta += lbd_set_port(to_dst ? &th->dest : &th->source, port);
		th->check = lbd_csum_update(th->check, l4_delta);
		return 0;
	}
	struct udphdr *uh = l4;
	if ((void *)(uh + 1) > end)
		return LBD_NAT_BAD;
	l4_delta += lbd_set_port(to_dst ? &uh->dest : &uh->source, port);
	lbd_udp_csum_update(uh, l4_delta, family);
	return 0;
}

/* The quoted packet of an ICMP error: its address and port on the flow's
 * side being rewritten become `to` and `port` (the quote travels the other
 * way, so a destination rewrite of the flow changes the quote's source),
 * and its own checksums follow. Returns the delta for the ICMP checksum, or
 * a negative LBD_NAT_* through *err. */
static __always_inline __u64 lbd_nat_quote(void *in, void *end, __u8 family, __u8 proto,
					   const union lbd_addr *to, __be16 port, int to_dst,
					   int *err)
{
	__u64 icmp_delta = 0, l4_delta;
	void *l4;
	*err = LBD_NAT_BAD;
	if (family == LBD_AF_INET) {
		struct iphdr *ip = in;
		if ((void *)(ip + 1) > end)
			return 0;
		__u16 old_check = ip->check;
		l4_delta = lbd_set_addr(to_dst ? &ip->saddr : &ip->daddr, to, family);
		ip->check = lbd_csum_update(ip->check, l4_delta);
		icmp_delta = l4_delta + lbd_delta16(old_check, ip->check);
		__u32 hlen = ip->ihl * 4;
		lbd_barrier_var(hlen);
		if (hlen > 60)
			return 0;
		l4 = in + hlen;
	} else {
		struct ipv6hdr *ip6 = in;
		if ((void *)(ip6 + 1) > end)
			return 0;
		l4_delta = lbd_set_addr(to_dst ? &ip6->saddr : &ip6->daddr, to, family);
		icmp_delta = l4_delta;
		l4 = ip6 + 1;
	}
	struct lbd_ports *ports = l4;
	if ((void *)(ports + 1) > end)
		return 0;
	/* The checked pointer, not one the compiler would derive anew from
	 * `in` + hlen: the verifier knows the bounds of this one only. */
	lbd_barrier_var(ports);
	__u64 d = lbd_set_port(to_dst ? &ports->src : &ports->dst, port);
	icmp_delta += d;
	l4_delta += d;
	*err = 0;
	/* The quote's own L4 checksum, when the quote is long enough to hold it
	 * (an ICMPv4 error may quote just 8 bytes: a TCP checksum lies beyond). */
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = (void *)ports;
		if ((void *)&th->check + sizeof(th->check) > end)
			return icmp_delta;
		__u16 old = th->check;
		th->check = lbd_csum_update(th->check, l4_delta);
		return icmp_delta + lbd_delta16(old, th->check);
	}
	struct udphdr *uh = (void *)ports;
	if ((void *)(uh + 1) > end)
		return icmp_delta;
	__u16 old = uh->check;
	lbd_udp_csum_update(uh, l4_delta, family);
	return icmp_delta + lbd_delta16(old, uh->check);
}

/* An ICMP error about a flow: the outer address on the rewritten side (the
 * destination toward a real, the source from one) becomes `to` when it is
 * the flow's, then the quote follows. */
static __always_inline int lbd_nat_icmp(void *data, void *end, const struct lbd_pkt *p,
					const union lbd_addr *from, const union lbd_addr *to,
					__be16 port, int to_dst)
{
	__u32 l3_off = p->l3_off;
	lbd_barrier_var(l3_off);
	if (l3_off > LBD_L2_MAX)
		return LBD_NAT_BAD;
	void *l3 = data + l3_off;
	__u8 family = p->flow.family;
	__u64 ip_delta = 0, icmp_delta = 0;
	int err;
	if (family == LBD_AF_INET) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end)
			return LBD_NAT_BAD;
		if (lbd_hop(ip, family, &ip_delta))
			return LBD_NAT_TTL;
		__u32 *outer = to_dst ? &ip->daddr : &ip->saddr;
		if (*outer == from->v4)
			ip_delta += lbd_set_addr(outer, to, family);
		ip->check = lbd_csum_update(ip->check, ip_delta);
		__u32 hlen = ip->ihl * 4;
		lbd_barrier_var(hlen);
		if (hlen > 60)
			return LBD_NAT_BAD;
		struct lbd_icmphdr *icmp = l3 + hlen;
		if ((void *)(icmp + 1) > end)
			return LBD_NAT_BAD;
		lbd_barrier_var(icmp);
		/* The ICMPv4 checksum covers the message only. */
		icmp_delta = lbd_nat_quote(icmp + 1, end, family, p->flow.proto, to, port, to_dst, &err);
		if (err)
			return err;
		icmp->checksum = lbd_csum_update(icmp->checksum, icmp_delta);
		return 0;
	}
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > end)
		return LBD_NAT_BAD;
	if (lbd_hop(ip6, family, &ip_delta))
		return LBD_NAT_TTL;
	struct in6_addr *outer = to_dst ? &ip6->daddr : &ip6->saddr;
	const __u32 *o = outer->in6_u.u6_addr32;
	/* The ICMPv6 checksum covers the addresses too (RFC 4443 2.3). */
	if (!((o[0] ^ from->v6[0]) | (o[1] ^ from->v6[1]) | (o[2] ^ from->v6[2]) | (o[3] ^ from->v6[3])))
		icmp_delta = lbd_set_addr(outer, to, family);
	struct icmp6hdr *icmp = (void *)(ip6 + 1);
	if ((void *)(icmp + 1) > end)
		return LBD_NAT_BAD;
	lbd_barrier_var(icmp);
	icmp_delta += lbd_nat_quote(icmp + 1, end, family, p->flow.proto, to, port, to_dst, &err);
	if (err)
		return err;
	icmp->icmp6_cksum = lbd_csum_update(icmp->icmp6_cksum, icmp_delta);
	return 0;
}

/* Rewrites the packet `p` describes: toward a real (`to_dst`: the flow's
 * destination `from` becomes `to`:`port`) or from one (its source). */
static __always_inline int lbd_nat_rewrite(struct xdp_md *ctx, const struct lbd_pkt *p,
					   const union lbd_addr *from, const union lbd_addr *to,
					   __be16 port, int to_dst)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (p->icmp_err)
		return lbd_nat_icmp(data, end, p, from, to, port, to_dst);
	return lbd_nat_l4(data, end, p, to, port, to_dst);
}

#endif /* LBD_LIB_NAT_H */
