#include "vrrp/packet.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace lbd::vrrp {

namespace {

constexpr size_t kIpv4HeaderLen = 20;  // no options: keepalived sends none (no router alert)
constexpr size_t kIpv6HeaderLen = 40;

size_t addr_len(int family) {
    return family == AF_INET6 ? 16 : 4;
}

bool known_family(int family) {
    return family == AF_INET || family == AF_INET6;
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

std::string invalid_reason(const Advert& a) {
    if (a.version != kVersion2 && a.version != kVersion3)
        return "version " + std::to_string(a.version) + " is not 2 or 3";
    if (!known_family(a.family)) return "address family " + std::to_string(a.family) + " is not IPv4 or IPv6";
    if (a.version == kVersion2 && a.family != AF_INET) return "VRRPv2 carries IPv4 only";
    if (a.addresses.size() > kMaxAddresses)
        return std::to_string(a.addresses.size()) + " addresses, at most 255 fit";
    for (const auto& addr : a.addresses)
        if (addr.family != a.family)
            return "address " + addr.str() + " is not " + std::string(family_name(a.family));
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

}  // namespace lbd::vrrp
