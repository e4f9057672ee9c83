/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Flow hashing for the ring pick: Bob Jenkins' lookup3 mix/final on 32-bit
 * words. Both LB nodes run the same program, so the same flow hashes to the
 * same slot on either of them and a failover keeps flows on their reals.
 */
#ifndef LBD_LIB_HASH_H
#define LBD_LIB_HASH_H

#include <linux/types.h>
#include "lbd_abi.h"

#define LBD_HASH_INIT 0xdeadbeefu

static __always_inline __u32 lbd_rol32(__u32 w, unsigned s)
{
	return (w << s) | (w >> (32 - s));
}

#define lbd_jmix(a, b, c)                         \
	do {                                      \
		a -= c; a ^= lbd_rol32(c, 4);  c += b; \
		b -= a; b ^= lbd_rol32(a, 6);  a += c; \
		c -= b; c ^= lbd_rol32(b, 8);  b += a; \
		a -= c; a ^= lbd_rol32(c, 16); c += b; \
		b -= a; b ^= lbd_rol32(a, 19); a += c; \
		c -= b; c ^= lbd_rol32(b, 4);  b += a; \
	} while (0)

#define lbd_jfinal(a, b, c)                        \
	do {                                       \
		c ^= b; c -= lbd_rol32(b, 14);     \
		a ^= c; a -= lbd_rol32(c, 11);     \
		b ^= a; b -= lbd_rol32(a, 25);     \
		c ^= b; c -= lbd_rol32(b, 16);     \
		a ^= c; a -= lbd_rol32(c, 4);      \
		b ^= a; b -= lbd_rol32(a, 14);     \
		c ^= b; c -= lbd_rol32(b, 24);     \
	} while (0)

static __always_inline __u32 lbd_hash_3words(__u32 a, __u32 b, __u32 c, __u32 seed)
{
	a += LBD_HASH_INIT + seed;
	b += LBD_HASH_INIT + seed;
	c += LBD_HASH_INIT + seed;
	lbd_jfinal(a, b, c);
	return c;
}

/* Folds a 16-byte address into one word; IPv4 is its own word. */
static __always_inline __u32 lbd_hash_addr(const union lbd_addr *a, __u8 family)
{
	if (family == LBD_AF_INET)
		return a->v4;
	__u32 x = a->v6[0], y = a->v6[1], z = a->v6[2] + LBD_HASH_INIT;
	lbd_jmix(x, y, z);
	x += a->v6[3];
	lbd_jfinal(x, y, z);
	return z;
}

static __always_inline __u32 lbd_hash_flow(const struct lbd_flow_key *k)
{
	__u32 ports = ((__u32)k->sport << 16) | k->dport;
	return lbd_hash_3words(lbd_hash_addr(&k->src, k->family), lbd_hash_addr(&k->dst, k->family),
			       ports, k->proto);
}

static __always_inline __u32 lbd_hash_src(const struct lbd_flow_key *k)
{
	return lbd_hash_3words(lbd_hash_addr(&k->src, k->family), 0, 0, k->family);
}

#endif /* LBD_LIB_HASH_H */
