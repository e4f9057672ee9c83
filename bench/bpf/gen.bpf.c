// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The generator. Every run writes a whole 64-byte UDP frame from the
 * template the loader put in rodata (whatever ran before — a recycled page,
 * or the forwarder and the sink — may have rewritten any byte), gives it the
 * next of `flows` source ports and sends it on, by one of two transports
 * (bench/pps.cpp picks one):
 *
 *   - live frames: run with BPF_PROG_RUN and BPF_F_TEST_XDP_LIVE_FRAMES on
 *     the generator's veth, `out_ifindex` 0: XDP_TX.
 *   - recirculation: attached to the veth by which the sink returns the
 *     frames it counted (sink.bpf.c, `return_ifindex`), `out_ifindex` the
 *     generator's veth: each frame that comes back leaves again by redirect.
 *     A set number of frames circulates; `stop` drops them to end a run.
 *
 * With `flood_every` N, every Nth frame goes to `flood_daddr`:`flood_dport`
 * from a random source in 10.0.0.0/8 instead: a new flow each, as a
 * spoofed-source UDP flood would send, mixed into the other frames' flows.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench_abi.h"

/* The frame as the loader built it (IPv4 checksum filled in, UDP checksum 0). */
const volatile __u64 frame[BENCH_FRAME_WORDS];
const volatile __u32 flows = 1024;
const volatile __u16 sport_base = 10000;
const volatile __u32 out_ifindex;
const volatile __u32 flood_every;
const volatile __u32 flood_daddr; /* network order */
const volatile __u16 flood_dport; /* network order */

/* Set by the loader at the end of a recirculating run. */
volatile __u32 stop;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct bench_gen_state);
	__uint(max_entries, 1);
} gen_state SEC(".maps");

SEC("xdp")
int bench_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 *w = data;
	__u32 zero = 0;

	if (stop)
		return XDP_DROP;
	if (data + BENCH_FRAME_LEN > end)
		return XDP_ABORTED;
	struct bench_gen_state *st = bpf_map_lookup_elem(&gen_state, &zero);
	if (!st)
		return XDP_ABORTED;
#pragma unroll
	for (int i = 0; i < BENCH_FRAME_WORDS; i++)
		w[i] = frame[i];
	__u32 flow = st->flow;
	st->flow = flow + 1 >= flows ? 0 : flow + 1;
	st->sent++;
	*(__u16 *)(data + BENCH_UDP_SPORT_OFF) = bpf_htons(sport_base + flow);
	if (flood_every && ++st->flood_seq >= flood_every) {
		st->flood_seq = 0;
		__u16 *ip = data + BENCH_IP_OFF;
		__u32 saddr = bpf_htonl(0x0a000000 | (bpf_get_prandom_u32() & 0x00ffffff));
		__builtin_memcpy(data + BENCH_IP_OFF + 12, &saddr, 4);
		/* Read as a volatile first: a memcpy straight from the constant
		 * would be folded to its initial 0. */
		__u32 daddr = flood_daddr;
		__builtin_memcpy(data + BENCH_IP_OFF + 16, &daddr, 4);
		*(__u16 *)(data + BENCH_UDP_SPORT_OFF + 2) = flood_dport;
		__u32 sum = 0;
		ip[5] = 0;
#pragma unroll
		for (int i = 0; i < 10; i++)
			sum += ip[i];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		ip[5] = ~sum;
	}
	return out_ifindex ? bpf_redirect(out_ifindex, 0) : XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
