// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lb: the XDP forwarding path. A packet to a virtual service this node owns
 * goes to a real server — the one its flow already uses, or a fresh Maglev
 * pick — in DR, TUN or NAT mode, and a NAT real's replies go back to the
 * client from the VIP (lib/nat.h). Fragments of a datagram follow its first
 * (lib/frags.h). VRRP adverts for our instances are
 * checked and queued to the daemon (lib/vrrp_rx.h). Everything else is
 * passed to the kernel untouched. Every verdict is counted under one named
 * reason.
 *
 * lbd_vrrp_tx, in the same object so it shares the maps, is never attached:
 * the daemon runs it with BPF_PROG_RUN to build VRRP frames (lib/vrrp_tx.h).
 * Both feed lbctl capture (lib/capture.h).
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lb_maps.h"
#include "lib/capture.h"
#include "lib/clock.h"
#include "lib/encap.h"
#include "lib/fence.h"
#include "lib/flows.h"
#include "lib/frags.h"
#include "lib/hash.h"
#include "lib/nat.h"
#include "lib/parsing.h"
#include "lib/too_big.h"
#include "lib/vrrp_rx.h"
#include "lib/vrrp_tx.h"

#define LBD_IPV6_MIN_MTU 1280 /* RFC 8200 section 5 */

/* Set by the daemon while some service is NAT: only then do packets that are
 * not for a VIP pay the lookups that find a NAT real's replies. */
__u32 nat_in_use = 0;

/* Every verdict of the program, counted under its reason; the reason is
 * noted for lbctl capture, which copies the frame on its way out of lbd_lb
 * (lib/capture.h). */
static __always_inline int lbd_count(__u32 reason, int verdict)
{
	__u64 *n = bpf_map_lookup_elem(&reasons, &reason);
	if (n)
		*n += 1;
	lbd_capture_note(0, reason);
	return verdict;
}

static __always_inline void lbd_account(void *map, __u32 idx, __u64 bytes, int new_flow)
{
	struct lbd_counters *c = bpf_map_lookup_elem(map, &idx);
	if (!c)
		return;
	c->packets += 1;
	c->bytes += bytes;
	c->new_flows += new_flow;
}

static __always_inline struct lbd_vip_meta *lbd_find_vip(const struct lbd_flow_key *f)
{
	if (f->family == LBD_AF_INET) {
		struct lbd_vip_key4 k = { .addr = f->dst.v4, .port = f->dport, .proto = f->proto };
		struct lbd_vip_meta *vip = bpf_map_lookup_elem(&vips4, &k);
		if (vip)
			return vip;
		k.port = 0;
		return bpf_map_lookup_elem(&vips4, &k);
	}
	struct lbd_vip_key k = {
		.addr = f->dst,
		.port = f->dport,
		.proto = f->proto,
		.family = f->family,
	};
	struct lbd_vip_meta *vip = bpf_map_lookup_elem(&vips6, &k);
	if (vip)
		return vip;
	k.port = 0;
	return bpf_map_lookup_elem(&vips6, &k);
}

static __always_inline __u32 *lbd_ring_real(const struct lbd_vip_meta *vip, __u32 hash)
{
	void *ring = bpf_map_lookup_elem(&rings, &vip->vip_id);
	if (!ring || !vip->ring_size)
		return 0;
	__u32 slot = hash % vip->ring_size;
	return bpf_map_lookup_elem(ring, &slot);
}

/* Next hop of the real and the interface it leaves by: the daemon's
 * neighbour entry, else the kernel's FIB (untagged frames only: a tagged
 * frame leaves by the port it came in on). */
static __always_inline const struct lbd_iface *
lbd_next_hop(struct xdp_md *ctx, __u32 in_if, const struct lbd_pkt *p, const struct lbd_real *r,
	     __u8 *mac, __u32 *oif)
{
	if (r->flags & LBD_REAL_F_NEIGH) {
		__builtin_memcpy(mac, r->mac, ETH_ALEN);
		if (p->l3_off == sizeof(struct ethhdr)) {
			*oif = r->ifindex;
			return &r->egress;
		}
		*oif = in_if;
		return bpf_map_lookup_elem(&ifaces, oif);
	}
	if (p->l3_off != sizeof(struct ethhdr))
		return 0;
	struct bpf_fib_lookup fib = {
		.family = r->family,
		.ifindex = in_if,
	};
	if (r->family == LBD_AF_INET)
		fib.ipv4_dst = r->addr.v4;
	else
		__builtin_memcpy(fib.ipv6_dst, &r->addr, 16);
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return 0;
	__builtin_memcpy(mac, fib.dmac, ETH_ALEN);
	*oif = fib.ifindex;
	return bpf_map_lookup_elem(&ifaces, oif);
}

/* TUN: a datagram that would not fit the egress MTU once wrapped is answered
 * with frag-needed / packet-too-big when the sender can act on it. Returns a
 * verdict, or -1 to go on forwarding. */
static __always_inline int lbd_check_mtu(struct xdp_md *ctx, const struct lbd_pkt *p,
					 const struct lbd_real *r, const struct lbd_iface *ifc)
{
	__u32 outer = lbd_encap_len(r->family);
	if (p->ip_len + outer <= ifc->mtu)
		return -1;
	if (p->icmp_err || !p->df)
		return lbd_count(LBD_R_DROP_TOO_BIG, XDP_DROP);
	__u32 mtu = ifc->mtu - outer;
	/* IPv6 hosts ignore a packet-too-big below the minimum link MTU. */
	if (p->flow.family == LBD_AF_INET6 && mtu < LBD_IPV6_MIN_MTU)
		mtu = LBD_IPV6_MIN_MTU;
	int err = p->flow.family == LBD_AF_INET ? lbd_icmp4_too_big(ctx, p->l3_off, mtu)
						 : lbd_icmp6_too_big(ctx, p->l3_off, mtu);
	if (err)
		return lbd_count(LBD_R_DROP_ADJUST, XDP_DROP);
	return lbd_count(LBD_R_TX_ICMP_TOO_BIG, XDP_TX);
}

/* Out of `oif` from `src` to `dst`: back out the ingress port (XDP_TX) or
 * through tx_ports, each counted under its own reason. */
static __always_inline int lbd_xmit(struct xdp_md *ctx, __u32 in_if, __u32 oif, const __u8 *src,
				    const __u8 *dst, __u32 tx, __u32 redirect, __u32 no_port)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end)
		return lbd_count(LBD_R_DROP_ADJUST, XDP_DROP);
	__builtin_memcpy(eth->h_dest, dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, src, ETH_ALEN);
	if (oif == in_if)
		return lbd_count(tx, XDP_TX);
	int verdict = bpf_redirect_map(&tx_ports, oif, XDP_DROP);
	return lbd_count(verdict == XDP_REDIRECT ? redirect : no_port, verdict);
}

/* Sends the packet to real `r` through egress `ifc`: TUN wraps it first;
 * both rewrite the MACs. */
static __always_inline int lbd_send(struct xdp_md *ctx, __u32 in_if, __u32 oif,
				    const struct lbd_pkt *p, const struct lbd_vip_meta *vip,
				    const struct lbd_real *r, const struct lbd_iface *ifc,
				    const __u8 *mac, __u32 hash)
{
	if (vip->mode == LBD_MODE_TUN && lbd_encap(ctx, p, r, ifc, hash))
		return lbd_count(LBD_R_DROP_ADJUST, XDP_DROP);
	return lbd_xmit(ctx, in_if, oif, ifc->mac, mac, LBD_R_FWD_TX, LBD_R_FWD_REDIRECT, LBD_R_DROP_NO_NEIGH);
}

/* A flow through a NAT real that serves several services: its replies are
 * remembered for the way back, keyed as the real will send them. */
static __always_inline void lbd_nat_remember(const struct lbd_pkt *p, const struct lbd_real *r, __u32 vip_id)
{
	struct lbd_nat_service svc = { .vip = p->flow.dst, .port = p->flow.dport, .vip_id = vip_id };
	struct lbd_flow_key reply = {
		.src = r->addr,
		.dst = p->flow.src,
		.sport = r->port ? r->port : p->flow.dport,
		.dport = p->flow.sport,
		.proto = p->flow.proto,
		.family = p->flow.family,
	};
	if (p->flow.family == LBD_AF_INET) {
		struct lbd_flow_key4 k4 = lbd_flow_key4_of(&reply);
		bpf_map_update_elem(&nat_replies4, &k4, &svc, BPF_ANY);
	} else {
		bpf_map_update_elem(&nat_replies6, &reply, &svc, BPF_ANY);
	}
}

/* NAT toward the real: the destination becomes real:port; with the real's
 * next hop known the frame leaves from here, else the kernel routes it (the
 * client's address is not ours, so it may). A function of its own, as is
 * lbd_nat_reply: their locals would not fit the main frame's stack. */
static __noinline int lbd_nat_forward(struct xdp_md *ctx, __u32 in_if, const struct lbd_pkt *p,
				       const struct lbd_real *r)
{
	int err = lbd_nat_rewrite(ctx, p, &p->flow.dst, &r->addr, r->port, 1);
	if (err)
		return lbd_count(err == LBD_NAT_TTL ? LBD_R_DROP_TTL : LBD_R_DROP_ADJUST, XDP_DROP);
	__u8 mac[ETH_ALEN];
	__u32 oif = 0;
	const struct lbd_iface *ifc = lbd_next_hop(ctx, in_if, p, r, mac, &oif);
	if (!ifc)
		return lbd_count(LBD_R_NAT_KERNEL, XDP_PASS);
	return lbd_xmit(ctx, in_if, oif, ifc->mac, mac, LBD_R_FWD_TX, LBD_R_FWD_REDIRECT, LBD_R_DROP_NO_NEIGH);
}

/* The NAT service a packet from a real answers for: by the real's address,
 * port and protocol (the port-0 services' entry after the exact one), else
 * by its flow when the real serves several. */
static __always_inline struct lbd_nat_service *lbd_nat_service_of(const struct lbd_flow_key *f)
{
	struct lbd_nat_service *svc;
	if (f->family == LBD_AF_INET) {
		struct lbd_vip_key4 k = { .addr = f->src.v4, .port = f->sport, .proto = f->proto };
		svc = bpf_map_lookup_elem(&nat_reverse4, &k);
		if (svc)
			return svc;
		k.port = 0;
		svc = bpf_map_lookup_elem(&nat_reverse4, &k);
		if (svc)
			return svc;
		struct lbd_flow_key4 k4 = lbd_flow_key4_of(f);
		return bpf_map_lookup_elem(&nat_replies4, &k4);
	}
	struct lbd_vip_key k = { .addr = f->src, .port = f->sport, .proto = f->proto, .family = f->family };
	svc = bpf_map_lookup_elem(&nat_reverse6, &k);
	if (svc)
		return svc;
	k.port = 0;
	svc = bpf_map_lookup_elem(&nat_reverse6, &k);
	if (svc)
		return svc;
	return bpf_map_lookup_elem(&nat_replies6, f);
}

/* NAT from the real: a reply (or an ICMP error about the flow) leaves from
 * the VIP toward the client, by the kernel's route to the client. The kernel
 * itself cannot forward it (its source is an address of this node), so a
 * client without a resolved next hop is not reached: counted, dropped, and
 * the next hop handed to the daemon to resolve (nat_unresolved).
 * Returns -1 when the packet is no NAT real's. */
static __noinline int lbd_nat_reply(struct xdp_md *ctx, __u32 in_if, const struct lbd_pkt *p)
{
	if (!nat_in_use)
		return -1;
	struct lbd_nat_service *svc = lbd_nat_service_of(&p->flow);
	if (!svc)
		return -1;
	__u32 vip_id = svc->vip_id;
	struct lbd_vip_active *active = bpf_map_lookup_elem(&vip_active, &vip_id);
	if (!active || !active->active)
		return -1;
	if (lbd_lease_expired(active->lease))
		return lbd_count(LBD_R_DROP_FENCED, XDP_DROP);
	union lbd_addr vip = svc->vip;
	/* The route first: the kernel's route to the destination, from the
	 * VIP. A destination of this node's own is no client: the packet (the
	 * answer to a health check, say) goes to the kernel as it came. */
	struct bpf_fib_lookup fib = {
		.family = p->flow.family,
		.l4_protocol = p->flow.proto,
		.ifindex = in_if,
	};
	if (p->flow.family == LBD_AF_INET) {
		fib.ipv4_src = vip.v4;
		fib.ipv4_dst = p->flow.dst.v4;
	} else {
		__builtin_memcpy(fib.ipv6_src, &vip, 16);
		__builtin_memcpy(fib.ipv6_dst, &p->flow.dst, 16);
	}
	int ret = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (ret == BPF_FIB_LKUP_RET_NOT_FWDED)
		return -1;
	if (ret == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct lbd_nat_unresolved hop = { .ifindex = fib.ifindex, .family = p->flow.family };
		if (p->flow.family == LBD_AF_INET)
			hop.addr.v4 = fib.ipv4_dst;
		else
			__builtin_memcpy(&hop.addr, fib.ipv6_dst, 16);
		bpf_ringbuf_output(&nat_unresolved, &hop, sizeof(hop), 0);
	}
	if (ret != BPF_FIB_LKUP_RET_SUCCESS)
		return lbd_count(LBD_R_DROP_NAT_NO_ROUTE, XDP_DROP);
	int err = lbd_nat_rewrite(ctx, p, &p->flow.src, &vip, svc->port, 0);
	if (err)
		return lbd_count(err == LBD_NAT_TTL ? LBD_R_DROP_TTL : LBD_R_DROP_ADJUST, XDP_DROP);
	/* A tagged frame leaves by the port it came in on, its tag kept. */
	__u32 oif = p->l3_off == sizeof(struct ethhdr) ? fib.ifindex : in_if;
	return lbd_xmit(ctx, in_if, oif, fib.smac, fib.dmac, LBD_R_NAT_REPLY_TX, LBD_R_NAT_REPLY_REDIRECT,
			LBD_R_DROP_NAT_NO_ROUTE);
}

static __always_inline int lbd_lb_verdict(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 bytes = end - data;
	__u32 in_if = ctx->ingress_ifindex;
	struct lbd_pkt p = {};

	int reason = lbd_parse(data, end, &p);
	if (reason == LBD_R_PASS_FRAGMENT || reason == LBD_R_PASS_TRUNCATED || reason == LBD_R_PASS_BAD_HEADER) {
		int frag = lbd_frag_ports(&p, reason);
		if (frag == LBD_R_DROP_FRAGMENT_UNKNOWN)
			return lbd_count(LBD_R_DROP_FRAGMENT_UNKNOWN, XDP_DROP);
		if (frag < 0)
			reason = -1;
	}
	if (reason >= 0) {
		/* VRRP rides on what the forwarding path passes, so traffic to
		 * VIPs pays nothing for it; it has counters of its own. */
		if (reason == LBD_R_PASS_NOT_L4 || reason == LBD_R_PASS_FRAGMENT) {
			int verdict = lbd_vrrp_rx(ctx, p.l3_off);
			if (verdict >= 0)
				return verdict;
		}
		int fenced = lbd_fence_passed(data, end, &p, reason);
		if (fenced >= 0)
			return lbd_count(fenced, XDP_DROP);
		return lbd_count(reason, XDP_PASS);
	}
	struct lbd_vip_meta *vip = lbd_find_vip(&p.flow);
	if (!vip) {
		if (lbd_frag_any(&p))
			return lbd_count(LBD_R_PASS_FRAGMENT, XDP_PASS);
		int verdict = lbd_nat_reply(ctx, in_if, &p);
		if (verdict >= 0)
			return verdict;
		reason = p.icmp_err ? LBD_R_PASS_ICMP : LBD_R_PASS_NOT_VIP;
		int fenced = lbd_fence_passed(data, end, &p, reason);
		return lbd_count(fenced >= 0 ? fenced : reason, fenced >= 0 ? XDP_DROP : XDP_PASS);
	}
	/* Before the VIP's state is looked at: the later fragments of a first
	 * that is passed are passed as well. */
	int frag_drop = lbd_frag_to_vip(&p, vip->mode);
	__u32 vip_id = vip->vip_id;
	struct lbd_vip_active *active = bpf_map_lookup_elem(&vip_active, &vip_id);
	if (!active || !active->active)
		return lbd_count(LBD_R_PASS_VIP_INACTIVE, XDP_PASS);
	if (lbd_lease_expired(active->lease))
		return lbd_count(LBD_R_DROP_FENCED, XDP_DROP);
	if (frag_drop >= 0)
		return lbd_count(frag_drop, XDP_DROP);

	__u64 now = lbd_now();
	__u32 hash = 0;
	struct lbd_flow *entry = lbd_ct_lookup(&p.flow);
	struct lbd_flow *pinned = lbd_flow_pinned(&p, entry, vip_id, now);
	const int least_conn = (vip->flags & LBD_VIP_F_LEAST_CONN) != 0;
	/* The hash picks a real for a new flow and labels TUN's outer IPv6
	 * header; a DR packet of a known flow needs neither. */
	if (!pinned || vip->mode == LBD_MODE_TUN)
		hash = vip->flags & LBD_VIP_F_HASH_SRC ? lbd_hash_src(&p.flow) : lbd_hash_flow(&p.flow);
	__u32 real_id;
	if (pinned) {
		real_id = pinned->real;
	} else if (least_conn) {
		real_id = lbd_lc_real(&p, vip_id, hash, now);
		if (real_id == LBD_NO_REAL)
			return lbd_count(LBD_R_DROP_NO_REAL, XDP_DROP);
	} else {
		__u32 *idx = lbd_ring_real(vip, hash);
		if (!idx)
			return lbd_count(LBD_R_DROP_NO_REAL, XDP_DROP);
		real_id = *idx;
	}
	struct lbd_real *r = bpf_map_lookup_elem(&reals, &real_id);
	if (!r || !(r->flags & LBD_REAL_F_UP))
		return lbd_count(LBD_R_DROP_NO_REAL, XDP_DROP);
	if (vip->mode == LBD_MODE_NAT) {
		int new_flow = pinned ? 0 : lbd_flow_start(&p, entry, vip_id, real_id, least_conn, now);
		/* From the SYN on: the real's SYN-ACK must find its way back. */
		if (!pinned && !p.icmp_err && (r->flags & LBD_REAL_F_NAT_PER_FLOW))
			lbd_nat_remember(&p, r, vip_id);
		lbd_account(&vip_stats, vip_id, bytes, new_flow);
		lbd_account(&real_stats, real_id, bytes, new_flow);
		return lbd_nat_forward(ctx, in_if, &p, r);
	}

	__u8 mac[ETH_ALEN];
	__u32 oif = 0;
	const struct lbd_iface *ifc = lbd_next_hop(ctx, in_if, &p, r, mac, &oif);
	if (!ifc)
		return lbd_count(LBD_R_DROP_NO_NEIGH, XDP_DROP);
	/* A packet answered with "too big" never reached the real: no flow, no
	 * counts against the VIP or the real. */
	if (vip->mode == LBD_MODE_TUN) {
		int verdict = lbd_check_mtu(ctx, &p, r, ifc);
		if (verdict >= 0)
			return verdict;
	}
	int new_flow = pinned ? 0 : lbd_flow_start(&p, entry, vip_id, real_id, least_conn, now);
	lbd_account(&vip_stats, vip_id, bytes, new_flow);
	lbd_account(&real_stats, real_id, bytes, new_flow);
	return lbd_send(ctx, in_if, oif, &p, vip, r, ifc, mac, hash);
}

/* Captured here, once, rather than at each verdict point: the frame as it
 * leaves, and one call frame less than the deepest verdict point (in
 * lbd_vrrp_rx) would need, which the stack cannot afford. */
SEC("xdp")
int lbd_lb(struct xdp_md *ctx)
{
	lbd_capture_note(0, LBD_CAPTURE_NO_REASON);
	return lbd_capture_noted(ctx, lbd_lb_verdict(ctx));
}

/* Builds one VRRP frame over the request at the start of the buffer and
 * sends it out of ingress_ifindex (XDP_TX): run by the daemon with
 * BPF_PROG_RUN, with live frames, or without them to get the bytes back. */
SEC("xdp")
int lbd_vrrp_tx(struct xdp_md *ctx)
{
	return lbd_capture_verdict(ctx, LBD_CAPTURE_VRRP, LBD_CAPTURE_TX, lbd_vrrp_tx_build(ctx));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
