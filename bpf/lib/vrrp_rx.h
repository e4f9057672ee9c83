/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * VRRP adverts on the way in. The lb program hands over every IP packet of
 * protocol 112 that lbd_parse found a sane IP header for. An advert for a
 * VRID one of our instances runs on the ingress interface is checked as the
 * daemon's decoder checks it (RFC 5798 7.1, RFC 3768 7.1; userspace/vrrp/
 * packet.h): invalid ones are dropped, valid ones are copied with their
 * arrival time into vrrp_events and passed on, so `tcpdump vrrp` on the node
 * still sees them. A VRID without an instance here belongs to someone else
 * (keepalived may run other VRIDs on this host) and passes untouched.
 */
#ifndef LBD_LIB_VRRP_RX_H
#define LBD_LIB_VRRP_RX_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lb_maps.h"
#include "lib/capture.h"
#include "lib/csum.h"
#include "lib/parsing.h"

#define LBD_IPPROTO_VRRP 112      /* RFC 5798 5.1.1.4 / 5.1.2.4 */
#define LBD_VRRP_TTL 255          /* RFC 5798 5.1.1.3 / 5.1.2.3; RFC 3768 5.2.3 */
#define LBD_VRRP_TYPE_ADVERT 1    /* RFC 5798 5.2.2 */
#define LBD_VRRP_V2 2             /* RFC 3768 5.3.1: IPv4 only */
#define LBD_VRRP_V3 3             /* RFC 5798 5.2.1 */
#define LBD_VRRP_INT_MASK 0x0fff  /* v3 Max Adver Int: 12 bits of centiseconds, RFC 5798 5.2.7 */
#define LBD_VRRP_AUTH_PASS 1      /* v2 simple password, RFC 2338 5.3.6.2 */
#define LBD_IPV4_MAX_HLEN 60
#define LBD_IPV6_HLEN 40

/* The fixed part of an advert: RFC 5798 5.1, RFC 3768 5.1. */
struct lbd_vrrp_hdr {
	__u8 vers_type; /* version << 4 | type */
	__u8 vrid;
	__u8 priority;
	__u8 naddr;
	union {
		__be16 max_adver_int; /* v3: 4 reserved bits, then centiseconds */
		struct {
			__u8 auth_type;
			__u8 adver_int; /* seconds */
		} v2;
	};
	__be16 checksum;
};

/* What the IP header says of a VRRP packet. */
struct lbd_vrrp_ip {
	union lbd_addr src;
	union lbd_addr dst;
	__u32 hlen;   /* IP header length */
	__u32 ip_len; /* IP datagram length, header included */
	__u8 family;
	__u8 ttl;
	__u8 fragment;       /* IPv4 MF set or fragment offset non-zero */
	__u8 later_fragment; /* fragment offset non-zero: no VRRP header in it */
};

/* bpf_csum_diff reads at most this much per call on older kernels. */
#define LBD_CSUM_CHUNK 512
_Static_assert(LBD_VRRP_MAX_PACKET % LBD_CSUM_CHUNK == 0, "whole chunks of the event buffer");

/* Counted, and noted for lbctl capture as class VRRP. */
static __always_inline int lbd_vrrp_count(__u32 reason, int verdict)
{
	__u64 *n = bpf_map_lookup_elem(&vrrp_rx_stats, &reason);
	if (n)
		*n += 1;
	lbd_capture_note(LBD_CAPTURE_VRRP, reason);
	return verdict;
}

/* One's-complement sum of buf[0, len) as the words lie in memory, len a
 * multiple of 4; -1 if the kernel refuses. */
static __always_inline __s64 lbd_vrrp_sum(__u8 *buf, __u32 len)
{
	__s64 sum = 0;
	for (__u32 done = 0; done < LBD_VRRP_MAX_PACKET; done += LBD_CSUM_CHUNK) {
		if (len <= done)
			break;
		__u64 n = len - done;
		lbd_barrier_var(n);
		if (n > LBD_CSUM_CHUNK)
			n = LBD_CSUM_CHUNK;
		__s64 part = bpf_csum_diff(0, 0, (__be32 *)(buf + done), n, 0);
		if (part < 0)
			return -1;
		sum += part;
	}
	return sum;
}

/* The 16-bit one's-complement sum, not complemented. */
static __always_inline __u16 lbd_csum_fold16(__u64 sum)
{
	return ~lbd_csum_fold(sum);
}

/* Returns 0 when the IPv4 packet is not VRRP. */
static __always_inline int lbd_vrrp_ip4(struct iphdr *h, void *end, struct lbd_vrrp_ip *ip)
{
	if ((void *)(h + 1) > end || h->protocol != LBD_IPPROTO_VRRP)
		return 0;
	ip->family = LBD_AF_INET;
	ip->src.v4 = h->saddr;
	ip->dst.v4 = h->daddr;
	ip->hlen = h->ihl * 4;
	ip->ip_len = bpf_ntohs(h->tot_len);
	ip->ttl = h->ttl;
	ip->fragment = !!(h->frag_off & bpf_htons(LBD_IP_MF | LBD_IP_OFFSET));
	ip->later_fragment = !!(h->frag_off & bpf_htons(LBD_IP_OFFSET));
	return 1;
}

/* Returns 0 when the IPv6 packet is not VRRP (or VRRP behind extension
 * headers, which lbd_parse passes before we see them). */
static __always_inline int lbd_vrrp_ip6(struct ipv6hdr *h, void *end, struct lbd_vrrp_ip *ip)
{
	if ((void *)(h + 1) > end || h->nexthdr != LBD_IPPROTO_VRRP)
		return 0;
	ip->family = LBD_AF_INET6;
	__builtin_memcpy(&ip->src, &h->saddr, 16);
	__builtin_memcpy(&ip->dst, &h->daddr, 16);
	ip->hlen = LBD_IPV6_HLEN;
	ip->ip_len = LBD_IPV6_HLEN + bpf_ntohs(h->payload_len);
	ip->ttl = h->hop_limit;
	return 1;
}

/* The v3 pseudo-header (RFC 5798 5.2.8), summed as the words lie in memory. */
static __always_inline __u64 lbd_vrrp_pseudo_sum(const struct lbd_vrrp_ip *ip, __u32 msg_len)
{
	if (ip->family == LBD_AF_INET)
		return (__u64)ip->src.v4 + ip->dst.v4 + bpf_htons(msg_len) + bpf_htons(LBD_IPPROTO_VRRP);
	__u64 sum = bpf_htonl(msg_len) + bpf_htonl(LBD_IPPROTO_VRRP);
#pragma unroll
	for (int i = 0; i < 4; i++)
		sum += (__u64)ip->src.v6[i] + ip->dst.v6[i];
	return sum;
}

/* The checks that need only the headers, in the daemon decoder's order.
 * Returns the reason to count, or -1 to go on. */
static __always_inline int lbd_vrrp_check_header(const struct lbd_vrrp_ip *ip,
						 const struct lbd_vrrp_hdr *vh,
						 const struct lbd_vrrp_rx *in)
{
	if (ip->fragment)
		return LBD_VR_DROP_FRAGMENT;
	if (ip->ttl != LBD_VRRP_TTL)
		return LBD_VR_DROP_BAD_TTL;
	__u8 version = vh->vers_type >> 4;
	if (version != in->version)
		return LBD_VR_DROP_BAD_VERSION;
	if ((vh->vers_type & 0x0f) != LBD_VRRP_TYPE_ADVERT)
		return LBD_VR_DROP_BAD_TYPE;
	/* The whole message and nothing after it (RFC 5798 7.1): a count larger
	 * than the payload holds reads as a bad count, extra bytes as a bad length. */
	__u32 msg_len = ip->ip_len - ip->hlen;
	__u32 addrs_len = vh->naddr * (ip->family == LBD_AF_INET ? 4 : 16);
	__u32 auth_len = version == LBD_VRRP_V2 ? LBD_VRRP_AUTH_LEN : 0;
	__u32 want_len = sizeof(*vh) + addrs_len + auth_len;
	if (msg_len < want_len)
		return LBD_VR_DROP_BAD_ADDRESS_COUNT;
	if (msg_len > want_len)
		return LBD_VR_DROP_BAD_LENGTH;
	if (ip->ip_len > LBD_VRRP_MAX_PACKET)
		return LBD_VR_PASS_TOO_LONG;
	return -1;
}

/* IPv4 header checksum and VRRP checksum over the copy in `packet`: v3 with
 * the pseudo-header, v2 over the message alone (RFC 3768 5.3.8). The
 * message's sum is the packet's minus the header's. */
static __always_inline int lbd_vrrp_check_sums(const struct lbd_vrrp_ip *ip, __u8 *packet,
					       __u8 version)
{
	__s64 hdr = lbd_vrrp_sum(packet, ip->hlen);
	__s64 all = lbd_vrrp_sum(packet, ip->ip_len);
	if (hdr < 0 || all < 0)
		return LBD_VR_DROP_BAD_CHECKSUM;
	if (ip->family == LBD_AF_INET && lbd_csum_fold(hdr) != 0)
		return LBD_VR_DROP_BAD_IP_HEADER;
	__u64 msg = lbd_csum_fold16(all) + (__u16)~lbd_csum_fold16(hdr);
	if (version == LBD_VRRP_V3)
		msg += lbd_vrrp_pseudo_sum(ip, ip->ip_len - ip->hlen);
	if (lbd_csum_fold(msg) != 0)
		return LBD_VR_DROP_BAD_CHECKSUM;
	return -1;
}

/* v2 authentication (RFC 3768 7.1): the configured type, and with PASS the
 * configured 8 bytes after the addresses. Without authentication the data
 * is ignored (RFC 3768 5.3.10). */
static __always_inline int lbd_vrrp_auth_ok(const struct lbd_vrrp_hdr *vh, const void *end,
					    const struct lbd_vrrp_rx *in)
{
	if (vh->v2.auth_type != in->auth_type)
		return 0;
	if (in->auth_type != LBD_VRRP_AUTH_PASS)
		return 1;
	const __u32 *got = (const void *)(vh + 1) + vh->naddr * 4;
	if ((const void *)(got + 2) > end)
		return 0;
	__u32 want[2];
	__builtin_memcpy(want, in->auth_pass, sizeof(want));
	return got[0] == want[0] && got[1] == want[1];
}

/* The checks after the checksum. Returns the reason to count, or -1 when
 * the advert is valid. */
static __always_inline int lbd_vrrp_check_rest(const struct lbd_vrrp_ip *ip,
					       const struct lbd_vrrp_hdr *vh, const void *end,
					       const struct lbd_vrrp_rx *in)
{
	int v3 = vh->vers_type >> 4 == LBD_VRRP_V3;
	if (v3 ? !(bpf_ntohs(vh->max_adver_int) & LBD_VRRP_INT_MASK) : !vh->v2.adver_int)
		return LBD_VR_DROP_BAD_INTERVAL;
	if (!v3 && !lbd_vrrp_auth_ok(vh, end, in))
		return LBD_VR_DROP_BAD_AUTH;
	if (in->flags & LBD_VRRP_RX_F_PEERS_ONLY) {
		struct lbd_vrrp_peer_key peer = { .instance_id = in->instance_id, .addr = ip->src };
		if (!bpf_map_lookup_elem(&vrrp_peers, &peer))
			return LBD_VR_DROP_UNKNOWN_PEER;
	}
	return -1;
}

/* Copies the IP packet at l3_off into ev; 0 on success. */
static __always_inline int lbd_vrrp_copy(struct xdp_md *ctx, __u32 l3_off, __u32 ip_len,
					 struct lbd_vrrp_event *ev)
{
	__u64 n = ip_len;
	lbd_barrier_var(n);
	if (n == 0 || n > LBD_VRRP_MAX_PACKET)
		return -1;
	return bpf_xdp_load_bytes(ctx, l3_off, ev->packet, n);
}

/*
 * The verdict for the IP packet at l3_off when it is VRRP, else -1 (the
 * caller counts it as it would have). lbd_parse has checked the IP header:
 * version, lengths within the frame, no IPv6 extension headers.
 *
 * A global function, so the verifier checks it once on its own rather than
 * once for every path of the lb program that reaches it. Defined here
 * because lb.bpf.c is its only user.
 */
__attribute__((noinline)) int lbd_vrrp_rx(struct xdp_md *ctx, __u32 l3_off)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct lbd_vrrp_ip ip;
	__u32 zero = 0;

	/* Whole, not `= {}`: an IPv4 address leaves 12 bytes of each union that
	 * the peer lookup's key includes. */
	__builtin_memset(&ip, 0, sizeof(ip));

	if (l3_off > LBD_L2_MAX)
		return -1;
	struct iphdr *l3 = data + l3_off;
	if ((void *)(l3 + 1) > end)
		return -1;
	if (!(l3->version == 4 ? lbd_vrrp_ip4(l3, end, &ip) : lbd_vrrp_ip6((void *)l3, end, &ip)))
		return -1;
	if (ip.later_fragment)
		return lbd_vrrp_count(LBD_VR_PASS_FRAGMENT, XDP_PASS);

	__u32 hlen = ip.hlen;
	if (hlen > LBD_IPV4_MAX_HLEN)
		return -1;
	struct lbd_vrrp_hdr *vh = (void *)l3 + hlen;
	if ((void *)(vh + 1) > end || ip.ip_len < hlen + sizeof(*vh))
		return lbd_vrrp_count(LBD_VR_PASS_TRUNCATED, XDP_PASS);

	struct lbd_vrrp_key key = {
		.ifindex = ctx->ingress_ifindex,
		.vrid = vh->vrid,
		.family = ip.family,
	};
	struct lbd_vrrp_rx *in = bpf_map_lookup_elem(&vrrp_rx, &key);
	if (!in)
		return lbd_vrrp_count(LBD_VR_PASS_UNKNOWN_VRID, XDP_PASS);
	int reason = lbd_vrrp_check_header(&ip, vh, in);
	if (reason == LBD_VR_PASS_TOO_LONG)
		return lbd_vrrp_count(reason, XDP_PASS);
	if (reason >= 0)
		return lbd_vrrp_count(reason, XDP_DROP);

	/* lbd_parse saw the whole datagram in the frame: the copy fails only
	 * where the verifier wants an error path. */
	struct lbd_vrrp_event *ev = bpf_map_lookup_elem(&vrrp_scratch, &zero);
	if (!ev || lbd_vrrp_copy(ctx, l3_off, ip.ip_len, ev))
		return lbd_vrrp_count(LBD_VR_PASS_TRUNCATED, XDP_PASS);
	reason = lbd_vrrp_check_sums(&ip, ev->packet, vh->vers_type >> 4);
	if (reason < 0)
		reason = lbd_vrrp_check_rest(&ip, vh, end, in);
	if (reason >= 0)
		return lbd_vrrp_count(reason, XDP_DROP);

	ev->at_ns = bpf_ktime_get_ns();
	ev->ifindex = ctx->ingress_ifindex;
	ev->instance_id = in->instance_id;
	ev->len = ip.ip_len;
	ev->pad = 0;
	if (bpf_ringbuf_output(&vrrp_events, ev, sizeof(*ev), 0))
		return lbd_vrrp_count(LBD_VR_PASS_RING_FULL, XDP_PASS);
	return lbd_vrrp_count(LBD_VR_RX_QUEUED, XDP_PASS);
}

#endif /* LBD_LIB_VRRP_RX_H */
