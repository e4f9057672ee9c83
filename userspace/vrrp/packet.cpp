#include "vrrp/packet.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace lbd::vrrp {

namespace {

using config::IpAddr;

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeArp = 0x0806;
constexpr uint16_t kEtherTypeIpv6 = 0x86dd;
constexpr size_t kEtherHeaderLen = 14;
constexpr size_t kIpv4HeaderLen = 20;  // no options: keepalived sends none (no router alert)
constexpr size_t kIpv6HeaderLen = 40;
constexpr uint8_t kIpv4Tos = 0xc0;    // keepalived: IPTOS_PREC_INTERNETCONTROL
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

size_t addr_len(int family) {
    return family == AF_INET6 ? 16 : 4;
}

bool known_family(int family) {
    return family == AF_INET || family == AF_INET6;
}

void put16(std::vector<uint8_t>& out, uint16_t v) {
    out.push_back(static_cast<uint8_t>(v >> 8));
    out.push_back(static_cast<uint8_t>(v));
}

void put_bytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void put_addr(std::vector<uint8_t>& out, const IpAddr& a) {
    put_bytes(out, std::span(a.bytes).first(addr_len(a.family)));
}

void put_mac(std::vector<uint8_t>& out, const Mac& mac) {
    put_bytes(out, mac);
}

void store16(std::span<uint8_t> at, uint16_t v) {
    at[0] = static_cast<uint8_t>(v >> 8);
    at[1] = static_cast<uint8_t>(v);
}

uint16_t load16(std::span<const uint8_t> at) {
    return static_cast<uint16_t>(at[0] << 8 | at[1]);
}

IpAddr load_addr(std::span<const uint8_t> at, int family) {
    IpAddr a;
    a.family = family;
    std::copy_n(at.begin(), addr_len(family), a.bytes.begin());
    return a;
}

// The Internet checksum (RFC 1071): one's-complement sum of 16-bit words.
// Spans added one after another must each be of even length except the last.
class Checksum {
public:
    void add(std::span<const uint8_t> bytes) {
        size_t i = 0;
        for (; i + 1 < bytes.size(); i += 2) sum_ += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
        if (i < bytes.size()) sum_ += static_cast<uint32_t>(bytes[i] << 8);
    }
    void add16(uint16_t v) { sum_ += v; }
    void add32(uint32_t v) { sum_ += (v >> 16) + (v & 0xffff); }

    // The pseudo-header of RFC 768 (IPv4) / RFC 8200 8.1 (IPv6).
    void add_pseudo_header(const IpAddr& src, const IpAddr& dst, uint32_t length, uint8_t proto) {
        add(std::span(src.bytes).first(addr_len(src.family)));
        add(std::span(dst.bytes).first(addr_len(dst.family)));
        if (src.family == AF_INET6) {
            add32(length);
        } else {
            add16(static_cast<uint16_t>(length));
        }
        add16(proto);
    }

    uint16_t result() const {
        uint64_t s = sum_;
        while (s >> 16) s = (s & 0xffff) + (s >> 16);
        return static_cast<uint16_t>(~s & 0xffff);
    }

private:
    uint64_t sum_ = 0;
};

uint16_t ipv4_header_checksum(std::span<const uint8_t> header) {
    Checksum c;
    c.add(header.first(10));
    c.add(header.subspan(12));  // the checksum field itself counts as zero
    return c.result();
}

void put_ether_header(std::vector<uint8_t>& out, const Mac& dst, const Mac& src, uint16_t type) {
    put_mac(out, dst);
    put_mac(out, src);
    put16(out, type);
}

}  // namespace

IpAddr vrrp_group(int family) {
    IpAddr a;
    a.family = family;
    if (family == AF_INET6) {
        a.bytes[0] = 0xff;  // ff02::12
        a.bytes[1] = 0x02;
        a.bytes[15] = 0x12;
    } else {
        a.bytes[0] = 224;  // 224.0.0.18
        a.bytes[3] = 18;
    }
    return a;
}

Mac virtual_mac(uint8_t vrid, int family) {
    return {0x00, 0x00, 0x5e, 0x00, static_cast<uint8_t>(family == AF_INET6 ? 0x02 : 0x01), vrid};
}

Mac multicast_mac(const IpAddr& group) {
    const auto& b = group.bytes;
    if (group.family == AF_INET && (b[0] & 0xf0) == 0xe0)
        return {0x01, 0x00, 0x5e, static_cast<uint8_t>(b[1] & 0x7f), b[2], b[3]};
    if (group.family == AF_INET6 && b[0] == 0xff) return {0x33, 0x33, b[12], b[13], b[14], b[15]};
    return {};
}

std::string invalid_reason(const Advert& a) {
    if (a.version != kVersion2 && a.version != kVersion3)
        return "version " + std::to_string(a.version) + " is not 2 or 3";
    if (!known_family(a.family)) return "address family " + std::to_string(a.family) + " is not IPv4 or IPv6";
    if (a.version == kVersion2 && a.family != AF_INET) return "VRRPv2 carries IPv4 only";
    if (a.addresses.size() > kMaxAddresses)
        return std::to_string(a.addresses.size()) + " addresses, at most 255 fit";
    for (const auto& addr : a.addresses)
        if (addr.family != a.family)
            return "address " + addr.str() + " is not " + std::string(config::family_name(a.family));
    if (a.version == kVersion3) {
        if (a.max_advert_int_cs < 1 || a.max_advert_int_cs > kMaxAdvertIntMask)
            return "v3 advert interval " + std::to_string(a.max_advert_int_cs) + " cs is not 1..4095";
        if (a.auth_type != kAuthNone || !a.auth_pass.empty()) return "VRRPv3 has no authentication";
        return {};
    }
    if (a.max_advert_int_cs % 100 != 0 || a.max_advert_int_cs < 100 || a.max_advert_int_cs > 25500)
        return "v2 advert interval " + std::to_string(a.max_advert_int_cs) + " cs is not 1..255 whole seconds";
    if (a.auth_type == kAuthNone) {
        if (!a.auth_pass.empty()) return "a password without auth type PASS";
    } else if (a.auth_type == kAuthPass) {
        if (a.auth_pass.empty() || a.auth_pass.size() > kAuthDataLen) return "PASS password is not 1..8 characters";
    } else {
        return "auth type " + std::to_string(a.auth_type) + " is not supported (none or PASS)";
    }
    return {};
}

uint16_t compute_checksum(std::span<const uint8_t> vrrp, int version, const IpAddr& src, const IpAddr& dst) {
    Checksum c;
    // v3: the pseudo-header first (RFC 5798 5.2.8); v2: the message only (RFC 3768 5.3.8).
    if (version == kVersion3) c.add_pseudo_header(src, dst, static_cast<uint32_t>(vrrp.size()), kIpProtoVrrp);
    if (vrrp.size() < kHeaderLen) {
        c.add(vrrp);
        return c.result();
    }
    c.add(vrrp.first(6));
    c.add(vrrp.subspan(8));
    return c.result();
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

std::string_view to_string(Reject reason) {
    switch (reason) {
    case Reject::Truncated: return "truncated";
    case Reject::BadVersion: return "bad_version";
    case Reject::BadType: return "bad_type";
    case Reject::BadChecksum: return "bad_checksum";
    case Reject::BadLength: return "bad_length";
    case Reject::BadAddressCount: return "bad_address_count";
    case Reject::BadAuth: return "bad_auth";
    case Reject::BadInterval: return "bad_interval";
    case Reject::BadFamily: return "bad_family";
    case Reject::BadIpHeader: return "bad_ip_header";
    case Reject::BadTtl: return "bad_ttl";
    case Reject::NotVrrp: return "not_vrrp";
    }
    return "unknown";
}

Decoded decode(std::span<const uint8_t> vrrp, int family, const IpAddr& src, const IpAddr& dst,
               std::string_view expected_auth_pass) {
    if (!known_family(family) || src.family != family || dst.family != family) return Reject::BadFamily;
    if (vrrp.size() < kHeaderLen) return Reject::Truncated;

    const int version = vrrp[0] >> 4;
    if (version != kVersion2 && version != kVersion3) return Reject::BadVersion;
    if (version == kVersion2 && family != AF_INET) return Reject::BadVersion;  // RFC 3768 is IPv4 only
    if ((vrrp[0] & 0x0f) != kTypeAdvertisement) return Reject::BadType;

    // RFC 5798 7.1 / RFC 3768 7.1: the whole message must be there. A message
    // cut inside its address list reads as a count larger than the payload.
    const size_t count = vrrp[3];
    const size_t alen = addr_len(family);
    const size_t auth_len = version == kVersion2 ? kAuthDataLen : 0;
    const size_t expected_len = kHeaderLen + count * alen + auth_len;
    if (vrrp.size() < expected_len) return Reject::BadAddressCount;
    if (vrrp.size() > expected_len) return Reject::BadLength;

    if (compute_checksum(vrrp, version, src, dst) != load16(vrrp.subspan(6, 2))) return Reject::BadChecksum;

    Advert a;
    a.version = version;
    a.vrid = vrrp[1];
    a.priority = vrrp[2];
    a.family = family;
    if (version == kVersion3) {
        a.max_advert_int_cs = load16(vrrp.subspan(4, 2)) & kMaxAdvertIntMask;  // reserved bits ignored
    } else {
        a.max_advert_int_cs = static_cast<uint16_t>(vrrp[5] * 100);
    }
    if (a.max_advert_int_cs == 0) return Reject::BadInterval;

    a.addresses.reserve(count);
    for (size_t i = 0; i < count; ++i) a.addresses.push_back(load_addr(vrrp.subspan(kHeaderLen + i * alen), family));

    if (version == kVersion2) {
        // RFC 3768 7.1: the auth type must be the configured one. Auth data
        // is ignored without authentication (RFC 3768 5.3.10).
        const uint8_t auth_type = vrrp[4];
        const auto data = vrrp.subspan(expected_len - kAuthDataLen, kAuthDataLen);
        if (expected_auth_pass.empty()) {
            if (auth_type != kAuthNone) return Reject::BadAuth;
        } else {
            if (auth_type != kAuthPass) return Reject::BadAuth;
            std::array<uint8_t, kAuthDataLen> want{};
            std::memcpy(want.data(), expected_auth_pass.data(), std::min(expected_auth_pass.size(), kAuthDataLen));
            if (!std::equal(want.begin(), want.end(), data.begin())) return Reject::BadAuth;
            a.auth_type = kAuthPass;
            const auto end = std::find(data.begin(), data.end(), uint8_t{0});
            a.auth_pass.assign(data.begin(), end);
        }
    }
    return a;
}

std::variant<Received, Reject> decode_packet(std::span<const uint8_t> p, std::string_view expected_auth_pass) {
    if (p.empty()) return Reject::Truncated;
    int family = 0;
    std::span<const uint8_t> payload;
    IpAddr src, dst;
    switch (p[0] >> 4) {
    case 4: {
        if (p.size() < kIpv4HeaderLen) return Reject::Truncated;
        const size_t ihl = (p[0] & 0x0f) * 4u;
        const size_t total = load16(p.subspan(2, 2));
        if (ihl < kIpv4HeaderLen || total < ihl) return Reject::BadIpHeader;
        if (p.size() < total) return Reject::Truncated;
        if (ipv4_header_checksum(p.first(ihl)) != load16(p.subspan(10, 2))) return Reject::BadIpHeader;
        if ((load16(p.subspan(6, 2)) & 0x3fff) != 0) return Reject::BadIpHeader;  // a fragment (MF or offset)
        if (p[9] != kIpProtoVrrp) return Reject::NotVrrp;
        if (p[8] != kTtl) return Reject::BadTtl;
        family = AF_INET;
        src = load_addr(p.subspan(12), family);
        dst = load_addr(p.subspan(16), family);
        payload = p.subspan(ihl, total - ihl);
        break;
    }
    case 6: {
        if (p.size() < kIpv6HeaderLen) return Reject::Truncated;
        const size_t plen = load16(p.subspan(4, 2));
        if (p.size() < kIpv6HeaderLen + plen) return Reject::Truncated;
        if (p[6] != kIpProtoVrrp) return Reject::NotVrrp;
        if (p[7] != kTtl) return Reject::BadTtl;
        family = AF_INET6;
        src = load_addr(p.subspan(8), family);
        dst = load_addr(p.subspan(24), family);
        payload = p.subspan(kIpv6HeaderLen, plen);
        break;
    }
    default:
        return Reject::BadIpHeader;
    }
    auto decoded = decode(payload, family, src, dst, expected_auth_pass);
    if (auto* r = std::get_if<Reject>(&decoded)) return *r;
    return Received{std::move(std::get<Advert>(decoded)), src, dst};
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
        store16(std::span(p).subspan(10, 2), ipv4_header_checksum(p));
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

    Checksum c;
    c.add_pseudo_header(vip, all_nodes, static_cast<uint32_t>(kNaLen), kIpProtoIcmpv6);
    c.add(std::span(f).subspan(icmp));
    store16(std::span(f).subspan(icmp + 2, 2), c.result());
    return f;
}

}  // namespace lbd::vrrp
