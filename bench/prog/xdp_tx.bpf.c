// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The floor of lb_prog_bench: returns XDP_TX without touching the frame, so
 * what BPF_PROG_RUN costs by itself per call (the timer, the XDP context,
 * bottom halves off and on) can be subtracted from the lb program's figures.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
