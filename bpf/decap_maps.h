/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The decap program's maps. Layouts come from lbd_abi.h; libbpf pins each
 * map by its name under lbd-decap's pin directory. */
#ifndef LBD_DECAP_MAPS_H
#define LBD_DECAP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "lbd_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_decap_key);
	__type(value, __u32);
	__uint(max_entries, LBD_DECAP_MAX_DSTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} decap_dsts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct lbd_decap_src_key);
	__type(value, __u32);
	__uint(max_entries, LBD_DECAP_MAX_SRCS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} decap_srcs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LBD_DECAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} decap_stats SEC(".maps");

#endif /* LBD_DECAP_MAPS_H */
