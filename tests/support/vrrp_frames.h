// VRRP frames as keepalived 2.2.7 puts them on the wire, byte for byte, for
// tests: the rx fixtures feed them to the XDP program, the tx fixtures and
// the daemon's tests compare what lbd sends with them. tests/vectors/ holds
// frames captured from keepalived and tests/unit/vrrp_frames_test.cpp checks
// these builders against them. Where the RFCs leave a choice (IPv4 TOS and
// ID, DF, the ARP target hardware address, NA flags and source address)
// keepalived's is made, and said below.
#pragma once

#include "vrrp/packet.h"

#include <cstdint>
#include <vector>

namespace lbd::vrrp {

// The Ethernet group address of an IP multicast group: 01-00-5e + low 23 bits
// (RFC 1112 6.4), 33-33 + low 32 bits (RFC 2464 7). Zeros for a unicast address.
Mac multicast_mac(const IpAddr& group);

// The VRRP message (what follows the IP header), checksum included: v3 over
// the IPv4/IPv6 pseudo-header built from src and dst (RFC 5798 5.2.8), v2 over
// the message alone (RFC 3768 5.3.8; src/dst unused). v2 always carries the
// 8 bytes of authentication data, zero without PASS (RFC 3768 5.3.10), as
// keepalived does. Empty when invalid_reason(advert) is not, or src/dst are
// not of the advert's family (v3).
std::vector<uint8_t> encode(const Advert& advert, const IpAddr& src,
                            const IpAddr& dst);

// Header fields keepalived does not derive from the advert.
struct HeaderFields {
    // IPv4 identification. keepalived counts per instance: 1 for its first
    // advert, +1 per advert, 65535 wraps to 1 (never 0, which the kernel
    // would replace).
    uint16_t ipv4_id = 1;
    // IPv6 flow label (20 bits). keepalived sends IPv6 adverts through a
    // raw socket, so the kernel sets it (net.ipv6.auto_flowlabels: a hash of
    // the flow, seeded at boot) — it differs from host to host.
    uint32_t ipv6_flow_label = 0;
};

// The IP packet keepalived sends. IPv4: TOS 0xc0 (precedence "internetwork
// control"), ID from `fields`, no DF, no fragment, TTL 255, protocol 112, no
// options (no router alert), header checksum. IPv6: traffic class 0xc0, flow
// label from `fields`, next header 112, hop limit 255, no extension headers.
// Empty when the advert cannot be encoded or src/dst are not of its family.
std::vector<uint8_t> build_packet(const Advert& advert, const IpAddr& src,
                                  const IpAddr& dst, const HeaderFields& fields = {});

// The Ethernet frame: build_packet() behind dst_mac, src_mac and the
// ethertype. keepalived sends from the interface's MAC (virtual_mac() only
// with use_vmac), to multicast_mac(vrrp_group(family)) or, unicast, to the
// peer's MAC. Not padded to 60 bytes (the kernel sends it as is; a NIC pads).
std::vector<uint8_t> build_frame(const Advert& advert, const IpAddr& src,
                                 const IpAddr& dst, const Mac& src_mac, const Mac& dst_mac,
                                 const HeaderFields& fields = {});

// Gratuitous ARP for an IPv4 VIP, as keepalived sends it on becoming master:
// an ARP request (RFC 5227 2.4 announcement: sender IP = target IP = the VIP)
// broadcast from src_mac, sender hardware address src_mac. The target
// hardware address is ff:ff:ff:ff:ff:ff — keepalived's choice; RFC 5227
// leaves it unused (zeros in a probe, 2.1.1). 42 bytes, unpadded. Empty if
// vip is not IPv4.
std::vector<uint8_t> build_gratuitous_arp(const IpAddr& vip, const Mac& src_mac);

// Unsolicited neighbour advertisement for an IPv6 VIP (RFC 4861 7.2.6), as
// keepalived sends it: from the VIP itself to ff02::1 (33:33:00:00:00:01),
// hop limit 255, traffic class and flow label 0, Override set, Solicited
// clear, Router set only when `router` (keepalived: when IPv6 forwarding is
// on for the interface), a target link-layer address option with src_mac.
// RFC 5798 6.4.1/6.4.2 want R always and the virtual router MAC as target
// link-layer address; keepalived, without use_vmac, gives the interface's MAC
// and R from the forwarding setting, and so do we. 86 bytes. Empty if vip is
// not IPv6.
std::vector<uint8_t> build_unsolicited_na(const IpAddr& vip, const Mac& src_mac,
                                          bool router = false);

}  // namespace lbd::vrrp
