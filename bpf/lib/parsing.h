/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet parsing for the lb program: Ethernet (one 802.1Q/802.1ad tag),
 * IPv4 (with options) and IPv6, TCP, UDP, and ICMP/ICMPv6 errors that quote
 * a flow; fragments of TCP and UDP datagrams (IPv4, or an IPv6 fragment
 * header right after the fixed header), whose ports only the first carries. Every read is bounds-checked against data_end; the result says
 * which reason to count when the packet is not one we forward. And for the
 * decap program, the outer header of a tunnelled packet (lbd_parse_tunnel).
 */
#ifndef LBD_LIB_PARSING_H
#define LBD_LIB_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"

#define LBD_IP_MF 0x2000
#define LBD_IP_OFFSET 0x1fff
#define LBD_IP_DF 0x4000
#define LBD_ETH_P_8021Q 0x8100
#define LBD_ETH_P_8021AD 0x88a8

/* ICMPv4 (RFC 792); linux/icmp.h drags in libc headers a BPF build lacks. */
#define LBD_ICMP_DEST_UNREACH 3
#define LBD_ICMP_FRAG_NEEDED 4 /* code of DEST_UNREACH, RFC 1191 */
#define LBD_ICMP_TIME_EXCEEDED 11

struct lbd_icmphdr {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__be16 unused;
	__be16 mtu; /* next-hop MTU of frag-needed */
};

/* Keeps the compiler from recomputing a variable-offset packet pointer from
 * scratch after its bounds check, which the verifier would not connect. */
#define lbd_barrier_var(v) asm volatile("" : "+r"(v))

/* Largest L2 header the parser accepts. Offsets read back from the stack
 * lose their bounds, so users of l3_off re-check it against this. */
#define LBD_L2_MAX 18

struct lbd_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* Where a packet stands in its datagram's fragments. */
enum lbd_frag {
	LBD_FRAG_NONE = 0,
	LBD_FRAG_FIRST = 1,  /* offset 0, more to come: carries the ports */
	LBD_FRAG_LATER = 2,  /* offset > 0: no ports; the parser returns pass_fragment */
	LBD_FRAG_ATOMIC = 3, /* an IPv6 fragment header on a whole datagram (RFC 6946) */
};

/* IPv6 fragment header, RFC 8200 section 4.5. */
struct lbd_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset in 8-byte units << 3, two reserved bits, M */
	__be32 id;
};

#define LBD_IP6_MF 0x0001
#define LBD_IP6_OFFSET 0xfff8

/* What the parser learnt of a packet that may be ours. */
struct lbd_pkt {
	struct lbd_flow_key flow; /* as the client sends it */
	__u32 l3_off;             /* bytes before the IP header: 14 or 18 */
	__u32 ip_len;             /* IP datagram length, header included */
	__u8 tos;                 /* IPv4 TOS / IPv6 traffic class */
	__u8 df;                  /* IPv4 don't-fragment (IPv6: always 1) */
	__u8 new_conn;            /* TCP SYN without ACK */
	__u8 icmp_err;            /* an ICMP error quoting the flow `flow` */
	__u8 closing;             /* TCP FIN or RST from the client */
	__u8 frag;                /* enum lbd_frag; the fields above hold addresses and proto */
	__u32 frag_id;            /* identification, as on the wire, of a fragment */
};

/* Ports of a quoted (ICMP error) or outer TCP/UDP header: both start with them. */
struct lbd_ports {
	__be16 src;
	__be16 dst;
};

static __always_inline int lbd_ipv6_is_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH || nh == IPPROTO_MH || nh == 139 /* HIP */ ||
	       nh == 140 /* shim6 */;
}

/* An ICMPv4 error quotes an IPv4 header and at least 8 bytes of what follows
 * (RFC 792). The quoted packet went from the VIP to the client, so the flow
 * is that packet turned around. */
static __always_inline int lbd_parse_icmp4_err(void *l4, void *end, struct lbd_pkt *p)
{
	struct lbd_icmphdr *icmp = l4;
	if ((void *)(icmp + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	if (icmp->type != LBD_ICMP_DEST_UNREACH && icmp->type != LBD_ICMP_TIME_EXCEEDED)
		return LBD_R_PASS_ICMP;
	struct iphdr *in = (void *)(icmp + 1);
	if ((void *)(in + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	if (in->version != 4 || in->ihl < 5)
		return LBD_R_PASS_BAD_HEADER;
	if (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP)
		return LBD_R_PASS_ICMP;
	struct lbd_ports *ports = (void *)in + in->ihl * 4;
	if ((void *)(ports + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	/* An error about a VIP's packet is addressed to the VIP. */
	if (in->saddr != p->flow.dst.v4)
		return LBD_R_PASS_ICMP;
	p->flow.src.v4 = in->daddr;
	p->flow.dst.v4 = in->saddr;
	p->flow.sport = ports->dst;
	p->flow.dport = ports->src;
	p->flow.proto = in->protocol;
	p->icmp_err = 1;
	return -1;
}

static __always_inline int lbd_parse_icmp6_err(void *l4, void *end, struct lbd_pkt *p)
{
	struct icmp6hdr *icmp = l4;
	if ((void *)(icmp + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	if (icmp->icmp6_type != ICMPV6_DEST_UNREACH && icmp->icmp6_type != ICMPV6_PKT_TOOBIG &&
	    icmp->icmp6_type != ICMPV6_TIME_EXCEED)
		return LBD_R_PASS_ICMP;
	struct ipv6hdr *in = (void *)(icmp + 1);
	if ((void *)(in + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	if (in->version != 6)
		return LBD_R_PASS_BAD_HEADER;
	if (in->nexthdr != IPPROTO_TCP && in->nexthdr != IPPROTO_UDP)
		return LBD_R_PASS_ICMP;
	struct lbd_ports *ports = (void *)(in + 1);
	if ((void *)(ports + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	const __u32 *quoted = in->saddr.in6_u.u6_addr32;
	if ((quoted[0] ^ p->flow.dst.v6[0]) | (quoted[1] ^ p->flow.dst.v6[1]) |
	    (quoted[2] ^ p->flow.dst.v6[2]) | (quoted[3] ^ p->flow.dst.v6[3]))
		return LBD_R_PASS_ICMP;
	__builtin_memcpy(&p->flow.src, &in->daddr, 16);
	__builtin_memcpy(&p->flow.dst, &in->saddr, 16);
	p->flow.sport = ports->dst;
	p->flow.dport = ports->src;
	p->flow.proto = in->nexthdr;
	p->icmp_err = 1;
	return -1;
}

/* TCP and UDP: the header must lie inside both the frame and the datagram. */
static __always_inline int lbd_parse_l4(void *l4, void *end, __u32 l4_room, __u8 proto,
					struct lbd_pkt *p)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		if ((void *)(th + 1) > end)
			return LBD_R_PASS_TRUNCATED;
		if (l4_room < sizeof(*th) || th->doff < 5)
			return LBD_R_PASS_BAD_HEADER;
		p->flow.sport = th->source;
		p->flow.dport = th->dest;
		p->new_conn = th->syn && !th->ack;
		p->closing = th->fin || th->rst;
	} else {
		struct udphdr *uh = l4;
		if ((void *)(uh + 1) > end)
			return LBD_R_PASS_TRUNCATED;
		if (l4_room < sizeof(*uh))
			return LBD_R_PASS_BAD_HEADER;
		p->flow.sport = uh->source;
		p->flow.dport = uh->dest;
	}
	p->flow.proto = proto;
	return -1;
}

static __always_inline int lbd_parse_ipv4(void *l3, void *end, struct lbd_pkt *p)
{
	struct iphdr *ip = l3;
	if ((void *)(ip + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	if (ip->version != 4 || ip->ihl < 5)
		return LBD_R_PASS_BAD_HEADER;
	__u32 hlen = ip->ihl * 4;
	__u32 tot = bpf_ntohs(ip->tot_len);
	if (l3 + hlen > end)
		return LBD_R_PASS_TRUNCATED;
	/* A frame may carry Ethernet padding after the datagram, never less. */
	if (tot < hlen || l3 + tot > end)
		return LBD_R_PASS_BAD_HEADER;
	int tcp_udp = ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP;
	if (ip->frag_off & bpf_htons(LBD_IP_MF | LBD_IP_OFFSET)) {
		if (!tcp_udp)
			return LBD_R_PASS_FRAGMENT;
		p->frag = ip->frag_off & bpf_htons(LBD_IP_OFFSET) ? LBD_FRAG_LATER : LBD_FRAG_FIRST;
		p->frag_id = ip->id;
		p->flow.proto = ip->protocol;
	}
	p->flow.family = LBD_AF_INET;
	p->flow.src.v4 = ip->saddr;
	p->flow.dst.v4 = ip->daddr;
	p->ip_len = tot;
	p->tos = ip->tos;
	p->df = !!(ip->frag_off & bpf_htons(LBD_IP_DF));
	void *l4 = l3 + hlen;
	if (p->frag == LBD_FRAG_LATER)
		return LBD_R_PASS_FRAGMENT;
	if (tcp_udp)
		return lbd_parse_l4(l4, end, tot - hlen, ip->protocol, p);
	if (ip->protocol == IPPROTO_ICMP)
		return lbd_parse_icmp4_err(l4, end, p);
	return LBD_R_PASS_NOT_L4;
}

static __always_inline int lbd_parse_ipv6(void *l3, void *end, struct lbd_pkt *p)
{
	struct ipv6hdr *ip6 = l3;
	if ((void *)(ip6 + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	if (ip6->version != 6)
		return LBD_R_PASS_BAD_HEADER;
	__u32 plen = bpf_ntohs(ip6->payload_len);
	if (l3 + sizeof(*ip6) + plen > end)
		return LBD_R_PASS_BAD_HEADER;
	__u8 nh = ip6->nexthdr;
	void *l4 = ip6 + 1;
	__u32 l4_room = plen;
	if (nh == IPPROTO_FRAGMENT) {
		struct lbd_ipv6_frag_hdr *fh = l4;
		if ((void *)(fh + 1) > end)
			return LBD_R_PASS_TRUNCATED;
		if (plen < sizeof(*fh))
			return LBD_R_PASS_BAD_HEADER;
		nh = fh->nexthdr;
		if (nh != IPPROTO_TCP && nh != IPPROTO_UDP)
			return LBD_R_PASS_FRAGMENT;
		if (fh->frag_off & bpf_htons(LBD_IP6_OFFSET))
			p->frag = LBD_FRAG_LATER;
		else
			p->frag = fh->frag_off & bpf_htons(LBD_IP6_MF) ? LBD_FRAG_FIRST : LBD_FRAG_ATOMIC;
		p->frag_id = fh->id;
		p->flow.proto = nh;
		l4 = fh + 1;
		l4_room = plen - sizeof(*fh);
	}
	if (lbd_ipv6_is_ext(nh))
		return LBD_R_PASS_IPV6_EXT;
	p->flow.family = LBD_AF_INET6;
	__builtin_memcpy(&p->flow.src, &ip6->saddr, 16);
	__builtin_memcpy(&p->flow.dst, &ip6->daddr, 16);
	p->ip_len = plen + sizeof(*ip6);
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->df = 1;
	if (p->frag == LBD_FRAG_LATER)
		return LBD_R_PASS_FRAGMENT;
	if (nh == IPPROTO_TCP || nh == IPPROTO_UDP)
		return lbd_parse_l4(l4, end, l4_room, nh, p);
	if (ip6->nexthdr == IPPROTO_ICMPV6)
		return lbd_parse_icmp6_err(l4, end, p);
	return LBD_R_PASS_NOT_L4;
}

/* Returns -1 when `p` describes a TCP/UDP flow (or an ICMP error about one),
 * otherwise the reason to count before passing the packet on. */
static __always_inline int lbd_parse(void *data, void *end, struct lbd_pkt *p)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return LBD_R_PASS_TRUNCATED;
	__be16 proto = eth->h_proto;
	p->l3_off = sizeof(*eth);
	if (proto == bpf_htons(LBD_ETH_P_8021Q) || proto == bpf_htons(LBD_ETH_P_8021AD)) {
		struct lbd_vlan_hdr *vh = (void *)(eth + 1);
		if ((void *)(vh + 1) > end)
			return LBD_R_PASS_TRUNCATED;
		proto = vh->proto;
		p->l3_off += sizeof(*vh);
	}
	if (proto == bpf_htons(ETH_P_IP))
		return lbd_parse_ipv4(data + p->l3_off, end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return lbd_parse_ipv6(data + p->l3_off, end, p);
	return LBD_R_PASS_NOT_IP;
}

/* The outer header of an IPIP / IP6IP6 / 4in6 / 6in4 packet: where it
 * comes from and is going, how long it is and which family the inner packet
 * is. */
struct lbd_tunnel {
	struct lbd_decap_src_key src;
	struct lbd_decap_key dst;
	__u32 outer_len; /* the outer IP header */
	__u8 inner;      /* IPPROTO_IPIP or IPPROTO_IPV6 */
};

/* 0 when the frame (Ethernet, no VLAN tag: tc sees it stripped) carries an
 * unfragmented IPv4 packet without options or an IPv6 packet whose payload
 * is an IPv4 or IPv6 packet (IPv6: no extension header before it); -1 for
 * anything else, which is left to the kernel. */
static __always_inline int lbd_parse_tunnel(void *data, void *end, struct lbd_tunnel *t)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return -1;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl != 5)
			return -1;
		if (ip->frag_off & bpf_htons(LBD_IP_MF | LBD_IP_OFFSET))
			return -1;
		t->src.family = LBD_AF_INET;
		t->src.addr.v4 = ip->saddr;
		t->dst.family = LBD_AF_INET;
		t->dst.addr.v4 = ip->daddr;
		t->outer_len = sizeof(*ip);
		t->inner = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return -1;
		t->src.family = LBD_AF_INET6;
		__builtin_memcpy(&t->src.addr, &ip6->saddr, 16);
		t->dst.family = LBD_AF_INET6;
		__builtin_memcpy(&t->dst.addr, &ip6->daddr, 16);
		t->outer_len = sizeof(*ip6);
		t->inner = ip6->nexthdr;
	} else {
		return -1;
	}
	return t->inner == IPPROTO_IPIP || t->inner == IPPROTO_IPV6 ? 0 : -1;
}

#endif /* LBD_LIB_PARSING_H */
