/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fragments of TCP and UDP datagrams to virtual services (lbd_abi.h,
 * "Fragments"). The first fragment carries the ports and goes where an
 * unfragmented packet of its flow would; its ports are kept by datagram
 * (`frags`) so that the later fragments, which carry none, follow it to the
 * same real. A later fragment that finds no entry (its first was lost, came
 * after it, or was evicted) cannot be placed: to a VIP it is dropped, never
 * passed, for this node's kernel would reassemble and answer it; to any other
 * address it goes to the kernel as before.
 */
#ifndef LBD_LIB_FRAGS_H
#define LBD_LIB_FRAGS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lb_maps.h"
#include "parsing.h"

static __always_inline struct lbd_frag_key lbd_frag_key_of(const struct lbd_pkt *p)
{
	struct lbd_frag_key k = {
		.src = p->flow.src,
		.dst = p->flow.dst,
		.id = p->frag_id,
		.proto = p->flow.proto,
		.family = p->flow.family,
	};
	return k;
}

static __always_inline int lbd_is_vip_addr(const struct lbd_pkt *p)
{
	struct lbd_fence_key k;
	__builtin_memset(&k, 0, sizeof(k));
	k.addr = p->flow.dst;
	k.family = p->flow.family;
	return bpf_map_lookup_elem(&vip_addrs, &k) != 0;
}

/*
 * The functions below are global, so the verifier checks each once on its
 * own: the fragment kind is a constant on every path out of the parser, and
 * branching on it in the lb program would double the paths it must walk.
 */

/* A packet the parser passes as `reason`: a later fragment takes the ports
 * of its first and goes on as that flow's packet (-1). Else the reason to
 * count it under: a fragment the flow of which is unknown is dropped when
 * addressed to a VIP; anything else keeps `reason`. */
__attribute__((noinline)) int lbd_frag_ports(struct lbd_pkt *p, int reason)
{
	if (!p || !p->frag)
		return reason;
	if (p->frag == LBD_FRAG_LATER) {
		struct lbd_frag_key k = lbd_frag_key_of(p);
		struct lbd_frag_ports *v = bpf_map_lookup_elem(&frags, &k);
		if (v) {
			p->flow.sport = v->sport;
			p->flow.dport = v->dport;
			p->new_conn = v->new_conn;
			return -1;
		}
	}
	return lbd_is_vip_addr(p) ? LBD_R_DROP_FRAGMENT_UNKNOWN : reason;
}

/* A packet to a virtual service of forwarding mode `mode`: a first
 * fragment's ports are kept for the rest of its datagram (a datagram sent
 * again with the same identification overwrites them). Returns the reason to
 * drop the packet under once it would be served here, or -1. */
__attribute__((noinline)) int lbd_frag_to_vip(const struct lbd_pkt *p, __u32 mode)
{
	if (!p || !p->frag)
		return -1;
	if (p->frag == LBD_FRAG_FIRST) {
		struct lbd_frag_key k = lbd_frag_key_of(p);
		struct lbd_frag_ports v = {
			.sport = p->flow.sport,
			.dport = p->flow.dport,
			.new_conn = p->new_conn,
		};
		bpf_map_update_elem(&frags, &k, &v, BPF_ANY);
	}
	/* NAT would rewrite every fragment's address but only the first's
	 * port and L4 checksum, and a real's fragmented reply is not
	 * translated back: dropped rather than half served. */
	return mode == LBD_MODE_NAT ? LBD_R_DROP_FRAGMENT_NAT : -1;
}

/* Whether a packet to no virtual service is a fragment: it goes to the
 * kernel whole, a NAT real's reply as well (its fragments are not
 * translated). */
__attribute__((noinline)) int lbd_frag_any(const struct lbd_pkt *p)
{
	return p && p->frag;
}

#endif /* LBD_LIB_FRAGS_H */
