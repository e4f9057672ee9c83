/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Internet checksums (RFC 1071) over headers the programs write themselves. */
#ifndef LBD_LIB_CSUM_H
#define LBD_LIB_CSUM_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 lbd_csum_fold(__u64 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Sum of `words` 16-bit words at p; p must be readable for 2*words bytes. */
static __always_inline __u64 lbd_csum_add(__u64 sum, const void *p, int words)
{
	const __u16 *w = p;
#pragma unroll
	for (int i = 0; i < words; i++)
		sum += w[i];
	return sum;
}

/* IPv4 header checksum of a 20-byte header whose check field is zero. */
static __always_inline __u16 lbd_ipv4_csum(const void *iph)
{
	return lbd_csum_fold(lbd_csum_add(0, iph, 10));
}

#endif /* LBD_LIB_CSUM_H */
