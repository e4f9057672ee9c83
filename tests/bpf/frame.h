// A small frame builder for packet fixtures: Ethernet (optional 802.1Q tag),
// IPv4 (options, flags, fragment offset, deliberately wrong lengths), IPv6
// (extension headers), TCP, UDP, ICMP/ICMPv6 and IP-in-IP. Both the input
// frames and the frames a test expects back are written with it, so a test
// never pastes hex and never reuses the datapath's own code to predict its
// output. Checksums are RFC 1071 sums computed here.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lbd::test {

using Bytes = std::vector<uint8_t>;
using Mac = std::array<uint8_t, 6>;
using Ip6 = std::array<uint8_t, 16>;

// Parse literals; throw std::invalid_argument on a malformed one (tests only).
Mac mac(const std::string& text);
uint32_t ip4(const std::string& text);  // network byte order, as on the wire
Ip6 ip6(const std::string& text);

// Ethertypes, IP protocols and ICMP types the fixtures use (RFC 791, 8200,
// 792, 4443; IEEE 802.1Q).
inline constexpr uint16_t kEthIpv4 = 0x0800;
inline constexpr uint16_t kEthIpv6 = 0x86dd;
inline constexpr uint16_t kEthArp = 0x0806;
inline constexpr uint16_t kEth8021Q = 0x8100;
inline constexpr uint16_t kEth8021AD = 0x88a8;

inline constexpr uint8_t kProtoHopByHop = 0;
inline constexpr uint8_t kProtoIcmp = 1;
inline constexpr uint8_t kProtoIpip = 4;
inline constexpr uint8_t kProtoTcp = 6;
inline constexpr uint8_t kProtoUdp = 17;
inline constexpr uint8_t kProtoIpv6 = 41;
inline constexpr uint8_t kProtoRouting = 43;
inline constexpr uint8_t kProtoFragment = 44;
inline constexpr uint8_t kProtoGre = 47;
inline constexpr uint8_t kProtoIcmpv6 = 58;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpDestUnreach = 3;
inline constexpr uint8_t kIcmpEcho = 8;
inline constexpr uint8_t kIcmpTimeExceeded = 11;
inline constexpr uint8_t kIcmpCodeHostUnreach = 1;
inline constexpr uint8_t kIcmpCodePortUnreach = 3;
inline constexpr uint8_t kIcmpCodeFragNeeded = 4;  // RFC 1191

inline constexpr uint8_t kIcmp6DestUnreach = 1;
inline constexpr uint8_t kIcmp6PacketTooBig = 2;
inline constexpr uint8_t kIcmp6EchoRequest = 128;

struct Eth {
    Mac dst{};
    Mac src{};
    std::optional<uint16_t> vlan{};       // 802.1Q TCI (VLAN id and priority)
    uint16_t tag_type = kEth8021Q;      // TPID of the tag when vlan is set
    std::optional<uint16_t> type{};       // default: from the IP version nibble
};

// Layer-4 contents. Inside ipv4() an Icmp is ICMPv4; inside ipv6(), ICMPv6.
struct Tcp {
    uint16_t sport = 0;
    uint16_t dport = 0;
    uint8_t flags = kTcpAck;
    uint32_t seq = 1000;
    uint32_t ack_seq = 0;
    uint16_t window = 65535;
    std::optional<uint8_t> doff{};  // data offset in words; default 5
    Bytes payload{};
};

struct Udp {
    uint16_t sport = 0;
    uint16_t dport = 0;
    Bytes payload{};
    bool no_checksum = false;  // IPv4 only: the sender computed none (0)
};

struct Icmp {
    uint8_t type = 0;
    uint8_t code = 0;
    uint32_t rest = 0;  // the second 32-bit word (id/seq, unused/MTU, MTU)
    Bytes payload{};    // e.g. the quoted datagram of an error
};

// Anything else: an inner datagram (IPIP, IPv6-in-IP), GRE, a cut header.
struct Raw {
    uint8_t proto = 0;
    Bytes bytes{};
};

using L4 = std::variant<Tcp, Udp, Icmp, Raw>;

// An already-built IPv4 or IPv6 datagram as the payload of an outer header,
// with protocol 4 or 41 taken from its version nibble.
Raw inner(const Bytes& datagram);

struct Ipv4 {
    uint32_t src = 0;  // network order (ip4())
    uint32_t dst = 0;
    uint8_t tos = 0;
    uint8_t ttl = 64;
    uint16_t id = 0;
    bool df = false;
    bool mf = false;
    uint16_t frag_offset = 0;  // in 8-byte units
    Bytes options{};           // padded with zeros (EOL) to a multiple of 4
    // Deliberate damage; the defaults describe a correct header.
    std::optional<uint8_t> version{};
    std::optional<uint8_t> ihl{};
    std::optional<uint16_t> tot_len{};
    std::optional<uint8_t> proto{};
    std::optional<uint16_t> check{};
};

// One IPv6 extension header; the Next Header fields are chained by ipv6().
struct Ipv6Ext {
    uint8_t type = 0;
    Bytes body{};  // everything after the Next Header byte
};
Ipv6Ext hop_by_hop();  // 8 bytes: PadN
Ipv6Ext routing();     // 8 bytes: type 0 header, no addresses, segments left 0
Ipv6Ext fragment(uint16_t offset, bool more, uint32_t id);

struct Ipv6 {
    Ip6 src{};
    Ip6 dst{};
    uint8_t tclass = 0;
    uint32_t flow_label = 0;
    uint8_t hop_limit = 64;
    std::vector<Ipv6Ext> ext{};
    std::optional<uint8_t> version{};
    std::optional<uint16_t> payload_len{};
};

Bytes ipv4(const Ipv4& h, const L4& l4);
Bytes ipv6(const Ipv6& h, const L4& l4);
Bytes eth(const Eth& e, const Bytes& l3);

// Body of an ARP request (RFC 826) for target_ip from sender; wrap it with
// eth() and type kEthArp.
Bytes arp_request(const Mac& sender, uint32_t sender_ip, uint32_t target_ip);

// The first n bytes of b (n <= b.size()).
Bytes head(const Bytes& b, size_t n);
Bytes concat(const Bytes& a, const Bytes& b);
Bytes pattern(size_t n, uint8_t seed = 0);  // deterministic payload bytes

// RFC 1071 one's-complement sum, and its folded complement.
uint32_t csum_add(uint32_t sum, const uint8_t* p, size_t n);
uint16_t csum_fold(uint32_t sum);
// True when the 16-bit sum over the bytes (checksum field included) is 0xffff.
bool csum_ok(const uint8_t* p, size_t n, uint32_t pseudo = 0);

// Readable dump for failure messages: offset, hex, a marker on differences.
std::string hexdump(const Bytes& b);
std::string diff(const Bytes& expected, const Bytes& actual);

}  // namespace lbd::test
