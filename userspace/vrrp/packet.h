// VRRP on the wire as the daemon reads it: the advertisement (VRRPv3,
// RFC 5798; VRRPv2, RFC 3768) and the IPv4/IPv6 packet that carries it,
// decoded and checked. Pure functions, no I/O. The frames lbd sends are
// built by the XDP program (bpf/lib/vrrp_tx.h); tests build theirs with
// tests/support/vrrp_frames.h, checked against keepalived's captures.
#pragma once

#include "util/ip_addr.h"

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
IpAddr vrrp_group(int family);

// 00-00-5e-00-01-VRID (IPv4) / 00-00-5e-00-02-VRID (IPv6): RFC 5798 7.3.
// keepalived only sends from it with use_vmac; otherwise the interface's MAC.
Mac virtual_mac(uint8_t vrid, int family);

// ---- the advertisement -----------------------------------------------------

struct Advert {
    int version = kVersion3;  // 2 or 3
    uint8_t vrid = 0;
    uint8_t priority = 100;
    // v3: Max Adver Int, 12-bit centiseconds (1..4095). v2: Adver Int in
    // seconds (1..255) stored as seconds * 100 so both versions read alike.
    uint16_t max_advert_int_cs = 100;
    int family = 0;  // AF_INET or AF_INET6 (v2: AF_INET only)
    std::vector<IpAddr> addresses;  // each of `family`
    std::string auth_pass;  // v2 PASS: 1..8 characters; empty = none
    uint8_t auth_type = kAuthNone;  // v2: kAuthNone or kAuthPass; v3: kAuthNone
    bool operator==(const Advert&) const = default;
};

// Why `advert` cannot be sent ("v2 advert interval 150 cs is not whole
// seconds", ...); empty when it can. The config layer rejects all of these
// first; this is the wire's own guard.
std::string invalid_reason(const Advert& advert);

// The checksum field the message should carry: v3 over the IPv4/IPv6
// pseudo-header built from src and dst (RFC 5798 5.2.8), v2 over the message
// alone (RFC 3768 5.3.8), with the message's own checksum bytes (6-7) taken
// as zero.
uint16_t compute_checksum(std::span<const uint8_t> vrrp, int version,
                          const IpAddr& src, const IpAddr& dst);

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
Decoded decode(std::span<const uint8_t> vrrp, int family, const IpAddr& src,
               const IpAddr& dst, std::string_view expected_auth_pass = {});

struct Received {
    Advert advert;
    IpAddr src;
    IpAddr dst;
};

// Decodes a whole IPv4 or IPv6 packet (bytes past the IP length, e.g.
// Ethernet padding, are ignored): IP header sane, protocol 112 (IPv6: no
// extension headers), TTL / hop limit 255, then decode().
std::variant<Received, Reject> decode_packet(std::span<const uint8_t> packet,
                                             std::string_view expected_auth_pass = {});

}  // namespace lbd::vrrp
