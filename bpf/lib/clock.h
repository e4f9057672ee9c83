/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The time the lb program judges flows, leases and the flood guard by:
 * CLOCK_MONOTONIC's coarse value, which changes once a tick. Reading it
 * costs some 20-30 ns on this VM (bench/results/dataplane.md, per step), a
 * seventh of an established packet; jiffies, which move at the same tick,
 * are a plain load. So each CPU reads the clock once per tick and keeps it.
 * Jiffies move a moment before the timekeeper in the same tick, so a CPU
 * may keep the previous tick's value for one tick: the time can lag by up
 * to two ticks (8 ms at HZ 250), against a tick for the coarse clock itself.
 * Included by lb.bpf.c only.
 */
#ifndef LBD_LIB_CLOCK_H
#define LBD_LIB_CLOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lb_maps.h"

/* The key from .rodata, not the stack: the function is called under
 * lbd_nat_reply, whose frames already come near the 512-byte limit. */
static const __u32 lbd_clock_key = 0;

/* A global function: the verifier checks it once, on its own, where inlined
 * its two branches doubled the states of every caller (442k instructions
 * processed against 299k). */
__attribute__((noinline)) __u64 lbd_now(void)
{
	struct lbd_clock_cache *c = bpf_map_lookup_elem(&clock_cache, &lbd_clock_key);
	if (!c)
		return bpf_ktime_get_coarse_ns();
	__u64 j = bpf_jiffies64();
	if (c->jiffies != j) {
		c->jiffies = j;
		c->ns = bpf_ktime_get_coarse_ns();
	}
	return c->ns;
}

#endif /* LBD_LIB_CLOCK_H */
