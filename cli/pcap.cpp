#include "pcap.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace lbctl {
namespace {

void put32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
void put16(std::string& out, uint16_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); }

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthArp = 0x0806, kEthVlan = 0x8100, kEthQinQ = 0x88a8;
constexpr uint8_t kProtoTcp = 6, kProtoUdp = 17, kProtoIcmp = 1, kProtoIcmp6 = 58, kProtoVrrp = 112;

// Bounds-checked reads of the frame's head.
struct Reader {
    std::string_view b;
    bool has(size_t off, size_t n) const { return off + n <= b.size(); }
    uint8_t u8(size_t off) const { return static_cast<uint8_t>(b[off]); }
    uint16_t u16(size_t off) const { return static_cast<uint16_t>(u8(off) << 8 | u8(off + 1)); }
};

std::string addr(int family, const Reader& r, size_t off) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(family, r.b.data() + off, text, sizeof(text));
    return text;
}

std::string l4(const Reader& r, uint8_t proto, size_t off) {
    if ((proto == kProtoTcp || proto == kProtoUdp) && r.has(off, 4))
        return fmt::format("{} {} > {}", proto == kProtoTcp ? "tcp" : "udp", r.u16(off), r.u16(off + 2));
    if (proto == kProtoVrrp && r.has(off, 4))
        return fmt::format("VRRPv{} vrid {} prio {}", r.u8(off) >> 4, r.u8(off + 1), r.u8(off + 2));
    if (proto == kProtoIcmp || proto == kProtoIcmp6)
        return r.has(off, 2) ? fmt::format("icmp type {} code {}", r.u8(off), r.u8(off + 1)) : "icmp";
    return fmt::format("proto {}", proto);
}

}  // namespace

std::string pcap_header(uint32_t snaplen) {
    std::string h;
    put32(h, kPcapMagicNs);
    put16(h, 2);  // version 2.4
    put16(h, 4);
    put32(h, 0);  // thiszone
    put32(h, 0);  // sigfigs
    put32(h, snaplen);
    put32(h, kLinktypeEthernet);
    return h;
}

std::string pcap_record(int64_t unix_ns, uint32_t orig_len, std::string_view data) {
    std::string rec;
    put32(rec, static_cast<uint32_t>(unix_ns / 1'000'000'000));
    put32(rec, static_cast<uint32_t>(unix_ns % 1'000'000'000));
    put32(rec, static_cast<uint32_t>(data.size()));
    put32(rec, orig_len);
    rec.append(data);
    return rec;
}

std::string from_hex(std::string_view hex) {
    if (hex.size() % 2) throw std::invalid_argument("odd number of hex digits");
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw std::invalid_argument(fmt::format("'{}' is no hex digit", c));
    };
    std::string out(hex.size() / 2, '\0');
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>(digit(hex[2 * i]) << 4 | digit(hex[2 * i + 1]));
    return out;
}

std::string frame_summary(std::string_view frame) {
    const Reader r{frame};
    if (!r.has(0, 14)) return "truncated ethernet";
    size_t off = 12;
    uint16_t type = r.u16(off);
    std::string vlan;
    while ((type == kEthVlan || type == kEthQinQ) && r.has(off, 6)) {
        vlan += fmt::format("vlan {} ", r.u16(off + 2) & 0x0fff);
        off += 4;
        type = r.u16(off);
    }
    off += 2;
    if (type == kEthIpv4 && r.has(off, 20)) {
        const size_t l4_off = off + (r.u8(off) & 0x0f) * 4u;
        const bool later_fragment = (r.u16(off + 6) & 0x1fff) != 0;
        return fmt::format("{}{} > {}: {}", vlan, addr(AF_INET, r, off + 12), addr(AF_INET, r, off + 16),
                           later_fragment ? "fragment" : l4(r, r.u8(off + 9), l4_off));
    }
    if (type == kEthIpv6 && r.has(off, 40))
        return fmt::format("{}{} > {}: {}", vlan, addr(AF_INET6, r, off + 8), addr(AF_INET6, r, off + 24),
                           l4(r, r.u8(off + 6), off + 40));
    if (type == kEthArp && r.has(off, 28))
        return fmt::format("{}ARP {} who-has {} tell {}", vlan, r.u16(off + 6) == 1 ? "request" : "reply",
                           addr(AF_INET, r, off + 24), addr(AF_INET, r, off + 14));
    return fmt::format("{}ethertype {:#06x}", vlan, type);
}

}  // namespace lbctl
