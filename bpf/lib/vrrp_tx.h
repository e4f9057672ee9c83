/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * VRRP frames on the way out: adverts, gratuitous ARPs and unsolicited
 * neighbour advertisements, built by lbd_vrrp_tx from vrrp_tx and the
 * request the daemon puts at the start of the frame. The frames equal
 * userspace/vrrp/packet.h's builders byte for byte (which equal keepalived's).
 *
 * With live frames the kernel reuses its pages without clearing them, so
 * every byte of the frame is written here, and headers are assembled on the
 * stack, checksummed there, then copied out.
 */
#ifndef LBD_LIB_VRRP_TX_H
#define LBD_LIB_VRRP_TX_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lb_maps.h"
#include "lib/csum.h"
#include "lib/vrrp_rx.h"

_Static_assert(sizeof(struct lbd_vrrp_tx_req) <= LBD_VRRP_GARP_LEN,
	       "the request must fit the shortest frame it is overwritten by");

#define LBD_VRRP_TOS 0xc0        /* keepalived: IPTOS_PREC_INTERNETCONTROL (IPv4 TOS, IPv6 class) */
#define LBD_VRRP_GROUP4 0xe0000012 /* 224.0.0.18, RFC 5798 5.1.1.2 */
#define LBD_ARP_HRD_ETHER 1      /* RFC 826 */
#define LBD_ARP_OP_REQUEST 1     /* RFC 5227 2.4: announcements are requests */
#define LBD_ND_NEIGH_ADVERT 136  /* RFC 4861 4.4 */
#define LBD_NA_F_ROUTER 0x80     /* RFC 4861 4.4 */
#define LBD_NA_F_OVERRIDE 0x20   /* RFC 4861 4.4; set in unsolicited NAs, 7.2.6 */
#define LBD_ND_OPT_TARGET_LL 2   /* RFC 4861 4.6.1 */
#define LBD_ND_HOP_LIMIT 255     /* RFC 4861 7.1.2 */

static const __u8 lbd_mac_group4[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x12 }; /* RFC 1112 6.4 */
static const __u8 lbd_mac_group6[ETH_ALEN] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x12 }; /* RFC 2464 7 */
static const __u8 lbd_mac_all_nodes[ETH_ALEN] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const __u8 lbd_mac_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ARP over Ethernet for IPv4 (RFC 826). */
struct lbd_arp {
	__be16 hrd;
	__be16 pro;
	__u8 hln;
	__u8 pln;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
};

/* Neighbour advertisement with one target link-layer address option
 * (RFC 4861 4.4, 4.6.1). */
struct lbd_na {
	__u8 type;
	__u8 code;
	__be16 checksum;
	__u8 flags;
	__u8 reserved[3];
	__u8 target[16];
	__u8 opt_type;
	__u8 opt_len; /* units of 8 bytes */
	__u8 opt_mac[ETH_ALEN];
};

static __always_inline void lbd_put_eth(void *at, const __u8 *dst, const __u8 *src, __u16 proto)
{
	struct ethhdr eth;
	__builtin_memcpy(eth.h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth.h_source, src, ETH_ALEN);
	eth.h_proto = bpf_htons(proto);
	__builtin_memcpy(at, &eth, sizeof(eth));
}

static __always_inline void lbd_fill_ipv6(struct ipv6hdr *h, __u8 tclass, __u16 payload_len,
					  __u8 nexthdr, const void *src, const void *dst)
{
	__builtin_memset(h, 0, sizeof(*h));
	h->version = 6;
	h->priority = tclass >> 4;
	h->flow_lbl[0] = (tclass & 0x0f) << 4; /* flow label 0 */
	h->payload_len = bpf_htons(payload_len);
	h->nexthdr = nexthdr;
	h->hop_limit = 255;
	__builtin_memcpy(&h->saddr, src, 16);
	__builtin_memcpy(&h->daddr, dst, 16);
}

/* Copies len bytes (0..max) of a map value into the frame at off. */
static __always_inline int lbd_store(struct xdp_md *ctx, __u32 off, const void *from, __u32 len,
				     __u32 max)
{
	/* A fresh 64-bit value, checked where it is used: the verifier must see
	 * the bounds on the register the helper gets, not on a reloaded copy. */
	__u64 n = len;
	lbd_barrier_var(n);
	if (n == 0)
		return 0;
	if (n > max)
		return -1;
	return bpf_xdp_store_bytes(ctx, off, (void *)from, n);
}

/* Sum of the first `words` 32-bit words of the instance's address list. */
static __always_inline __u64 lbd_vrrp_sum_addrs(const struct lbd_vrrp_tx *in, __u32 words)
{
	const __u32 *w = (const void *)in->addrs;
	__u64 sum = 0;
	for (__u32 i = 0; i < sizeof(in->addrs) / 4; i++) {
		if (i >= words)
			break;
		sum += w[i];
	}
	return sum;
}

/* The advert's VRRP header, checksum included: v3 over the pseudo-header
 * (RFC 5798 5.2.8), v2 over the message alone with its authentication data
 * (RFC 3768 5.3.8). */
static __always_inline struct lbd_vrrp_hdr lbd_vrrp_tx_hdr(const struct lbd_vrrp_tx_req *req,
							   const struct lbd_vrrp_tx *in,
							   const union lbd_addr *dst, __u32 addrs_len,
							   __u32 msg_len)
{
	struct lbd_vrrp_hdr vh = {
		.vers_type = in->version << 4 | LBD_VRRP_TYPE_ADVERT,
		.vrid = in->vrid,
		.priority = req->priority,
		.naddr = in->naddr,
	};
	__u64 sum = lbd_vrrp_sum_addrs(in, addrs_len / 4);
	if (in->version == LBD_VRRP_V3) {
		vh.max_adver_int = bpf_htons(req->max_advert_int_cs & LBD_VRRP_INT_MASK);
		struct lbd_vrrp_ip ip = { .src = in->src, .dst = *dst, .family = in->family };
		sum += lbd_vrrp_pseudo_sum(&ip, msg_len);
	} else {
		vh.v2.auth_type = in->auth_type;
		vh.v2.adver_int = req->max_advert_int_cs / 100;
		sum = lbd_csum_add(sum, in->auth_pass, LBD_VRRP_AUTH_LEN / 2);
	}
	vh.checksum = lbd_csum_fold(lbd_csum_add(sum, &vh, sizeof(vh) / 2));
	return vh;
}

/* IPv4 as keepalived sends it: TOS 0xc0, the request's ID, no DF, TTL 255,
 * no options. */
static __always_inline void lbd_vrrp_put_ipv4(void *at, const struct lbd_vrrp_tx_req *req,
					      const struct lbd_vrrp_tx *in, __be32 dst,
					      __u32 msg_len)
{
	struct iphdr h = {
		.version = 4,
		.ihl = sizeof(h) / 4,
		.tos = LBD_VRRP_TOS,
		.tot_len = bpf_htons(sizeof(h) + msg_len),
		.id = bpf_htons(req->ipv4_id),
		.ttl = LBD_VRRP_TTL,
		.protocol = LBD_IPPROTO_VRRP,
		.saddr = in->src.v4,
		.daddr = dst,
	};
	h.check = lbd_ipv4_csum(&h);
	__builtin_memcpy(at, &h, sizeof(h));
}

static __always_inline int lbd_vrrp_tx_advert(struct xdp_md *ctx, const struct lbd_vrrp_tx_req *req,
					      const struct lbd_vrrp_tx *in)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	int v4 = in->family == LBD_AF_INET;
	__u32 naddr = in->naddr;
	if (naddr > LBD_VRRP_MAX_ADDRS)
		return XDP_ABORTED;
	__u32 addrs_len = naddr * (v4 ? 4 : 16);
	__u32 auth_len = in->version == LBD_VRRP_V2 ? LBD_VRRP_AUTH_LEN : 0;
	__u32 msg_len = sizeof(struct lbd_vrrp_hdr) + addrs_len + auth_len;
	__u32 msg_off = ETH_HLEN + (v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr));
	if (end - data != msg_off + msg_len)
		return XDP_ABORTED;

	union lbd_addr dst;
	__builtin_memset(&dst, 0, sizeof(dst)); /* `= {}` may clear the first member only */
	const __u8 *dst_mac = req->dst_mac;
	if (req->flags & LBD_VRRP_TX_F_UNICAST) {
		dst = req->addr;
	} else if (v4) {
		dst.v4 = bpf_htonl(LBD_VRRP_GROUP4);
		dst_mac = lbd_mac_group4;
	} else {
		dst.bytes[0] = 0xff; /* ff02::12, RFC 5798 5.1.2.2 */
		dst.bytes[1] = 0x02;
		dst.bytes[15] = 0x12;
		dst_mac = lbd_mac_group6;
	}
	struct lbd_vrrp_hdr vh = lbd_vrrp_tx_hdr(req, in, &dst, addrs_len, msg_len);

	if (v4) {
		if (data + ETH_HLEN + sizeof(struct iphdr) + sizeof(vh) > end)
			return XDP_ABORTED;
		lbd_put_eth(data, dst_mac, in->src_mac, ETH_P_IP);
		lbd_vrrp_put_ipv4(data + ETH_HLEN, req, in, dst.v4, msg_len);
		__builtin_memcpy(data + ETH_HLEN + sizeof(struct iphdr), &vh, sizeof(vh));
	} else {
		struct ipv6hdr h;
		if (data + ETH_HLEN + sizeof(h) + sizeof(vh) > end)
			return XDP_ABORTED;
		lbd_fill_ipv6(&h, LBD_VRRP_TOS, msg_len, LBD_IPPROTO_VRRP, &in->src, &dst);
		lbd_put_eth(data, dst_mac, in->src_mac, ETH_P_IPV6);
		__builtin_memcpy(data + ETH_HLEN, &h, sizeof(h));
		__builtin_memcpy(data + ETH_HLEN + sizeof(h), &vh, sizeof(vh));
	}
	__u32 addrs_off = msg_off + sizeof(vh);
	if (lbd_store(ctx, addrs_off, in->addrs, addrs_len, sizeof(in->addrs)))
		return XDP_ABORTED;
	/* v2 always carries 8 bytes of authentication data, zero without PASS. */
	if (lbd_store(ctx, addrs_off + addrs_len, in->auth_pass, auth_len, LBD_VRRP_AUTH_LEN))
		return XDP_ABORTED;
	return XDP_TX;
}

/* Gratuitous ARP (RFC 5227 2.4 announcement) for the VIP in req->addr:
 * broadcast, sender and target IP the VIP, target hardware address all ones
 * as keepalived sends it. */
static __always_inline int lbd_vrrp_tx_garp(struct xdp_md *ctx, const struct lbd_vrrp_tx_req *req,
					    const struct lbd_vrrp_tx *in)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + LBD_VRRP_GARP_LEN > end || end - data != LBD_VRRP_GARP_LEN)
		return XDP_ABORTED;
	struct lbd_arp arp = {
		.hrd = bpf_htons(LBD_ARP_HRD_ETHER),
		.pro = bpf_htons(ETH_P_IP),
		.hln = ETH_ALEN,
		.pln = 4,
		.op = bpf_htons(LBD_ARP_OP_REQUEST),
	};
	__builtin_memcpy(arp.sha, in->announce_mac, ETH_ALEN);
	__builtin_memcpy(arp.spa, &req->addr.v4, 4);
	__builtin_memcpy(arp.tha, lbd_mac_broadcast, ETH_ALEN);
	__builtin_memcpy(arp.tpa, &req->addr.v4, 4);
	lbd_put_eth(data, lbd_mac_broadcast, in->announce_mac, ETH_P_ARP);
	__builtin_memcpy(data + ETH_HLEN, &arp, sizeof(arp));
	return XDP_TX;
}

/* Unsolicited NA (RFC 4861 7.2.6) for the VIP in req->addr, as keepalived
 * sends it: from the VIP to ff02::1, traffic class 0, Override set,
 * Solicited clear, Router on request, the announce MAC as target
 * link-layer address. */
static __always_inline int lbd_vrrp_tx_na(struct xdp_md *ctx, const struct lbd_vrrp_tx_req *req,
					  const struct lbd_vrrp_tx *in)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	if (data + LBD_VRRP_NA_LEN > end || end - data != LBD_VRRP_NA_LEN)
		return XDP_ABORTED;
	union lbd_addr all_nodes = { .bytes = { 0xff, 0x02, [15] = 0x01 } };
	struct lbd_na na = {
		.type = LBD_ND_NEIGH_ADVERT,
		.flags = LBD_NA_F_OVERRIDE | (req->flags & LBD_VRRP_TX_F_ROUTER ? LBD_NA_F_ROUTER : 0),
		.opt_type = LBD_ND_OPT_TARGET_LL,
		.opt_len = 1,
	};
	__builtin_memcpy(na.target, &req->addr, 16);
	__builtin_memcpy(na.opt_mac, in->announce_mac, ETH_ALEN);
	/* The pseudo-header of RFC 8200 8.1. */
	__u64 sum = bpf_htonl(sizeof(na)) + bpf_htonl(IPPROTO_ICMPV6);
	sum = lbd_csum_add(sum, &req->addr, 8);
	sum = lbd_csum_add(sum, &all_nodes, 8);
	na.checksum = lbd_csum_fold(lbd_csum_add(sum, &na, sizeof(na) / 2));

	struct ipv6hdr h;
	lbd_fill_ipv6(&h, 0, sizeof(na), IPPROTO_ICMPV6, &req->addr, &all_nodes);
	h.hop_limit = LBD_ND_HOP_LIMIT;
	lbd_put_eth(data, lbd_mac_all_nodes, in->announce_mac, ETH_P_IPV6);
	__builtin_memcpy(data + ETH_HLEN, &h, sizeof(h));
	__builtin_memcpy(data + ETH_HLEN + sizeof(h), &na, sizeof(na));
	return XDP_TX;
}

/* One frame for the request at the start of the buffer. XDP_ABORTED when
 * the request names no instance or the buffer is not the frame's length. */
static __always_inline int lbd_vrrp_tx_build(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct lbd_vrrp_tx_req req;
	if (data + sizeof(req) > end)
		return XDP_ABORTED;
	__builtin_memcpy(&req, data, sizeof(req));
	struct lbd_vrrp_tx *in = bpf_map_lookup_elem(&vrrp_tx, &req.instance_id);
	if (!in || !in->family)
		return XDP_ABORTED;
	switch (req.kind) {
	case LBD_VRRP_TX_ADVERT:
		return lbd_vrrp_tx_advert(ctx, &req, in);
	case LBD_VRRP_TX_GARP:
		return lbd_vrrp_tx_garp(ctx, &req, in);
	case LBD_VRRP_TX_NA:
		return lbd_vrrp_tx_na(ctx, &req, in);
	}
	return XDP_ABORTED;
}

#endif /* LBD_LIB_VRRP_TX_H */
