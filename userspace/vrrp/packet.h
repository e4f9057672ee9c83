// VRRP on the wire: the advertisement (VRRPv3, RFC 5798; VRRPv2, RFC 3768),
// the IPv4/IPv6 packet and Ethernet frame that carry it, and the gratuitous
// ARP (RFC 5227) / unsolicited neighbour advertisement (RFC 4861) a new master
// sends. Pure functions, no I/O.
//
// Every builder reproduces what keepalived 2.2.7 puts on the wire, byte for
// byte: tests/vectors/ holds frames captured from it (scripts/
// capture_vectors.sh) and tests/unit/vrrp_packet_test.cpp compares. Where the
// RFCs leave a choice (IPv4 TOS and ID, DF, the ARP target hardware address,
// NA flags and source address) we make keepalived's, and say so below.
#pragma once

#include "config/model_base.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lbd::vrrp {

using Mac = std::array<uint8_t, 6>;

// ---- protocol constants ----------------------------------------------------

inline constexpr uint8_t kIpProtoVrrp = 112;    // RFC 5798 5.1.1.4 / 5.1.2.4; RFC 3768 5.2.4
inline constexpr uint8_t kTtl = 255;            // TTL / hop limit: RFC 5798 5.1.1.3 / 5.1.2.3; RFC 3768 5.2.3
inline constexpr int kVersion2 = 2;             // RFC 3768 5.3.1
inline constexpr int kVersion3 = 3;             // RFC 5798 5.2.1
inline constexpr uint8_t kTypeAdvertisement = 1;  // the only type: RFC 5798 5.2.2; RFC 3768 5.3.2
inline constexpr uint8_t kPriorityStop = 0;     // master leaving: RFC 5798 5.2.4; RFC 3768 5.3.4
inline constexpr uint8_t kPriorityOwner = 255;  // address owner: RFC 5798 5.2.4; RFC 3768 5.3.4
inline constexpr size_t kHeaderLen = 8;         // fixed fields before the addresses: RFC 5798 5.1; RFC 3768 5.1
inline constexpr uint16_t kMaxAdvertIntMask = 0x0fff;  // 12 bits of centiseconds, 4 reserved above: RFC 5798 5.2.6-5.2.7
inline constexpr uint8_t kAuthNone = 0;         // RFC 3768 5.3.6
// Simple text password: RFC 2338 5.3.6.2; "reserved" in RFC 3768 5.3.6, kept
// for compatibility and used by keepalived's `auth_type PASS`.
inline constexpr uint8_t kAuthPass = 1;
inline constexpr uint8_t kAuthAh = 2;           // IP AH: RFC 2338 5.3.6.3; reserved in RFC 3768; refused here
inline constexpr size_t kAuthDataLen = 8;       // v2 only, after the addresses: RFC 3768 5.3.10
inline constexpr size_t kMaxAddresses = 255;    // Count IPvX Addr is 8 bits: RFC 5798 5.2.5; RFC 3768 5.3.5

// IPv4 224.0.0.18 (RFC 5798 5.1.1.2; RFC 3768 5.2.2) or IPv6 ff02::12 (RFC 5798 5.1.2.2).
config::IpAddr vrrp_group(int family);

// 00-00-5e-00-01-VRID (IPv4) / 00-00-5e-00-02-VRID (IPv6): RFC 5798 7.3.
// keepalived only sends from it with use_vmac; otherwise the interface's MAC.
Mac virtual_mac(uint8_t vrid, int family);

// The Ethernet group address of an IP multicast group: 01-00-5e + low 23 bits
// (RFC 1112 6.4), 33-33 + low 32 bits (RFC 2464 7). Zeros for a unicast address.
Mac multicast_mac(const config::IpAddr& group);

// ---- the advertisement -----------------------------------------------------

struct Advert {
    int version = kVersion3;  // 2 or 3
    uint8_t vrid = 0;
    uint8_t priority = 100;
    // v3: Max Adver Int, 12-bit centiseconds (1..4095). v2: Adver Int in
    // seconds (1..255) stored as seconds * 100 so both versions read alike.
    uint16_t max_advert_int_cs = 100;
    int family = 0;  // AF_INET or AF_INET6 (v2: AF_INET only)
    std::vector<config::IpAddr> addresses;  // each of `family`
    std::string auth_pass;  // v2 PASS: 1..8 characters; empty = none
    uint8_t auth_type = kAuthNone;  // v2: kAuthNone or kAuthPass; v3: kAuthNone
    bool operator==(const Advert&) const = default;
};

// Why `advert` cannot be encoded ("v2 advert interval 150 cs is not whole
// seconds", ...); empty when it can. The config layer rejects all of these
// first; this is the codec's own guard.
std::string invalid_reason(const Advert& advert);

// The VRRP message (what follows the IP header), checksum included: v3 over
// the IPv4/IPv6 pseudo-header built from src and dst (RFC 5798 5.2.8), v2 over
// the message alone (RFC 3768 5.3.8; src/dst unused). v2 always carries the
// 8 bytes of authentication data, zero without PASS (RFC 3768 5.3.10), as
// keepalived does. Empty when invalid_reason(advert) is not, or src/dst are
// not of the advert's family (v3).
std::vector<uint8_t> encode(const Advert& advert, const config::IpAddr& src,
                            const config::IpAddr& dst);

// The checksum field the message should carry: computed as encode() does,
// with the message's own checksum bytes (6-7) taken as zero. For tests and
// for rebuilding a message after a change.
uint16_t compute_checksum(std::span<const uint8_t> vrrp, int version,
                          const config::IpAddr& src, const config::IpAddr& dst);

// ---- receiving ---------------------------------------------------------------

// Why a received VRRP packet is not an advert we accept. Only wire-level
// checks (RFC 5798 7.1, RFC 3768 7.1); whether the VRID, interval or address
// list match the local instance is the state machine's business.
enum class Reject : uint8_t {
    Truncated,        // shorter than the 8 fixed bytes; IP packet shorter than its header says
    BadVersion,       // version not 2 or 3, or 2 over IPv6
    BadType,          // type not ADVERTISEMENT (1)
    BadChecksum,
    BadLength,        // bytes after the addresses (v2: after the authentication data)
    BadAddressCount,  // the count needs more bytes than the message has
    BadAuth,          // v2: auth type or password not the configured one; AH
    BadInterval,      // advertisement interval 0
    BadFamily,        // family not IPv4/IPv6, or src/dst of another family
    BadIpHeader,      // decode_packet: IP version, header length, checksum, fragment
    BadTtl,           // decode_packet: TTL / hop limit not 255
    NotVrrp,          // decode_packet: protocol / next header not 112
};
inline constexpr size_t kRejectCount = 12;

// "truncated", "bad_version", ...: for logs and `lbctl stats`.
std::string_view to_string(Reject reason);

using Decoded = std::variant<Advert, Reject>;

// Decodes a VRRP message (the IP payload) received from src to dst, of the
// given family. expected_auth_pass is the instance's v2 PASS password, empty
// when it has no authentication: a v2 advert must then carry auth type 0, and
// otherwise auth type 1 and the same password (compared over its first 8
// bytes, zero-padded, as keepalived does). v3 carries no authentication and
// ignores it. A v3 address count of 0 is accepted (keepalived sends it for an
// instance without virtual addresses), though RFC 5798 5.2.5 says 1 minimum.
Decoded decode(std::span<const uint8_t> vrrp, int family, const config::IpAddr& src,
               const config::IpAddr& dst, std::string_view expected_auth_pass = {});

struct Received {
    Advert advert;
    config::IpAddr src;
    config::IpAddr dst;
};

// Decodes a whole IPv4 or IPv6 packet (bytes past the IP length, e.g.
// Ethernet padding, are ignored): IP header sane, protocol 112 (IPv6: no
// extension headers), TTL / hop limit 255, then decode().
std::variant<Received, Reject> decode_packet(std::span<const uint8_t> packet,
                                             std::string_view expected_auth_pass = {});

// ---- sending -----------------------------------------------------------------

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
std::vector<uint8_t> build_packet(const Advert& advert, const config::IpAddr& src,
                                  const config::IpAddr& dst, const HeaderFields& fields = {});

// The Ethernet frame: build_packet() behind dst_mac, src_mac and the
// ethertype. keepalived sends from the interface's MAC (virtual_mac() only
// with use_vmac), to multicast_mac(vrrp_group(family)) or, unicast, to the
// peer's MAC. Not padded to 60 bytes (the kernel sends it as is; a NIC pads).
std::vector<uint8_t> build_frame(const Advert& advert, const config::IpAddr& src,
                                 const config::IpAddr& dst, const Mac& src_mac, const Mac& dst_mac,
                                 const HeaderFields& fields = {});

// Gratuitous ARP for an IPv4 VIP, as keepalived sends it on becoming master:
// an ARP request (RFC 5227 2.4 announcement: sender IP = target IP = the VIP)
// broadcast from src_mac, sender hardware address src_mac. The target
// hardware address is ff:ff:ff:ff:ff:ff — keepalived's choice; RFC 5227
// leaves it unused (zeros in a probe, 2.1.1). 42 bytes, unpadded. Empty if
// vip is not IPv4.
std::vector<uint8_t> build_gratuitous_arp(const config::IpAddr& vip, const Mac& src_mac);

// Unsolicited neighbour advertisement for an IPv6 VIP (RFC 4861 7.2.6), as
// keepalived sends it: from the VIP itself to ff02::1 (33:33:00:00:00:01),
// hop limit 255, traffic class and flow label 0, Override set, Solicited
// clear, Router set only when `router` (keepalived: when IPv6 forwarding is
// on for the interface), a target link-layer address option with src_mac.
// RFC 5798 6.4.1/6.4.2 want R always and the virtual router MAC as target
// link-layer address; keepalived, without use_vmac, gives the interface's MAC
// and R from the forwarding setting, and so do we. 86 bytes. Empty if vip is
// not IPv6.
std::vector<uint8_t> build_unsolicited_na(const config::IpAddr& vip, const Mac& src_mac,
                                          bool router = false);

}  // namespace lbd::vrrp
