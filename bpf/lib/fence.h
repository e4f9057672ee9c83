/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Self-fencing (lbd_abi.h): a VIP whose VRRP instance's lease expired is
 * served no more. A daemon that dies leaves its program attached and its
 * addresses on the interfaces; without this the node would go on answering
 * ARP for the VIPs and forwarding their traffic next to the backup that took
 * over, as a SIGKILLed keepalived does.
 */
#ifndef LBD_LIB_FENCE_H
#define LBD_LIB_FENCE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "lbd_abi.h"
#include "lb_maps.h"
#include "clock.h"
#include "parsing.h"

#define LBD_ARPOP_REQUEST 1
#define LBD_NDISC_NEIGHBOUR_SOLICITATION 135
#define LBD_BGP_PORT 179          /* RFC 4271 section 8.2.1 */
#define LBD_BFD_PORT 3784         /* single hop, RFC 5881 section 4 */
#define LBD_BFD_ECHO_PORT 3785    /* RFC 5881 section 4 */
#define LBD_BFD_MULTIHOP_PORT 4784 /* RFC 5883 section 5 */

/*
 * Scale-out (docs/scale-out.md): while the daemon keeps lb_announce_table it
 * renews this lease (CLOCK_MONOTONIC ns; 0: it announces nothing). Once the
 * lease is past, the daemon is gone and nobody will take its routes out of
 * the table: the node's BGP and BFD packets are dropped here instead, so
 * its routers lose the sessions and withdraw every route the node
 * announced. Not pinned: each loaded program has its own, written by the
 * daemon that loaded it, and a restarted daemon's program starts at 0.
 */
__u64 announce_lease_ns = 0;

/* ARP for IPv4 over Ethernet (RFC 826); linux/if_arp.h leaves the addresses out. */
struct lbd_arp_eth {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/* Neighbour solicitation (RFC 4861 4.3): the ICMPv6 header, then the target. */
struct lbd_nd_ns {
	struct icmp6hdr icmp;
	__u32 target[4];
};

/* A lease expires only once the daemon has written one: slot 0 and a zero
 * expires_ns mean nothing to fence. The program's clock lags the daemon's
 * by at most two ticks (lib/clock.h), which only delays fencing by as much. */
static __always_inline int lbd_lease_expired(__u32 lease)
{
	if (!lease)
		return 0;
	__u32 id = lease - 1;
	struct lbd_vrrp_lease *l = bpf_map_lookup_elem(&vrrp_leases, &id);
	return l && l->expires_ns && lbd_now() > l->expires_ns;
}

/* The lease of the instance that floats `addr`, if one does. */
static __always_inline struct lbd_vrrp_lease *lbd_addr_lease(const union lbd_addr *addr, __u8 family)
{
	struct lbd_fence_key k = { .family = family };
	__builtin_memcpy(&k.addr, addr, sizeof(k.addr));
	__u32 *id = bpf_map_lookup_elem(&vrrp_fence, &k);
	if (!id)
		return 0;
	return bpf_map_lookup_elem(&vrrp_leases, id);
}

static __always_inline int lbd_lease_past(const struct lbd_vrrp_lease *l)
{
	return l && l->expires_ns && lbd_now() > l->expires_ns;
}

static __always_inline int lbd_addr_fenced(const union lbd_addr *addr, __u8 family)
{
	return lbd_lease_past(lbd_addr_lease(addr, family));
}

/* An ARP request (any tag the parser took) whose target is a fenced VIP. */
static __always_inline int lbd_fenced_arp(void *data, void *end, const struct lbd_pkt *p)
{
	__u32 off = p->l3_off;
	if (off > LBD_L2_MAX)
		return 0;
	lbd_barrier_var(off);
	__be16 *proto = data + off - sizeof(__be16);
	struct lbd_arp_eth *arp = data + off;
	if ((void *)(proto + 1) > end || (void *)(arp + 1) > end)
		return 0;
	if (*proto != bpf_htons(ETH_P_ARP) || arp->op != bpf_htons(LBD_ARPOP_REQUEST) ||
	    arp->ptype != bpf_htons(ETH_P_IP) || arp->plen != 4)
		return 0;
	/* A designated initialiser leaves the rest of a union undefined. */
	union lbd_addr a;
	__builtin_memset(&a, 0, sizeof(a));
	a.v4 = arp->tpa;
	return lbd_addr_fenced(&a, LBD_AF_INET);
}

/* A neighbour solicitation whose target is a fenced VIP; the parser took
 * the IPv6 header (no extension headers) and passed it as ICMP. */
static __always_inline int lbd_fenced_ns(void *data, void *end, const struct lbd_pkt *p)
{
	__u32 off = p->l3_off;
	if (off > LBD_L2_MAX)
		return 0;
	lbd_barrier_var(off);
	struct ipv6hdr *ip6 = data + off;
	struct lbd_nd_ns *ns = (void *)(ip6 + 1);
	if ((void *)(ns + 1) > end)
		return 0;
	if (ip6->nexthdr != IPPROTO_ICMPV6 || ns->icmp.icmp6_type != LBD_NDISC_NEIGHBOUR_SOLICITATION)
		return 0;
	union lbd_addr a;
	__builtin_memcpy(&a, ns->target, sizeof(a));
	return lbd_addr_fenced(&a, LBD_AF_INET6);
}

/* ICMPv6 neighbour discovery (RFC 4861 types 133-137), which no_accept
 * lets through as keepalived's firewall rules do: the VIP must stay
 * reachable. The parser took the IPv6 header and passed it as ICMP. */
static __always_inline int lbd_is_nd(void *data, void *end, const struct lbd_pkt *p)
{
	__u32 off = p->l3_off;
	if (off > LBD_L2_MAX)
		return 0;
	lbd_barrier_var(off);
	struct ipv6hdr *ip6 = data + off;
	struct icmp6hdr *icmp = (void *)(ip6 + 1);
	if ((void *)(icmp + 1) > end || ip6->nexthdr != IPPROTO_ICMPV6)
		return 0;
	return icmp->icmp6_type >= 133 && icmp->icmp6_type <= 137;
}

/* A BGP segment or a BFD packet, either way, of a node whose announcement
 * lease ran out. */
static __always_inline int lbd_routing_fenced(const struct lbd_pkt *p)
{
	__u64 lease = announce_lease_ns;
	if (!lease || lbd_now() <= lease)
		return 0;
	if (p->flow.proto == IPPROTO_TCP)
		return p->flow.sport == bpf_htons(LBD_BGP_PORT) || p->flow.dport == bpf_htons(LBD_BGP_PORT);
	return p->flow.proto == IPPROTO_UDP &&
	       (p->flow.dport == bpf_htons(LBD_BFD_PORT) || p->flow.dport == bpf_htons(LBD_BFD_ECHO_PORT) ||
		p->flow.dport == bpf_htons(LBD_BFD_MULTIHOP_PORT));
}

/* What a packet the forwarding path passes becomes: a reason to drop it
 * under, or -1 to pass it as `reason` says. Only packets the kernel would
 * answer for a VIP are looked at: ARP, neighbour solicitations, and IP
 * traffic to it that is not a virtual service's. That is dropped when the
 * VIP's lease expired (fenced), or while its instance is a no_accept
 * master (RFC 5798 Accept_Mode false), neighbour discovery apart; and a
 * fenced node's routing sessions. */
static __always_inline int lbd_fence_passed(void *data, void *end, const struct lbd_pkt *p, int reason)
{
	if (reason == LBD_R_PASS_NOT_IP)
		return lbd_fenced_arp(data, end, p) ? LBD_R_DROP_FENCED_NEIGH : -1;
	if (reason == LBD_R_PASS_NOT_VIP && lbd_routing_fenced(p))
		return LBD_R_DROP_FENCED_ROUTING;
	if (reason != LBD_R_PASS_ICMP && reason != LBD_R_PASS_NOT_VIP && reason != LBD_R_PASS_NOT_L4)
		return -1;
	if (p->flow.family == LBD_AF_INET6 && reason == LBD_R_PASS_ICMP && lbd_fenced_ns(data, end, p))
		return LBD_R_DROP_FENCED_NEIGH;
	struct lbd_vrrp_lease *l = lbd_addr_lease(&p->flow.dst, p->flow.family);
	if (!l)
		return -1;
	if (lbd_lease_past(l))
		return LBD_R_DROP_FENCED;
	if (!(l->flags & LBD_LEASE_F_NO_ACCEPT) || l->state != LBD_VRRP_MASTER)
		return -1;
	if (p->flow.family == LBD_AF_INET6 && reason == LBD_R_PASS_ICMP && lbd_is_nd(data, end, p))
		return -1;
	return LBD_R_DROP_NO_ACCEPT;
}

#endif /* LBD_LIB_FENCE_H */
