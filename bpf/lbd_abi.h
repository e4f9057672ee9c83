/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The one definition of everything the BPF programs and the daemon share:
 * map keys and values, enums, counter indexes, reason names, pin names and
 * the ABI version. Included by the BPF programs and by userspace; never copy a
 * struct from here into another file.
 *
 * Pinned maps outlive the daemon, so fields are only ever appended, and any
 * change of layout bumps LBD_ABI_VERSION.
 */
#ifndef LBD_ABI_H
#define LBD_ABI_H

#include <linux/types.h>

#define LBD_ABI_VERSION 1

/* Default map sizes; the daemon may resize before load. */
#define LBD_MAX_VIPS 512
#define LBD_MAX_REALS 4096
#define LBD_MAX_IFACES 64
#define LBD_CONNTRACK_SIZE 262144
#define LBD_RING_SIZE_DEFAULT 65537 /* prime, as Maglev requires */
#define LBD_RING_SIZE_MAX 1048573   /* largest prime below 2^20 */

/* Address families as on the wire of the ABI (same values as AF_INET{,6}). */
#define LBD_AF_INET 2
#define LBD_AF_INET6 10

/* An IPv4 address sits in v4 with the other 12 bytes zero. Network order. */
union lbd_addr {
	__u32 v4;
	__u32 v6[4];
	__u8 bytes[16];
};

/*
 * IPv4 services and flows have maps and keys of their own: a hash map lookup
 * hashes and compares the whole key, and an IPv4 key is less than half the
 * size of one that must hold IPv6.
 */

/* vips4 / vips6: which (address, port, protocol) is a virtual service.
 * A port of 0 matches every port of that address and protocol. */
struct lbd_vip_key4 {
	__u32 addr; /* network order */
	__u16 port; /* network order */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

/* The key of vips6 (family LBD_AF_INET6), and the family-neutral form in
 * which userspace names any virtual service. */
struct lbd_vip_key {
	union lbd_addr addr;
	__u16 port; /* network order */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* LBD_AF_INET or LBD_AF_INET6 */
};

enum lbd_fwd_mode {
	LBD_MODE_DR = 0,  /* rewrite MACs; the real holds the VIP on lo */
	LBD_MODE_TUN = 1, /* IPIP / IP6IP6 to the real, which decapsulates */
};

enum lbd_vip_flags {
	/* Pick by source address only (keepalived's sh, or persistence_timeout):
	 * every flow of a client goes to the same real. */
	LBD_VIP_F_HASH_SRC = 1u << 0,
};

struct lbd_vip_meta {
	__u32 vip_id;    /* index into vip_active, rings and vip_stats */
	__u32 flags;     /* enum lbd_vip_flags */
	__u32 ring_size; /* slots of this VIP's Maglev ring (prime) */
	__u8 mode;       /* enum lbd_fwd_mode */
	__u8 pad[3];
};

/* vip_active[vip_id]: non-zero while this node owns the VIP (VRRP master). */
struct lbd_vip_active {
	__u32 active;
};

enum lbd_real_flags {
	LBD_REAL_F_UP = 1u << 0,    /* may receive traffic; cleared when removed or dead */
	LBD_REAL_F_NEIGH = 1u << 1, /* mac, ifindex and egress hold the daemon's next hop */
};

/* ifaces[ifindex]: what the programs need to know of an egress interface. */
struct lbd_iface {
	__u8 mac[6];
	__u16 pad;
	__u32 mtu;
	__u32 tun_src4;    /* outer IPv4 source for TUN (network order) */
	__u32 tun_src6[4]; /* outer IPv6 source for TUN */
};

/* reals[index]: a real server and the daemon's view of its next hop. */
struct lbd_real {
	union lbd_addr addr;
	__u32 ifindex; /* egress interface of the next hop */
	__u8 mac[6];   /* next hop's MAC: the real (DR) or its gateway (TUN) */
	__u8 family;
	__u8 flags;    /* enum lbd_real_flags */
	/* The egress interface's entry, copied here so the hot path needs no
	 * lookup in `ifaces`; valid with LBD_REAL_F_NEIGH. */
	struct lbd_iface egress;
};

/* A flow as the client sends it: what the lb program parses and hashes for
 * the ring pick, and the key of conntrack6 (family LBD_AF_INET6). */
struct lbd_flow_key {
	union lbd_addr src;
	union lbd_addr dst;
	__u16 sport; /* network order */
	__u16 dport; /* network order */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

/* The key of conntrack4. */
struct lbd_flow_key4 {
	__u32 src;
	__u32 dst;
	__u16 sport; /* network order */
	__u16 dport; /* network order */
	__u8 proto;
	__u8 pad[3];
};

/* conntrack4 / conntrack6: one entry per flow. */
struct lbd_flow {
	__u32 real;    /* index into reals */
	__u32 vip_id;
	__u64 last_ns; /* bpf_ktime_get_coarse_ns() of the last packet */
};

/* decap_dsts (real servers, bpf/decap.bpf.c): outer destinations whose
 * IPIP / IP6IP6 packets this host unwraps. */
struct lbd_decap_key {
	union lbd_addr addr;
	__u8 family;
	__u8 pad[3];
};

/* decap_stats index, per CPU. */
enum lbd_decap_counter {
	LBD_DECAP_OK = 0,     /* unwrapped and handed to the stack */
	LBD_DECAP_FAILED = 1, /* ours, but the kernel refused to shrink it: dropped */
	LBD_DECAP_MAX,
};

/* vip_stats[vip_id] and real_stats[index], per CPU. */
struct lbd_counters {
	__u64 packets;
	__u64 bytes;
	__u64 new_flows;
};

/*
 * What happened to a packet, counted per CPU in `reasons`. Every verdict the
 * lb program reaches is counted under exactly one of these; lbctl prints the
 * names below. Append only.
 */
#define LBD_REASONS(X)                                                          \
	X(LBD_R_FWD_TX, "fwd_tx")                 /* forwarded out the ingress port */ \
	X(LBD_R_FWD_REDIRECT, "fwd_redirect")     /* forwarded through tx_ports */  \
	X(LBD_R_PASS_NOT_IP, "pass_not_ip")       /* not IPv4/IPv6 */              \
	X(LBD_R_PASS_NOT_VIP, "pass_not_vip")     /* no virtual service matches */ \
	X(LBD_R_PASS_VIP_INACTIVE, "pass_vip_inactive") /* VIP owned elsewhere */  \
	X(LBD_R_PASS_FRAGMENT, "pass_fragment")   /* IP fragments: no ports to hash */ \
	X(LBD_R_PASS_IPV6_EXT, "pass_ipv6_ext")   /* IPv6 extension headers */     \
	X(LBD_R_PASS_NOT_L4, "pass_not_l4")       /* protocol other than TCP/UDP */ \
	X(LBD_R_PASS_ICMP, "pass_icmp")           /* ICMP not about a VIP flow */  \
	X(LBD_R_PASS_TRUNCATED, "pass_truncated") /* ends inside a header */       \
	X(LBD_R_PASS_BAD_HEADER, "pass_bad_header") /* inconsistent lengths/version */ \
	X(LBD_R_DROP_NO_REAL, "drop_no_real")     /* ring empty: no real is up */  \
	X(LBD_R_DROP_NO_NEIGH, "drop_no_neigh")   /* next hop unresolved */        \
	X(LBD_R_DROP_TOO_BIG, "drop_too_big")     /* encapsulated > MTU, DF clear */ \
	X(LBD_R_TX_ICMP_TOO_BIG, "tx_icmp_too_big") /* answered with frag-needed/PTB */ \
	X(LBD_R_DROP_ADJUST, "drop_adjust")       /* headroom/tailroom change failed */

#define LBD_REASON_ENUM(id, name) id,
enum lbd_reason { LBD_REASONS(LBD_REASON_ENUM) LBD_REASON_MAX };
#undef LBD_REASON_ENUM

/* Pin names under /sys/fs/bpf/lbd/<instance>/; equal to the map names in
 * bpf/lb_maps.h, which libbpf pins by name. */
#define LBD_PIN_VIPS4 "vips4"
#define LBD_PIN_VIPS6 "vips6"
#define LBD_PIN_VIP_ACTIVE "vip_active"
#define LBD_PIN_REALS "reals"
#define LBD_PIN_RINGS "rings"
#define LBD_PIN_CONNTRACK4 "conntrack4"
#define LBD_PIN_CONNTRACK6 "conntrack6"
#define LBD_PIN_VIP_STATS "vip_stats"
#define LBD_PIN_REAL_STATS "real_stats"
#define LBD_PIN_REASONS "reasons"
#define LBD_PIN_IFACES "ifaces"
#define LBD_PIN_TX_PORTS "tx_ports"
#define LBD_PIN_DECAP_DSTS "decap_dsts"
#define LBD_PIN_DECAP_STATS "decap_stats"
#define LBD_PIN_ROOT "/sys/fs/bpf/lbd"
/* /run/lbd/<instance>.lock: held by the running daemon, holds its pid. */
#define LBD_RUN_DIR "/run/lbd"

#endif /* LBD_ABI_H */
