/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flow tables (lbd_abi.h, "Flow tables"): which real an established flow
 * uses, kept so that it stays there while the ring changes, and guarded so
 * that a flood cannot push established flows out. TCP and UDP flows live in
 * tables of their own; a TCP flow's entry is made by the first packet after
 * the client's SYN; and above ct_guard_rate new entries per CPU and second,
 * flows are forwarded by the ring without one. lc / wlc services pick the
 * real with the fewest active flows for its weight instead of the ring's.
 */
#ifndef LBD_LIB_FLOWS_H
#define LBD_LIB_FLOWS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lb_maps.h"
#include "parsing.h"

#define LBD_NSEC_PER_SEC 1000000000ull
#define LBD_NO_REAL 0xffffffffu

/* Idle time after which a flow's entry no longer pins it (LVS's defaults). */
const volatile __u64 ct_idle_tcp_ns = 900 * LBD_NSEC_PER_SEC;
const volatile __u64 ct_idle_udp_ns = 300 * LBD_NSEC_PER_SEC;

/* New entries one CPU may make per second (lb_flood_guard); 0: no limit.
 * Written by the daemon at run time. */
__u32 ct_guard_rate = 0;

static __always_inline void lbd_flow_event(__u32 event)
{
	__u64 *n = bpf_map_lookup_elem(&flow_events, &event);
	if (n)
		*n += 1;
}

static __always_inline struct lbd_flow_key4 lbd_flow_key4_of(const struct lbd_flow_key *f)
{
	struct lbd_flow_key4 k = {
		.src = f->src.v4,
		.dst = f->dst.v4,
		.sport = f->sport,
		.dport = f->dport,
		.proto = f->proto,
	};
	return k;
}

static __always_inline struct lbd_flow *lbd_ct_lookup(const struct lbd_flow_key *f)
{
	if (f->family == LBD_AF_INET) {
		struct lbd_flow_key4 k = lbd_flow_key4_of(f);
		if (f->proto == IPPROTO_TCP)
			return bpf_map_lookup_elem(&conntrack4, &k);
		return bpf_map_lookup_elem(&conntrack_udp4, &k);
	}
	if (f->proto == IPPROTO_TCP)
		return bpf_map_lookup_elem(&conntrack6, f);
	return bpf_map_lookup_elem(&conntrack_udp6, f);
}

static __always_inline void lbd_ct_insert(const struct lbd_flow_key *f, const struct lbd_flow *v)
{
	if (f->family == LBD_AF_INET) {
		struct lbd_flow_key4 k = lbd_flow_key4_of(f);
		if (f->proto == IPPROTO_TCP)
			bpf_map_update_elem(&conntrack4, &k, v, BPF_ANY);
		else
			bpf_map_update_elem(&conntrack_udp4, &k, v, BPF_ANY);
		return;
	}
	if (f->proto == IPPROTO_TCP)
		bpf_map_update_elem(&conntrack6, f, v, BPF_ANY);
	else
		bpf_map_update_elem(&conntrack_udp6, f, v, BPF_ANY);
}

static __always_inline void lbd_conns_add(__u32 real, __s64 n)
{
	__s64 *c = bpf_map_lookup_elem(&real_conns, &real);
	if (c)
		__sync_fetch_and_add(c, n);
}

/* An entry that stops counting toward its real's active flows. */
static __always_inline void lbd_flow_uncount(struct lbd_flow *f)
{
	if (!(f->flags & LBD_FLOW_F_COUNTED))
		return;
	f->flags &= ~LBD_FLOW_F_COUNTED;
	lbd_conns_add(f->real, -1);
	lbd_flow_event(LBD_FE_CLOSED);
}

/* The flood guard: whether this CPU may make another entry this second. */
static __always_inline int lbd_guard_allows(__u64 now)
{
	__u32 rate = ct_guard_rate;
	if (!rate)
		return 1;
	__u32 zero = 0;
	struct lbd_guard_window *w = bpf_map_lookup_elem(&guard_window, &zero);
	if (!w)
		return 1;
	__u64 second = now / LBD_NSEC_PER_SEC;
	if (w->second != second) {
		w->second = second;
		w->inserted = 0;
	}
	if (w->inserted >= rate)
		return 0;
	w->inserted += 1;
	return 1;
}

/*
 * The entry of the flow this packet belongs to, while it still pins the
 * flow: of this service, not idle too long, its real up. A SYN pins nothing
 * (a new connection on the same ports is picked afresh); neither does an
 * entry past its idle time. The entry's clock is refreshed at most once a
 * second: a write per packet costs cache lines.
 */
static __always_inline struct lbd_flow *lbd_flow_pinned(const struct lbd_pkt *p, struct lbd_flow *f,
							__u32 vip_id, __u64 now)
{
	if (!f || p->new_conn || f->vip_id != vip_id)
		return 0;
	__u64 idle = p->flow.proto == IPPROTO_TCP ? ct_idle_tcp_ns : ct_idle_udp_ns;
	if (now - f->last_ns >= idle)
		return 0;
	struct lbd_real *r = bpf_map_lookup_elem(&reals, &f->real);
	if (!r || !(r->flags & LBD_REAL_F_UP))
		return 0;
	if (!p->icmp_err && now - f->last_ns > LBD_NSEC_PER_SEC)
		f->last_ns = now;
	if (p->closing)
		lbd_flow_uncount(f);
	return f;
}

/* lc / wlc: one scan of lc_sets[vip_id] for the member with the fewest
 * active flows for its weight (lbd_lc_pick). */
struct lbd_lc_scan {
	__u32 vip_id;
	__u32 n;
	__u32 start;
	__u32 best;
	__u64 best_conns;
	__u64 best_weight;
};

/* One member, the i-th from the scan's start: kept if it beats the best so
 * far, as IPVS's wlc compares them (a's flows x b's weight against b's
 * flows x a's weight). A bpf_loop callback: the verifier checks it once
 * rather than once per member. */
static long lbd_lc_visit(__u32 i, void *data)
{
	struct lbd_lc_scan *s = data;
	struct lbd_lc_set *set = bpf_map_lookup_elem(&lc_sets, &s->vip_id);
	if (!set)
		return 1;
	__u32 j = s->start + i;
	if (j >= s->n)
		j -= s->n;
	struct lbd_lc_member m = set->members[j & (LBD_LC_MAX_REALS - 1)];
	if (!m.weight)
		return 0;
	__s64 *c = bpf_map_lookup_elem(&real_conns, &m.real);
	__u64 conns = c && *c > 0 ? (__u64)*c : 0;
	if (s->best == LBD_NO_REAL || conns * s->best_weight < s->best_conns * m.weight) {
		s->best = m.real;
		s->best_conns = conns;
		s->best_weight = m.weight;
	}
	return 0;
}

/* lc / wlc: the real a new flow goes to; the scan starts at a member the
 * flow's hash chooses, so that ties spread. LBD_NO_REAL when the set is
 * empty. */
static __always_inline __u32 lbd_lc_pick(__u32 vip_id, __u32 hash)
{
	struct lbd_lc_set *set = bpf_map_lookup_elem(&lc_sets, &vip_id);
	if (!set)
		return LBD_NO_REAL;
	__u32 n = set->count;
	if (n == 0 || n > LBD_LC_MAX_REALS)
		return LBD_NO_REAL;
	struct lbd_lc_scan scan = {
		.vip_id = vip_id,
		.n = n,
		.start = hash % n,
		.best = LBD_NO_REAL,
		.best_weight = 1,
	};
	bpf_loop(n, lbd_lc_visit, &scan, 0);
	return scan.best;
}

/* lc / wlc, a flow with no entry: a SYN's pick is kept until the handshake
 * ends (half_open), for the rest of the handshake and for a retransmitted
 * SYN; otherwise, or when that real is no longer up, a fresh pick. */
static __always_inline __u32 lbd_lc_real(const struct lbd_pkt *p, __u32 vip_id, __u32 hash, __u64 now)
{
	int tcp = p->flow.proto == IPPROTO_TCP && !p->icmp_err;
	if (tcp) {
		struct lbd_flow *h = bpf_map_lookup_elem(&half_open, &p->flow);
		if (h && h->vip_id == vip_id) {
			struct lbd_real *r = bpf_map_lookup_elem(&reals, &h->real);
			if (r && (r->flags & LBD_REAL_F_UP))
				return h->real;
		}
	}
	__u32 real = lbd_lc_pick(vip_id, hash);
	if (real != LBD_NO_REAL && tcp && p->new_conn) {
		struct lbd_flow h = { .real = real, .vip_id = vip_id, .last_ns = now };
		bpf_map_update_elem(&half_open, &p->flow, &h, BPF_ANY);
		lbd_flow_event(LBD_FE_HALF_OPEN);
	}
	return real;
}

/*
 * A packet of a flow without a pinning entry has been given `real`, and
 * reaches it: what the flow table keeps of it. An ICMP error makes no entry.
 * A SYN makes none either, but brings an old entry of the same ports (a
 * connection that reuses them) to the new pick. Anything else makes the
 * flow's entry, unless the flood guard refuses it this second; an old entry
 * is rewritten in place, as an update would take a free slot and could
 * evict another flow. Returns whether the flow counts as new.
 */
static __always_inline int lbd_flow_start(const struct lbd_pkt *p, struct lbd_flow *old, __u32 vip_id,
					  __u32 real, int least_conn, __u64 now)
{
	if (p->icmp_err)
		return 0;
	if (!old && p->new_conn) {
		lbd_flow_event(LBD_FE_SYN_UNTRACKED);
		return 0;
	}
	__u8 flags = 0;
	if (least_conn && !p->new_conn && !p->closing) {
		flags = LBD_FLOW_F_COUNTED;
		lbd_conns_add(real, 1);
	}
	if (old) {
		lbd_flow_uncount(old);
		old->real = real;
		old->vip_id = vip_id;
		old->flags = flags;
		old->last_ns = now;
		return !p->new_conn;
	}
	if (!lbd_guard_allows(now)) {
		if (flags)
			lbd_conns_add(real, -1);
		lbd_flow_event(LBD_FE_GUARDED);
		return 1;
	}
	struct lbd_flow f = { .real = real, .vip_id = vip_id, .flags = flags, .last_ns = now };
	lbd_ct_insert(&p->flow, &f);
	lbd_flow_event(LBD_FE_INSERTED);
	return 1;
}

#endif /* LBD_LIB_FLOWS_H */
