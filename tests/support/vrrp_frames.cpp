#include "vrrp_frames.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <span>

namespace lbd::vrrp {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr size_t kEtherHeaderLen = 14;
constexpr size_t kIpv4HeaderLen = 20;  // no options: keepalived sends none (no router alert)
constexpr size_t kIpv6HeaderLen = 40;
constexpr uint8_t kIpv4Tos = 0xc0;     // keepalived: IPTOS_PREC_INTERNETCONTROL
constexpr uint8_t kIpv6TClass = 0xc0;  // keepalived: IPV6_TCLASS on its socket
constexpr uint8_t kIpProtoIcmpv6 = 58;

// ARP (RFC 826): Ethernet hardware, IPv4 protocol, request.
constexpr uint16_t kArpHrdEther = 1;
constexpr uint16_t kArpOpRequest = 1;

// Neighbour discovery (RFC 4861).
constexpr uint8_t kNdNeighbourAdvert = 136;  // 4.4
constexpr uint8_t kNdHopLimit = 255;         // 7.1.2: receivers drop anything else
constexpr uint8_t kNaFlagRouter = 0x80;      // 4.4
constexpr uint8_t kNaFlagOverride = 0x20;    // 4.4; set in unsolicited NAs, 7.2.6
constexpr uint8_t kNdOptTargetLinkAddr = 2;  // 4.6.1
constexpr size_t kNaLen = 24 + 8;            // header + target, then one 8-byte option

size_t addr_len(int family) { return family == AF_INET6 ? 16 : 4; }

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

void put_bytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) { out.insert(out.end(), bytes.begin(), bytes.end()); }

void put_addr(std::vector<uint8_t>& out, const IpAddr& a) { put_bytes(out, std::span(a.bytes).first(addr_len(a.family))); }

void put_mac(std::vector<uint8_t>& out, const Mac& mac) { put_bytes(out, mac); }

void store16(std::span<uint8_t> at, uint16_t v) {
    at[0] = static_cast<uint8_t>(v >> 8);
    at[1] = static_cast<uint8_t>(v);
}

// The Internet checksum (RFC 1071) of `bytes` after `sum` (a pseudo-header's).
uint16_t checksum(std::span<const uint8_t> bytes, uint64_t sum = 0) {
    for (size_t i = 0; i < bytes.size(); i += 2)
        sum += static_cast<uint32_t>(bytes[i] << 8 | (i + 1 < bytes.size() ? bytes[i + 1] : 0));
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

void put_ether_header(std::vector<uint8_t>& out, const Mac& dst, const Mac& src, uint16_t type) {
    put_mac(out, dst);
    put_mac(out, src);
    put16(out, type);
}

}  // namespace

Mac multicast_mac(const IpAddr& group) {
    const auto& b = group.bytes;
    if (group.family == AF_INET && (b[0] & 0xf0) == 0xe0)
        return {0x01, 0x00, 0x5e, static_cast<uint8_t>(b[1] & 0x7f), b[2], b[3]};
    if (group.family == AF_INET6 && b[0] == 0xff) return {0x33, 0x33, b[12], b[13], b[14], b[15]};
    return {};
}

std::vector<uint8_t> encode(const Advert& a, const IpAddr& src, const IpAddr& dst) {
    if (!invalid_reason(a).empty()) return {};
    if (a.version == kVersion3 && (src.family != a.family || dst.family != a.family)) return {};

    std::vector<uint8_t> m;
    m.reserve(kHeaderLen + a.addresses.size() * addr_len(a.family) + kAuthDataLen);
    m.push_back(static_cast<uint8_t>(a.version << 4 | kTypeAdvertisement));
    m.push_back(a.vrid);
    m.push_back(a.priority);
    m.push_back(static_cast<uint8_t>(a.addresses.size()));
    if (a.version == kVersion3) {
        put16(m, a.max_advert_int_cs & kMaxAdvertIntMask);  // reserved bits zero
    } else {
        m.push_back(a.auth_type);
        m.push_back(static_cast<uint8_t>(a.max_advert_int_cs / 100));
    }
    put16(m, 0);  // checksum, below
    for (const auto& addr : a.addresses) put_addr(m, addr);
    if (a.version == kVersion2) {
        std::array<uint8_t, kAuthDataLen> auth{};
        std::memcpy(auth.data(), a.auth_pass.data(), std::min(a.auth_pass.size(), kAuthDataLen));
        put_bytes(m, auth);
    }
    store16(std::span(m).subspan(6, 2), compute_checksum(m, a.version, src, dst));
    return m;
}

std::vector<uint8_t> build_packet(const Advert& a, const IpAddr& src, const IpAddr& dst,
                                  const HeaderFields& fields) {
    if (src.family != a.family || dst.family != a.family) return {};
    const auto msg = encode(a, src, dst);
    if (msg.empty()) return {};
    std::vector<uint8_t> p;
    if (a.family == AF_INET) {
        p.reserve(kIpv4HeaderLen + msg.size());
        p.push_back(0x45);  // version 4, IHL 5
        p.push_back(kIpv4Tos);
        put16(p, static_cast<uint16_t>(kIpv4HeaderLen + msg.size()));
        put16(p, fields.ipv4_id);
        put16(p, 0);  // keepalived: frag_off 0, so no DF
        p.push_back(kTtl);
        p.push_back(kIpProtoVrrp);
        put16(p, 0);  // header checksum, below
        put_addr(p, src);
        put_addr(p, dst);
        store16(std::span(p).subspan(10, 2), checksum(p));
    } else {
        p.reserve(kIpv6HeaderLen + msg.size());
        const uint32_t word0 = 6u << 28 | uint32_t{kIpv6TClass} << 20 | (fields.ipv6_flow_label & 0xfffff);
        put16(p, static_cast<uint16_t>(word0 >> 16));
        put16(p, static_cast<uint16_t>(word0));
        put16(p, static_cast<uint16_t>(msg.size()));
        p.push_back(kIpProtoVrrp);
        p.push_back(kTtl);
        put_addr(p, src);
        put_addr(p, dst);
    }
    put_bytes(p, msg);
    return p;
}

std::vector<uint8_t> build_frame(const Advert& a, const IpAddr& src, const IpAddr& dst, const Mac& src_mac,
                                 const Mac& dst_mac, const HeaderFields& fields) {
    const auto packet = build_packet(a, src, dst, fields);
    if (packet.empty()) return {};
    std::vector<uint8_t> f;
    f.reserve(kEtherHeaderLen + packet.size());
    put_ether_header(f, dst_mac, src_mac, a.family == AF_INET ? kEtherTypeIpv4 : kEtherTypeIpv6);
    put_bytes(f, packet);
    return f;
}

std::vector<uint8_t> build_gratuitous_arp(const IpAddr& vip, const Mac& src_mac) {
    if (vip.family != AF_INET) return {};
    constexpr Mac kBroadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    std::vector<uint8_t> f;
    f.reserve(kEtherHeaderLen + 28);
    put_ether_header(f, kBroadcast, src_mac, kEtherTypeArp);
    put16(f, kArpHrdEther);
    put16(f, kEtherTypeIpv4);
    f.push_back(6);  // hardware address length
    f.push_back(4);  // protocol address length
    put16(f, kArpOpRequest);  // RFC 5227 2.4: announcements are requests
    put_mac(f, src_mac);      // sender hardware address
    put_addr(f, vip);         // sender IP = the VIP
    put_mac(f, kBroadcast);   // target hardware address: keepalived's all-ones
    put_addr(f, vip);         // target IP = the VIP
    return f;
}

std::vector<uint8_t> build_unsolicited_na(const IpAddr& vip, const Mac& src_mac, bool router) {
    if (vip.family != AF_INET6) return {};
    IpAddr all_nodes;  // ff02::1, RFC 4861 7.2.6
    all_nodes.family = AF_INET6;
    all_nodes.bytes[0] = 0xff;
    all_nodes.bytes[1] = 0x02;
    all_nodes.bytes[15] = 0x01;

    std::vector<uint8_t> f;
    f.reserve(kEtherHeaderLen + kIpv6HeaderLen + kNaLen);
    put_ether_header(f, multicast_mac(all_nodes), src_mac, kEtherTypeIpv6);
    put16(f, 0x6000);  // version 6; traffic class and flow label 0 (keepalived writes this header itself)
    put16(f, 0x0000);
    put16(f, static_cast<uint16_t>(kNaLen));
    f.push_back(kIpProtoIcmpv6);
    f.push_back(kNdHopLimit);
    put_addr(f, vip);  // keepalived sends from the VIP itself
    put_addr(f, all_nodes);

    const size_t icmp = f.size();
    f.push_back(kNdNeighbourAdvert);
    f.push_back(0);  // code
    put16(f, 0);     // checksum, below
    f.push_back(static_cast<uint8_t>(kNaFlagOverride | (router ? kNaFlagRouter : 0)));  // Solicited clear
    f.insert(f.end(), 3, 0);  // reserved
    put_addr(f, vip);         // target
    f.push_back(kNdOptTargetLinkAddr);
    f.push_back(1);  // option length in units of 8 bytes
    put_mac(f, src_mac);

    // The ICMPv6 pseudo-header (RFC 8200 8.1): addresses, length, next header.
    std::vector<uint8_t> pseudo;
    put_addr(pseudo, vip);
    put_addr(pseudo, all_nodes);
    put16(pseudo, 0);
    put16(pseudo, static_cast<uint16_t>(kNaLen));
    put16(pseudo, 0);
    put16(pseudo, kIpProtoIcmpv6);
    uint64_t sum = 0;
    for (size_t i = 0; i < pseudo.size(); i += 2) sum += static_cast<uint32_t>(pseudo[i] << 8 | pseudo[i + 1]);
    store16(std::span(f).subspan(icmp + 2, 2), checksum(std::span(f).subspan(icmp), sum));
    return f;
}

}  // namespace lbd::vrrp
