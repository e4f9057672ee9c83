#include "frame.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace lbd::test {
namespace {

void put8(Bytes& b, uint8_t v) { b.push_back(v); }
void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
// A value already in network order (ip4()) goes out as its bytes.
void put_be32(Bytes& b, uint32_t network_order) {
    const auto* p = reinterpret_cast<const uint8_t*>(&network_order);
    b.insert(b.end(), p, p + 4);
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
void set16(Bytes& b, size_t off, uint16_t v) {
    b.at(off) = static_cast<uint8_t>(v >> 8);
    b.at(off + 1) = static_cast<uint8_t>(v);
}

// Sum of the pseudo-header (RFC 793 section 3.1, RFC 8200 section 8.1).
uint32_t pseudo4(uint32_t src, uint32_t dst, uint8_t proto, size_t len) {
    Bytes p;
    put_be32(p, src);
    put_be32(p, dst);
    put8(p, 0);
    put8(p, proto);
    put16(p, static_cast<uint16_t>(len));
    return csum_add(0, p.data(), p.size());
}

uint32_t pseudo6(const Ip6& src, const Ip6& dst, uint8_t next, size_t len) {
    Bytes p(src.begin(), src.end());
    p.insert(p.end(), dst.begin(), dst.end());
    put32(p, static_cast<uint32_t>(len));
    put8(p, 0);
    put8(p, 0);
    put8(p, 0);
    put8(p, next);
    return csum_add(0, p.data(), p.size());
}

// Builds the transport bytes. `pseudo(proto, length)` is the pseudo-header
// sum, supplied by the IP layer; ICMPv6 includes it (RFC 4443 section 2.3),
// ICMPv4 does not.
template <class PseudoFn>
Bytes build_l4(const L4& l4, bool v6, uint8_t* proto_out, PseudoFn pseudo) {
    Bytes b;
    if (const auto* t = std::get_if<Tcp>(&l4)) {
        *proto_out = kProtoTcp;
        put16(b, t->sport);
        put16(b, t->dport);
        put32(b, t->seq);
        put32(b, t->ack_seq);
        put8(b, static_cast<uint8_t>(t->doff.value_or(5) << 4));
        put8(b, t->flags);
        put16(b, t->window);
        put16(b, 0);  // checksum
        put16(b, 0);  // urgent pointer
        append(b, t->payload);
        set16(b, 16, csum_fold(csum_add(pseudo(kProtoTcp, b.size()), b.data(), b.size())));
    } else if (const auto* u = std::get_if<Udp>(&l4)) {
        *proto_out = kProtoUdp;
        put16(b, u->sport);
        put16(b, u->dport);
        put16(b, static_cast<uint16_t>(8 + u->payload.size()));
        put16(b, 0);
        append(b, u->payload);
        uint16_t c = csum_fold(csum_add(pseudo(kProtoUdp, b.size()), b.data(), b.size()));
        if (!u->no_checksum) set16(b, 6, c == 0 ? 0xffff : c);  // RFC 768: zero means "no checksum"
    } else if (const auto* i = std::get_if<Icmp>(&l4)) {
        *proto_out = v6 ? kProtoIcmpv6 : kProtoIcmp;
        put8(b, i->type);
        put8(b, i->code);
        put16(b, 0);
        put32(b, i->rest);
        append(b, i->payload);
        uint32_t start = v6 ? pseudo(kProtoIcmpv6, b.size()) : 0;
        set16(b, 2, csum_fold(csum_add(start, b.data(), b.size())));
    } else {
        const auto& r = std::get<Raw>(l4);
        *proto_out = r.proto;
        b = r.bytes;
    }
    return b;
}

}  // namespace

Mac mac(const std::string& text) {
    unsigned v[6];
    char tail;
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    &tail) != 6)
        throw std::invalid_argument("bad MAC " + text);
    Mac m;
    for (int i = 0; i < 6; ++i) m[i] = static_cast<uint8_t>(v[i]);
    return m;
}

uint32_t ip4(const std::string& text) {
    in_addr a{};
    if (inet_pton(AF_INET, text.c_str(), &a) != 1) throw std::invalid_argument("bad IPv4 " + text);
    return a.s_addr;
}

Ip6 ip6(const std::string& text) {
    Ip6 a{};
    if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1)
        throw std::invalid_argument("bad IPv6 " + text);
    return a;
}

Raw inner(const Bytes& datagram) {
    if (datagram.empty()) throw std::invalid_argument("empty inner datagram");
    return Raw{static_cast<uint8_t>((datagram[0] >> 4) == 6 ? kProtoIpv6 : kProtoIpip), datagram};
}

Ipv6Ext hop_by_hop() { return {kProtoHopByHop, {0, 1, 4, 0, 0, 0, 0}}; }

Ipv6Ext routing() { return {kProtoRouting, {0, 0, 0, 0, 0, 0, 0}}; }

Ipv6Ext fragment(uint16_t offset, bool more, uint32_t id) {
    Bytes body;
    put8(body, 0);
    put16(body, static_cast<uint16_t>((offset << 3) | (more ? 1 : 0)));
    put32(body, id);
    return {kProtoFragment, body};
}

Bytes ipv4(const Ipv4& h, const L4& l4) {
    Bytes opts = h.options;
    while (opts.size() % 4) opts.push_back(0);
    size_t hlen = 20 + opts.size();
    uint8_t proto = 0;
    Bytes payload = build_l4(l4, false, &proto, [&](uint8_t p, size_t len) {
        return pseudo4(h.src, h.dst, p, len);
    });

    Bytes b;
    put8(b, static_cast<uint8_t>((h.version.value_or(4) << 4) |
                                 (h.ihl.value_or(static_cast<uint8_t>(hlen / 4)) & 0xf)));
    put8(b, h.tos);
    put16(b, h.tot_len.value_or(static_cast<uint16_t>(hlen + payload.size())));
    put16(b, h.id);
    put16(b, static_cast<uint16_t>((h.df ? 0x4000 : 0) | (h.mf ? 0x2000 : 0) |
                                   (h.frag_offset & 0x1fff)));
    put8(b, h.ttl);
    put8(b, h.proto.value_or(proto));
    put16(b, 0);
    put_be32(b, h.src);
    put_be32(b, h.dst);
    append(b, opts);
    set16(b, 10, h.check.value_or(csum_fold(csum_add(0, b.data(), b.size()))));
    append(b, payload);
    return b;
}

Bytes ipv6(const Ipv6& h, const L4& l4) {
    uint8_t proto = 0;
    Bytes payload = build_l4(l4, true, &proto, [&](uint8_t p, size_t len) {
        return pseudo6(h.src, h.dst, p, len);
    });
    // Chain the extension headers: each one's first byte names the next.
    Bytes exts;
    uint8_t first = proto;
    for (size_t i = 0; i < h.ext.size(); ++i) {
        uint8_t next = i + 1 < h.ext.size() ? h.ext[i + 1].type : proto;
        put8(exts, next);
        append(exts, h.ext[i].body);
        if (i == 0) first = h.ext[0].type;
    }

    Bytes b;
    uint32_t word = (static_cast<uint32_t>(h.version.value_or(6)) << 28) |
                    (static_cast<uint32_t>(h.tclass) << 20) | (h.flow_label & 0xfffff);
    put32(b, word);
    put16(b, h.payload_len.value_or(static_cast<uint16_t>(exts.size() + payload.size())));
    put8(b, first);
    put8(b, h.hop_limit);
    b.insert(b.end(), h.src.begin(), h.src.end());
    b.insert(b.end(), h.dst.begin(), h.dst.end());
    append(b, exts);
    append(b, payload);
    return b;
}

Bytes eth(const Eth& e, const Bytes& l3) {
    Bytes b(e.dst.begin(), e.dst.end());
    b.insert(b.end(), e.src.begin(), e.src.end());
    if (e.vlan) {
        put16(b, e.tag_type);
        put16(b, *e.vlan);
    }
    uint16_t type = 0;
    if (e.type)
        type = *e.type;
    else if (!l3.empty() && (l3[0] >> 4) == 6)
        type = kEthIpv6;
    else
        type = kEthIpv4;
    put16(b, type);
    append(b, l3);
    return b;
}

Bytes arp_request(const Mac& sender, uint32_t sender_ip, uint32_t target_ip) {
    Bytes b;
    put16(b, 1);  // Ethernet
    put16(b, kEthIpv4);
    put8(b, 6);
    put8(b, 4);
    put16(b, 1);  // request
    b.insert(b.end(), sender.begin(), sender.end());
    put_be32(b, sender_ip);
    b.insert(b.end(), 6, 0);
    put_be32(b, target_ip);
    return b;
}

Bytes head(const Bytes& b, size_t n) {
    if (n > b.size()) throw std::invalid_argument("head() past the end");
    return Bytes(b.begin(), b.begin() + static_cast<long>(n));
}

Bytes concat(const Bytes& a, const Bytes& b) {
    Bytes out = a;
    append(out, b);
    return out;
}

Bytes pattern(size_t n, uint8_t seed) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + 1);
    return b;
}

uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t n) {
    uint64_t s = sum;
    for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n % 2) s += static_cast<uint32_t>(p[n - 1] << 8);
    while (s >> 32) s = (s & 0xffffffff) + (s >> 32);
    return static_cast<uint32_t>(s);
}

uint16_t csum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

bool csum_ok(const uint8_t* p, size_t n, uint32_t pseudo) {
    return csum_fold(csum_add(pseudo, p, n)) == 0;
}

std::string hexdump(const Bytes& b) {
    std::string out;
    char buf[32];
    for (size_t i = 0; i < b.size(); ++i) {
        if (i % 16 == 0) {
            std::snprintf(buf, sizeof(buf), "%s%04zx:", i ? "\n" : "", i);
            out += buf;
        }
        std::snprintf(buf, sizeof(buf), " %02x", b[i]);
        out += buf;
    }
    return out;
}

std::string diff(const Bytes& expected, const Bytes& actual) {
    std::string out = "expected " + std::to_string(expected.size()) + " bytes, got " +
                      std::to_string(actual.size()) + "\n";
    size_t n = std::max(expected.size(), actual.size());
    char buf[96];
    int shown = 0;
    for (size_t i = 0; i < n && shown < 24; ++i) {
        bool in_e = i < expected.size(), in_a = i < actual.size();
        if (in_e && in_a && expected[i] == actual[i]) continue;
        std::snprintf(buf, sizeof(buf), "  @%zu (0x%zx): expected %s%02x, got %s%02x\n", i, i,
                      in_e ? "" : "-", in_e ? expected[i] : 0, in_a ? "" : "-",
                      in_a ? actual[i] : 0);
        out += buf;
        ++shown;
    }
    out += "expected:\n" + hexdump(expected) + "\nactual:\n" + hexdump(actual);
    return out;
}

}  // namespace lbd::test
