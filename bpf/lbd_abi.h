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

#define LBD_ABI_VERSION 5

/* Default map sizes; the daemon may resize before load. */
#define LBD_MAX_VIPS 512
#define LBD_MAX_REALS 4096
#define LBD_MAX_IFACES 64
/* Entries of each flow table (conntrack4/6, conntrack_udp4/6); lb_conntrack_size. */
#define LBD_CONNTRACK_SIZE 262144
/* lc / wlc: TCP flows between the client's SYN and its handshake's end. */
#define LBD_HALF_OPEN_SIZE 65536
/* lc / wlc: reals a least-connection service picks among (lc_sets). */
#define LBD_LC_MAX_REALS 128
/* Prime, as Maglev requires. Each real's share is off by up to a slot, so
 * the paper keeps size > 100 * reals: the default suits pools of up to
 * several hundred reals; lb_ring_size sets another. */
#define LBD_RING_SIZE_DEFAULT 65537
#define LBD_RING_SIZE_MAX 1048573   /* largest prime below 2^20 */
/* A ring (an inner map of `rings`): sizes may differ (BPF_F_INNER_MAP), and
 * the daemon maps it to change slots in place (BPF_F_MMAPABLE). The kernel
 * takes an inner map only with the template's flags. */
#define LBD_RING_MAP_FLAGS (BPF_F_INNER_MAP | BPF_F_MMAPABLE)
#define LBD_NAT_REVERSE_MAX 16384   /* reals' (address, port, protocol) of NAT services */
#define LBD_NAT_REPLIES_SIZE 65536  /* flows through reals that serve several NAT services */
#define LBD_NAT_UNRESOLVED_BYTES (1u << 16) /* nat_unresolved: some 2,700 records */
/* frags: datagrams in flight in fragments whose first fragment was seen (some
 * 1.8 MiB); vip_addrs: addresses of virtual services. */
#define LBD_FRAGS_SIZE 16384
#define LBD_MAX_VIP_ADDRS LBD_MAX_VIPS

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
	LBD_MODE_NAT = 2, /* rewrite the destination to the real; its replies back to the VIP */
};

enum lbd_vip_flags {
	/* Pick by source address only (keepalived's sh, or persistence_timeout):
	 * every flow of a client goes to the same real. */
	LBD_VIP_F_HASH_SRC = 1u << 0,
	/* lc / wlc: a new flow goes to the real of lc_sets[vip_id] with the
	 * fewest active flows for its weight (real_conns), not to the ring's. */
	LBD_VIP_F_LEAST_CONN = 1u << 1,
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
	/* 1 + the id of the VRRP instance whose lease (vrrp_leases) must be
	 * current for the VIP to be served; 0: no instance floats it. */
	__u32 lease;
};

enum lbd_real_flags {
	LBD_REAL_F_UP = 1u << 0,    /* may receive traffic; cleared when removed or dead */
	LBD_REAL_F_NEIGH = 1u << 1, /* mac, ifindex and egress hold the daemon's next hop */
	/* NAT: the real's (address, port, protocol) serves several NAT services,
	 * so its replies are told apart by the flow (nat_replies4/6). */
	LBD_REAL_F_NAT_PER_FLOW = 1u << 2,
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
	/* NAT: a real entry stands for one (address, port, protocol); its port
	 * (network order; 0: the client's destination port, a port-0 service's)
	 * and protocol. Both 0 for DR and TUN, whose entry is the address. */
	__u16 port;
	__u8 proto;
	__u8 pad2;
};

/* A flow as the client sends it: what the lb program parses and hashes for
 * the ring pick; the key of conntrack6 and conntrack_udp6 (family
 * LBD_AF_INET6), and of half_open (either family). */
struct lbd_flow_key {
	union lbd_addr src;
	union lbd_addr dst;
	__u16 sport; /* network order */
	__u16 dport; /* network order */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

/* The key of conntrack4 and conntrack_udp4. */
struct lbd_flow_key4 {
	__u32 src;
	__u32 dst;
	__u16 sport; /* network order */
	__u16 dport; /* network order */
	__u8 proto;
	__u8 pad[3];
};

/*
 * Flow tables: conntrack4 / conntrack6 for TCP, conntrack_udp4 /
 * conntrack_udp6 for UDP, so that a flood of one protocol cannot evict the
 * other's flows. A TCP flow gets its entry with the first packet after the
 * client's SYN, not with the SYN, whose real the ring decides anyway: spoofed
 * SYNs insert nothing. New entries are limited per CPU and second (the flood
 * guard, ct_guard_rate); above it a flow is forwarded by the ring without one.
 */
enum lbd_flow_flags {
	/* lc / wlc: counted in real_conns[real] until the client's FIN or RST. */
	LBD_FLOW_F_COUNTED = 1u << 0,
};

struct lbd_flow {
	__u32 real;    /* index into reals */
	__u16 vip_id;
	__u8 flags;    /* enum lbd_flow_flags */
	__u8 pad;
	__u64 last_ns; /* CLOCK_MONOTONIC (coarse, bpf/lib/clock.h) of the last packet */
};

/* lc_sets[vip_id]: the reals an lc / wlc service picks among, with their
 * weights (lc: 1 each); reals of weight 0 are left out. */
struct lbd_lc_member {
	__u32 real;
	__u32 weight;
};

struct lbd_lc_set {
	__u32 count;
	__u32 pad;
	struct lbd_lc_member members[LBD_LC_MAX_REALS];
};

/* flow_events index, per CPU: what became of flows that found no entry. */
#define LBD_FLOW_EVENTS(X)                                                       \
	X(LBD_FE_INSERTED, "inserted")       /* a flow got its entry */             \
	X(LBD_FE_GUARDED, "guarded")         /* above ct_guard_rate: forwarded without one */ \
	X(LBD_FE_SYN_UNTRACKED, "syn_untracked") /* a SYN: forwarded by the ring, no entry */ \
	X(LBD_FE_HALF_OPEN, "half_open")     /* lc / wlc: a SYN's pick kept until its handshake ends */ \
	X(LBD_FE_CLOSED, "closed")           /* lc / wlc: the client's FIN or RST uncounted a flow */

#define LBD_FLOW_EVENT_ENUM(id, name) id,
enum lbd_flow_event { LBD_FLOW_EVENTS(LBD_FLOW_EVENT_ENUM) LBD_FE_MAX };
#undef LBD_FLOW_EVENT_ENUM

/*
 * NAT (keepalived's lb_kind NAT, bpf/lib/nat.h). A packet to a NAT service
 * goes to real:port (lbd_real.port) with the client's address kept; the real's replies
 * come back through this node, which rewrites them to VIP:port. The reply
 * direction needs no state when the real's (address, port, protocol) serves
 * one NAT service only (nat_reverse4/6): a node that takes over translates
 * replies of flows it never saw. A real serving several keeps, per flow, an
 * entry keyed as its replies arrive (nat_replies4/6), which a takeover loses.
 */

/* nat_reverse4 (key lbd_vip_key4) / nat_reverse6 (key lbd_vip_key): a real's
 * (address, port, protocol) -> the service its replies come from; a port of
 * 0 stands for every port (a port-0 service). Also the value of
 * nat_replies4 (key lbd_flow_key4) / nat_replies6 (key lbd_flow_key), keyed
 * by a reply as the real sends it. */
struct lbd_nat_service {
	union lbd_addr vip;
	__u16 port;   /* network order; 0: the source port stays */
	__u8 pad[2];
	__u32 vip_id; /* whose vip_active says whether this node serves it */
};

/* A record of nat_unresolved: the next hop toward a NAT reply's client that
 * the kernel has no neighbour entry for (the node never routed to it: the
 * client's packets reach XDP, not the kernel). The reply is dropped
 * (drop_nat_no_route); the daemon asks the kernel to resolve the address, so
 * the client's next retransmission finds it. */
struct lbd_nat_unresolved {
	union lbd_addr addr;
	__u32 ifindex;
	__u8 family; /* LBD_AF_INET or LBD_AF_INET6 */
	__u8 pad[3];
};

/*
 * Fragments (docs/dataplane.md, "Fragments"). Only the first fragment of a
 * datagram carries its ports; the lb program keeps them in `frags`, keyed by
 * what RFC 791 / RFC 8200 section 4.5 say identifies a datagram, so that
 * later fragments go to the real of the same flow. A later fragment whose
 * first was not seen, to an address of `vip_addrs`, is dropped.
 */
struct lbd_frag_key {
	union lbd_addr src;
	union lbd_addr dst;
	__u32 id;     /* IPv4 identification (16 bits) or IPv6's, network order */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family;  /* LBD_AF_INET or LBD_AF_INET6 */
	__u8 pad[2];
};

/* frags value: what the first fragment said of its flow. */
struct lbd_frag_ports {
	__u16 sport;    /* network order */
	__u16 dport;    /* network order */
	__u8 new_conn;  /* a TCP SYN without ACK: later fragments make no entry either */
	__u8 pad[3];
};

/* vip_addrs: key struct lbd_fence_key, an address some virtual service
 * listens on; the value (a __u8, 1) only marks presence. */

/* decap_dsts (real servers, bpf/decap.bpf.c): outer destinations whose
 * IPIP / IP6IP6 packets this host unwraps, at most LBD_DECAP_MAX_DSTS. */
#define LBD_DECAP_MAX_DSTS 64
struct lbd_decap_key {
	union lbd_addr addr;
	__u8 family;
	__u8 pad[3];
};

/* decap_srcs (real servers): the outer sources tunnelled packets are taken
 * from, the LB nodes' tunnel sources, at most LBD_DECAP_MAX_SRCS. A packet
 * from any other source would reach the VIP on lo as if lbd had forwarded
 * it: anyone able to send this host IPIP could then speak to the service
 * with any client address. */
#define LBD_DECAP_MAX_SRCS 64
struct lbd_decap_src_key {
	union lbd_addr addr;
	__u8 family;
	__u8 pad[3];
};

/* decap_stats index, per CPU. */
enum lbd_decap_counter {
	LBD_DECAP_OK = 0,          /* unwrapped and handed to the stack */
	LBD_DECAP_FAILED = 1,      /* ours, but the kernel refused to shrink it: dropped */
	LBD_DECAP_REFUSED_SRC = 2, /* to a listed destination from an unlisted source: dropped */
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
 * lb program reaches is counted under exactly one of these, except for VRRP
 * packets, counted in `vrrp_rx_stats` (LBD_VRRP_REASONS below); lbctl prints
 * the names below. Append only.
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
	X(LBD_R_DROP_ADJUST, "drop_adjust")       /* headroom/tailroom change failed */ \
	X(LBD_R_DROP_FENCED, "drop_fenced")       /* to a VIP whose lease expired */ \
	X(LBD_R_DROP_FENCED_NEIGH, "drop_fenced_neigh") /* ARP/NS for such a VIP */ \
	X(LBD_R_NAT_KERNEL, "nat_kernel")         /* NAT: rewritten, left to the kernel to route */ \
	X(LBD_R_NAT_REPLY_TX, "nat_reply_tx")     /* NAT reply rewritten, out the ingress port */ \
	X(LBD_R_NAT_REPLY_REDIRECT, "nat_reply_redirect") /* ... through tx_ports */ \
	X(LBD_R_DROP_NAT_NO_ROUTE, "drop_nat_no_route") /* NAT reply: no next hop to the client */ \
	X(LBD_R_DROP_TTL, "drop_ttl")             /* NAT: TTL / hop limit would reach 0 */ \
	X(LBD_R_DROP_NO_ACCEPT, "drop_no_accept") /* to a VIP of a no_accept master, no service's */ \
	X(LBD_R_DROP_FENCED_ROUTING, "drop_fenced_routing") /* BGP/BFD of a node whose announce lease expired */ \
	X(LBD_R_DROP_FRAGMENT_UNKNOWN, "drop_fragment_unknown") /* later fragment to a VIP, first not seen */ \
	X(LBD_R_DROP_FRAGMENT_NAT, "drop_fragment_nat") /* fragment to a NAT service */

#define LBD_REASON_ENUM(id, name) id,
enum lbd_reason { LBD_REASONS(LBD_REASON_ENUM) LBD_REASON_MAX };
#undef LBD_REASON_ENUM

/*
 * VRRP through kernel maps (DESIGN.md, "The VRRP path through kernel maps").
 * The lb program validates adverts for the instances in `vrrp_rx` and queues
 * them to `vrrp_events`; the never-attached lbd_vrrp_tx program builds
 * adverts, gratuitous ARPs and unsolicited NAs from `vrrp_tx` when the daemon
 * runs it with BPF_PROG_RUN.
 */
#define LBD_VRRP_MAX_INSTANCES 256
#define LBD_VRRP_MAX_PEERS 1024     /* unicast peers of all instances together */
#define LBD_VRRP_MAX_FENCED 4096    /* addresses of all instances together */
#define LBD_VRRP_MAX_ADDRS 64       /* addresses in one advert the tx program builds */
#define LBD_VRRP_AUTH_LEN 8         /* v2 authentication data, RFC 3768 5.3.10 */
#define LBD_VRRP_MAX_PACKET 1536    /* IP packet bytes an event carries; longer: passed */
#define LBD_VRRP_EVENTS_BYTES (1u << 20) /* vrrp_events: some 670 events */

/* vrrp_rx key: the instance that owns a VRID on an interface. ifindex is the
 * interface the frame arrived on (a VLAN-tagged frame: the lower device). */
struct lbd_vrrp_key {
	__u32 ifindex;
	__u8 vrid;
	__u8 family; /* LBD_AF_INET or LBD_AF_INET6 */
	__u8 pad[2];
};

enum lbd_vrrp_rx_flags {
	/* Unicast instance: the source must be one of its vrrp_peers. */
	LBD_VRRP_RX_F_PEERS_ONLY = 1u << 0,
};

/* vrrp_rx value: what an advert for this instance must carry. */
struct lbd_vrrp_rx {
	__u32 instance_id;
	__u8 version;   /* 2 or 3 */
	__u8 auth_type; /* v2: 0 none, 1 PASS; v3: 0 */
	__u8 flags;     /* enum lbd_vrrp_rx_flags */
	__u8 pad;
	__u8 auth_pass[LBD_VRRP_AUTH_LEN]; /* PASS: the password, zero-padded */
};

/* vrrp_peers key; the value (a __u8, 1) only marks presence. */
struct lbd_vrrp_peer_key {
	__u32 instance_id;
	union lbd_addr addr;
};

/* A record of vrrp_events: an advert that passed every check. */
struct lbd_vrrp_event {
	__u64 at_ns;       /* bpf_ktime_get_ns(): CLOCK_MONOTONIC at arrival */
	__u32 ifindex;     /* where it arrived */
	__u32 instance_id;
	__u32 len;         /* bytes of packet that hold the IP packet */
	__u32 pad;
	__u8 packet[LBD_VRRP_MAX_PACKET]; /* IP header onwards, no Ethernet padding */
};

/* vrrp_tx[instance_id]: the parts of an instance's frames that change only
 * with its configuration. */
struct lbd_vrrp_tx {
	union lbd_addr src;   /* advert source address */
	__u8 src_mac[6];      /* source MAC of adverts */
	__u8 announce_mac[6]; /* source and target link-layer address of GARP / NA */
	__u8 version;
	__u8 vrid;
	__u8 family;          /* LBD_AF_INET or LBD_AF_INET6; 0: slot unused */
	__u8 naddr;           /* at most LBD_VRRP_MAX_ADDRS */
	__u8 auth_type;
	__u8 pad[3];
	__u8 auth_pass[LBD_VRRP_AUTH_LEN];
	/* naddr addresses of `family`, packed as on the wire (4 or 16 bytes each) */
	__u8 addrs[LBD_VRRP_MAX_ADDRS * 16];
};

enum lbd_vrrp_tx_kind {
	LBD_VRRP_TX_ADVERT = 0,
	LBD_VRRP_TX_GARP = 1, /* gratuitous ARP for an IPv4 VIP */
	LBD_VRRP_TX_NA = 2,   /* unsolicited neighbour advertisement for an IPv6 VIP */
};

enum lbd_vrrp_tx_flags {
	LBD_VRRP_TX_F_UNICAST = 1u << 0, /* advert to addr / dst_mac, not to the group */
	LBD_VRRP_TX_F_ROUTER = 1u << 1,  /* NA: Router flag */
};

/* What lbd_vrrp_tx builds, passed at the start of data_in; data_in is as long
 * as the frame to build, which overwrites it. Fits the shortest frame
 * (LBD_VRRP_GARP_LEN). */
struct lbd_vrrp_tx_req {
	__u32 instance_id;
	__u8 kind;              /* enum lbd_vrrp_tx_kind */
	__u8 flags;             /* enum lbd_vrrp_tx_flags */
	__u8 priority;          /* ADVERT */
	__u8 pad;
	__u16 max_advert_int_cs; /* ADVERT, host order; v2: whole seconds * 100 */
	__u16 ipv4_id;          /* ADVERT over IPv4: the IP identification, host order */
	__u8 dst_mac[6];        /* ADVERT with LBD_VRRP_TX_F_UNICAST */
	__u8 pad2[2];
	union lbd_addr addr;    /* ADVERT: unicast destination; GARP / NA: the VIP */
};

#define LBD_VRRP_GARP_LEN 42 /* Ethernet + ARP */
#define LBD_VRRP_NA_LEN 86   /* Ethernet + IPv6 + NA + target link-layer option */

/* Counted per CPU in `vrrp_rx_stats`: what the lb program did with a packet
 * of IP protocol 112. Append only. */
#define LBD_VRRP_REASONS(X)                                                        \
	X(LBD_VR_RX_QUEUED, "rx_queued")           /* valid: queued and passed */      \
	X(LBD_VR_PASS_UNKNOWN_VRID, "pass_unknown_vrid") /* no instance here: not ours */ \
	X(LBD_VR_PASS_TRUNCATED, "pass_truncated") /* VRID not inside the datagram */  \
	X(LBD_VR_PASS_FRAGMENT, "pass_fragment")   /* a later fragment: VRID unknown */ \
	X(LBD_VR_PASS_TOO_LONG, "pass_too_long")   /* over LBD_VRRP_MAX_PACKET */      \
	X(LBD_VR_PASS_RING_FULL, "pass_ring_full") /* vrrp_events full: lost */        \
	X(LBD_VR_DROP_FRAGMENT, "drop_fragment")   /* first fragment of an advert */   \
	X(LBD_VR_DROP_BAD_IP_HEADER, "drop_bad_ip_header") /* IPv4 header checksum */  \
	X(LBD_VR_DROP_BAD_TTL, "drop_bad_ttl")     /* TTL / hop limit not 255 */       \
	X(LBD_VR_DROP_BAD_VERSION, "drop_bad_version") /* not the instance's */        \
	X(LBD_VR_DROP_BAD_TYPE, "drop_bad_type")   /* not ADVERTISEMENT */             \
	X(LBD_VR_DROP_BAD_ADDRESS_COUNT, "drop_bad_address_count") /* count > message */ \
	X(LBD_VR_DROP_BAD_LENGTH, "drop_bad_length") /* bytes after the message */     \
	X(LBD_VR_DROP_BAD_CHECKSUM, "drop_bad_checksum")                               \
	X(LBD_VR_DROP_BAD_INTERVAL, "drop_bad_interval") /* advert interval 0 */       \
	X(LBD_VR_DROP_BAD_AUTH, "drop_bad_auth")   /* v2 auth type or password */      \
	X(LBD_VR_DROP_UNKNOWN_PEER, "drop_unknown_peer") /* unicast: not a peer */

#define LBD_VRRP_REASON_ENUM(id, name) id,
enum lbd_vrrp_reason { LBD_VRRP_REASONS(LBD_VRRP_REASON_ENUM) LBD_VRRP_REASON_MAX };
#undef LBD_VRRP_REASON_ENUM

/*
 * Self-fencing. The VRRP loop renews its instances' leases; once a lease is
 * past expires_ns (the daemon died or its loop stopped), the lb program
 * stops serving that instance's addresses: no forwarding to its virtual
 * services, no traffic to the addresses, no ARP or neighbour solicitation
 * for them reaching the kernel (LBD_R_DROP_FENCED*). A restarted daemon reads
 * the leases to resume as MASTER (lease current) or start as BACKUP.
 */

/* vrrp_leases[instance_id]. */
struct lbd_vrrp_lease {
	__u64 expires_ns;        /* CLOCK_MONOTONIC; 0: no lease, never fenced */
	struct lbd_vrrp_key key; /* the instance's identity across restarts */
	__u8 state;              /* enum lbd_vrrp_state when last renewed */
	__u8 flags;              /* enum lbd_lease_flags */
	__u8 pad[6];
};

enum lbd_lease_flags {
	/* RFC 5798 Accept_Mode false (keepalived's no_accept) on a non-owner:
	 * while MASTER, traffic to the instance's addresses that is no virtual
	 * service's is dropped (LBD_R_DROP_NO_ACCEPT), neighbour discovery apart. */
	LBD_LEASE_F_NO_ACCEPT = 1u << 0,
};

enum lbd_vrrp_state {
	LBD_VRRP_INIT = 0,
	LBD_VRRP_BACKUP = 1,
	LBD_VRRP_MASTER = 2,
	LBD_VRRP_FAULT = 3,
};

/* vrrp_fence key: an address an instance floats; the value (a __u32) is the
 * instance's id. */
struct lbd_fence_key {
	union lbd_addr addr;
	__u8 family; /* LBD_AF_INET or LBD_AF_INET6 */
	__u8 pad[3];
};

/*
 * Capture (lbctl capture): while the daemon sets capture_classes (the lb
 * object's .bss), each verdict of a class it names copies the head of the
 * frame, as it leaves (after any rewrite), into the `capture` ring buffer.
 * VRRP adverts received (lib/vrrp_rx.h) and the frames lbd_vrrp_tx builds
 * (adverts, gratuitous ARPs, NAs) are class VRRP; every other verdict is
 * forwarded (XDP_TX, XDP_REDIRECT), dropped (XDP_DROP, XDP_ABORTED) or
 * passed (XDP_PASS). Off, each packet pays a test of that
 * variable at the start, at its verdict and on the way out: no map lookup.
 */
enum lbd_capture_class {
	LBD_CAPTURE_VRRP = 1u << 0,
	LBD_CAPTURE_FORWARDED = 1u << 1,
	LBD_CAPTURE_DROPPED = 1u << 2,
	LBD_CAPTURE_PASSED = 1u << 3,
};
#define LBD_CAPTURE_ALL 0xfu
#define LBD_CAPTURE_SNAP_MAX 256           /* frame bytes a record can hold */
#define LBD_CAPTURE_BYTES (1u << 20)       /* capture: some 3,700 records */
/* lbd_capture_record.reason of a frame lbd_vrrp_tx built: no verdict on a
 * received packet, no reason. */
#define LBD_CAPTURE_TX 0xffff

/* A record of `capture`. */
struct lbd_capture_record {
	__u64 at_ns;    /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 ifindex;  /* arrived on (lbd_vrrp_tx: leaves by) */
	__u32 len;      /* the frame's length */
	__u32 cap_len;  /* bytes of data that hold the frame's head */
	__u16 reason;   /* enum lbd_reason; class VRRP: enum lbd_vrrp_reason, or LBD_CAPTURE_TX */
	__u8 cls;       /* one enum lbd_capture_class */
	__u8 verdict;   /* XDP_* */
	__u8 data[LBD_CAPTURE_SNAP_MAX];
};

/* capture_stats index, per CPU. */
enum lbd_capture_counter {
	LBD_CAPTURE_RECORDS = 0, /* records queued */
	LBD_CAPTURE_LOST = 1,    /* capture full: the reader fell behind */
	LBD_CAPTURE_COUNTER_MAX,
};

/* abi[0]: written when the maps are created, checked before a restarted
 * daemon adopts them. */
struct lbd_abi_info {
	__u32 version; /* LBD_ABI_VERSION */
	__u32 pad;
};

/* Pin names under /sys/fs/bpf/lbd/<instance>/; equal to the map names in
 * bpf/lb_maps.h, which libbpf pins by name. */
#define LBD_PIN_VIPS4 "vips4"
#define LBD_PIN_VIPS6 "vips6"
#define LBD_PIN_VIP_ACTIVE "vip_active"
#define LBD_PIN_REALS "reals"
#define LBD_PIN_RINGS "rings"
#define LBD_PIN_RING_INPUTS "ring_inputs"
#define LBD_PIN_CONNTRACK4 "conntrack4"
#define LBD_PIN_CONNTRACK6 "conntrack6"
#define LBD_PIN_CONNTRACK_UDP4 "conntrack_udp4"
#define LBD_PIN_CONNTRACK_UDP6 "conntrack_udp6"
#define LBD_PIN_HALF_OPEN "half_open"
#define LBD_PIN_LC_SETS "lc_sets"
#define LBD_PIN_REAL_CONNS "real_conns"
#define LBD_PIN_FLOW_EVENTS "flow_events"
#define LBD_PIN_VIP_STATS "vip_stats"
#define LBD_PIN_REAL_STATS "real_stats"
#define LBD_PIN_REASONS "reasons"
#define LBD_PIN_IFACES "ifaces"
#define LBD_PIN_TX_PORTS "tx_ports"
#define LBD_PIN_DECAP_DSTS "decap_dsts"
#define LBD_PIN_DECAP_STATS "decap_stats"
#define LBD_PIN_DECAP_SRCS "decap_srcs"
#define LBD_PIN_VRRP_RX "vrrp_rx"
#define LBD_PIN_VRRP_PEERS "vrrp_peers"
#define LBD_PIN_VRRP_TX "vrrp_tx"
#define LBD_PIN_VRRP_EVENTS "vrrp_events"
#define LBD_PIN_VRRP_RX_STATS "vrrp_rx_stats"
#define LBD_PIN_VRRP_LEASES "vrrp_leases"
#define LBD_PIN_VRRP_FENCE "vrrp_fence"
#define LBD_PIN_ABI "abi"
#define LBD_PIN_NAT_REVERSE4 "nat_reverse4"
#define LBD_PIN_NAT_REVERSE6 "nat_reverse6"
#define LBD_PIN_NAT_REPLIES4 "nat_replies4"
#define LBD_PIN_NAT_REPLIES6 "nat_replies6"
#define LBD_PIN_NAT_UNRESOLVED "nat_unresolved"
#define LBD_PIN_FRAGS "frags"
#define LBD_PIN_VIP_ADDRS "vip_addrs"
#define LBD_PIN_CAPTURE "capture"
#define LBD_PIN_CAPTURE_STATS "capture_stats"
#define LBD_PIN_ROOT "/sys/fs/bpf/lbd"

#endif /* LBD_ABI_H */
