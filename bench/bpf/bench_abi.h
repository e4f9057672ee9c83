/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the throughput benchmark's BPF programs (bench/bpf/) and its tool
 * (bench/pps.cpp, lbd-bench-pps) share: map layouts, map and program names,
 * frame size. Nothing here is part of lbd's ABI.
 */
#ifndef LBD_BENCH_ABI_H
#define LBD_BENCH_ABI_H

#include <linux/types.h>

/* The generator's frames: Ethernet + IPv4 + UDP + payload, no FCS. */
#define BENCH_FRAME_LEN 64
#define BENCH_FRAME_WORDS (BENCH_FRAME_LEN / 8)
#define BENCH_IP_OFF 14                /* IPv4 header in the frame */
#define BENCH_UDP_SPORT_OFF (14 + 20) /* UDP source port in the frame */

/* sink_counts[0], per CPU: what the sink dropped. */
struct bench_sink_counts {
	__u64 packets; /* every frame dropped (all but ARP and ICMPv6) */
	__u64 bytes;
	__u64 other;   /* of which not IPv4 */
};

/* sink_by_dst[last byte of the IPv4 destination], per CPU: packets. Shows
 * which reals a load balancer spread the flows over. */
#define BENCH_SINK_DSTS 256

/* gen_state[0], per CPU: the next flow number, frames since the last
 * flood frame, and the frames sent. */
struct bench_gen_state {
	__u32 flow;
	__u32 flood_seq;
	__u64 sent;
};

/* Names the tool looks for when it finds attached programs by id (the
 * kernel keeps 15 characters of a name). */
#define BENCH_SINK_PROG "bench_sink"
#define BENCH_SINK_COUNTS_MAP "sink_counts"
#define BENCH_SINK_BY_DST_MAP "sink_by_dst"
#define BENCH_FWD_PROG "bench_fwd"

#endif /* LBD_BENCH_ABI_H */
