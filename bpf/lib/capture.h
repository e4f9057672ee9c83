/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lbctl capture: the head of each frame whose class the daemon asked for,
 * copied at its verdict into the `capture` ring buffer (lbd_abi.h,
 * "Capture"), so that an operator sees what tcpdump cannot: frames that
 * leave by XDP_TX or XDP_REDIRECT and frames XDP drops never reach the
 * kernel's taps.
 */
#ifndef LBD_LIB_CAPTURE_H
#define LBD_LIB_CAPTURE_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lb_maps.h"
#include "lib/parsing.h"

/* Set by the daemon: the enum lbd_capture_class bits wanted (0: off), and
 * the frame bytes to keep (1..LBD_CAPTURE_SNAP_MAX), set before the classes. */
__u32 capture_classes = 0;
__u32 capture_snaplen = 0;

/* capture_reason when no verdict point has noted one. */
#define LBD_CAPTURE_NO_REASON 0xfffe

static __always_inline void lbd_capture_count(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&capture_stats, &counter);
	if (n)
		*n += 1;
}

static __always_inline __u32 lbd_capture_class_of(int verdict)
{
	if (verdict == XDP_TX || verdict == XDP_REDIRECT)
		return LBD_CAPTURE_FORWARDED;
	if (verdict == XDP_PASS)
		return LBD_CAPTURE_PASSED;
	return LBD_CAPTURE_DROPPED;
}

/*
 * Copies the frame's head into a record when `cls` (0: the verdict's class)
 * is wanted. Returns verdict. Callers test capture_classes first, so that
 * capture off costs them one load and one branch.
 *
 * A global function, verified once rather than at each verdict it is
 * called from.
 */
__attribute__((noinline)) int lbd_capture(struct xdp_md *ctx, __u32 cls, __u32 reason, int verdict)
{
	if (!cls)
		cls = lbd_capture_class_of(verdict);
	if (!(capture_classes & cls))
		return verdict;
	struct lbd_capture_record *rec = bpf_ringbuf_reserve(&capture, sizeof(*rec), 0);
	if (!rec) {
		lbd_capture_count(LBD_CAPTURE_LOST);
		return verdict;
	}
	__u64 len = bpf_xdp_get_buff_len(ctx);
	__u64 snap = capture_snaplen;
	if (snap > len)
		snap = len;
	lbd_barrier_var(snap);
	if (snap == 0 || snap > LBD_CAPTURE_SNAP_MAX || bpf_xdp_load_bytes(ctx, 0, rec->data, snap))
		snap = 0;
	rec->at_ns = bpf_ktime_get_ns();
	rec->ifindex = ctx->ingress_ifindex;
	rec->len = len;
	rec->cap_len = snap;
	rec->reason = reason;
	rec->cls = cls;
	rec->verdict = verdict;
	bpf_ringbuf_submit(rec, 0);
	lbd_capture_count(LBD_CAPTURE_RECORDS);
	return verdict;
}

/* The class (0: the verdict's own) and reason of the verdict under way on
 * this CPU, noted by the lb program's verdict points for the capture on its
 * way out (capture_reason: class << 16 | reason). */
static __always_inline void lbd_capture_note(__u32 cls, __u32 reason)
{
	if (!capture_classes)
		return;
	__u32 zero = 0;
	__u32 *noted = bpf_map_lookup_elem(&capture_reason, &zero);
	if (noted)
		*noted = cls << 16 | reason;
}

static __always_inline int lbd_capture_noted(struct xdp_md *ctx, int verdict)
{
	if (!capture_classes)
		return verdict;
	__u32 zero = 0;
	__u32 *noted = bpf_map_lookup_elem(&capture_reason, &zero);
	if (!noted || (*noted & 0xffff) == LBD_CAPTURE_NO_REASON)
		return verdict;
	return lbd_capture(ctx, *noted >> 16, *noted & 0xffff, verdict);
}

/* A verdict of class `cls` (0: the verdict's own) under `reason`, captured
 * when capture is on: for a program that copies at its one verdict. */
static __always_inline int lbd_capture_verdict(struct xdp_md *ctx, __u32 cls, __u32 reason, int verdict)
{
	if (capture_classes)
		return lbd_capture(ctx, cls, reason, verdict);
	return verdict;
}

#endif /* LBD_LIB_CAPTURE_H */
