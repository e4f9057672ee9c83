// NAT (lb_kind NAT) through the lb program, both ways, byte for byte: toward
// a real (destination VIP:port -> real:port) and the real's replies back
// (source real:port -> VIP:port), ICMP errors about such flows with their
// quoted headers, IPv4 and IPv6, TCP and UDP, a VLAN tag. Every expected
// frame is built whole by frame.h, checksums computed afresh, so a row
// passes only if the program's incremental updates come out the same.
//
// The replies are routed by the kernel's FIB: the test's namespace gets an
// interface toward the clients (natout) with their neighbours, and
// forwarding on, as a NAT node has.
#include "frame.h"
#include "lb_fixture.h"
#include "lb_rows.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace lbd::test {
namespace {

const Mac kClientMac = mac("02:00:00:00:00:01");  // the clients' next hop
const Mac kLbMac = mac("02:00:00:00:00:aa");      // ifaces[1] (lo): frames arrive here
const Mac kOutMac = mac("02:00:00:00:00:cc");     // natout, toward the clients
const Mac kRealAMac = mac("02:00:00:00:02:01");
const Mac kRealBMac = mac("02:00:00:00:02:02");
const Mac kRealSharedMac = mac("02:00:00:00:02:03");
const Mac kRealA6Mac = mac("02:00:00:00:02:04");

const uint32_t kClient4 = ip4("192.0.2.10");
const uint32_t kClient4b = ip4("192.0.2.11");
const uint32_t kFarClient4 = ip4("203.0.113.99");  // no route to it
const uint32_t kThisNode4 = ip4("192.0.2.254");     // natout's own address
const uint32_t kNewClient4 = ip4("192.0.2.99");     // on natout's subnet, not yet a neighbour
const Ip6 kClient6 = ip6("2001:db8::10");
const uint32_t kRouter4 = ip4("203.0.113.1");    // outside, sends errors to the VIP
const uint32_t kInside4 = ip4("10.2.0.254");     // inside, sends errors about replies
const Ip6 kRouter6 = ip6("2001:db8:ffff::1");

const uint32_t kVip4 = ip4("198.51.100.10");
const uint32_t kVipAll4 = ip4("198.51.100.11");
const uint32_t kVipShared1 = ip4("198.51.100.12");
const uint32_t kVipShared2 = ip4("198.51.100.13");
const uint32_t kVipNoNeigh = ip4("198.51.100.14");
const uint32_t kVipOff = ip4("198.51.100.15");
const Ip6 kVip6 = ip6("2001:db8:200::10");

const uint32_t kRealA = ip4("10.2.0.1");
const uint32_t kRealB = ip4("10.2.0.2");
const uint32_t kRealShared = ip4("10.2.0.3");
const uint32_t kRealNoNeigh = ip4("10.2.0.6");
const uint32_t kRealOff = ip4("10.2.0.7");
const uint32_t kUnknownReal = ip4("10.9.9.9");
const Ip6 kRealA6 = ip6("fd00:2::1");

enum VipId : uint32_t { kIdTcp = 1, kIdUdp, kIdAll, kId6, kIdShared1, kIdShared2, kIdNoNeigh, kIdOff };
enum RealIdx : uint32_t { kIdxATcp = 1, kIdxAUdp, kIdxBAll, kIdxA6, kIdxShared, kIdxNoNeigh, kIdxOff };

constexpr uint8_t kUpNeigh = LBD_REAL_F_UP | LBD_REAL_F_NEIGH;
constexpr uint32_t kRingSize = 7;

lbd_real nat_real(lbd_real r, uint16_t port, uint8_t proto, uint8_t more_flags = 0) {
    r.port = htons(port);
    r.proto = proto;
    r.flags |= more_flags;
    return r;
}

lbd_vip_meta nat_meta(uint32_t id) {
    lbd_vip_meta m{};
    m.vip_id = id;
    m.ring_size = kRingSize;
    m.mode = LBD_MODE_NAT;
    return m;
}

lbd_nat_service service4(uint32_t vip, uint16_t port, uint32_t id) {
    lbd_nat_service s{};
    s.vip.v4 = vip;
    s.port = htons(port);
    s.vip_id = id;
    return s;
}

lbd_nat_service service6(const Ip6& vip, uint16_t port, uint32_t id) {
    lbd_nat_service s{};
    std::memcpy(s.vip.bytes, vip.data(), 16);
    s.port = htons(port);
    s.vip_id = id;
    return s;
}

// The namespace's route to the clients, once: natout (a veth: this kernel
// has no dummy devices) with their neighbours, and forwarding on (the FIB
// helper answers nothing without it).
void routes_to_clients() {
    static const bool done = [] {
        const char* cmds[] = {
            "ip link add natout type veth peer name natpeer",
            "ip link set natpeer up",
            "ip link set natout address 02:00:00:00:00:cc up",
            "ip addr add 192.0.2.254/24 dev natout",
            "ip -6 addr add 2001:db8::fe/64 dev natout nodad",
            "ip neigh replace 192.0.2.10 lladdr 02:00:00:00:00:01 dev natout nud permanent",
            "ip neigh replace 192.0.2.11 lladdr 02:00:00:00:00:01 dev natout nud permanent",
            "ip -6 neigh replace 2001:db8::10 lladdr 02:00:00:00:00:01 dev natout nud permanent",
        };
        for (const char* c : cmds)
            if (std::system((std::string(c) + " >/dev/null 2>&1").c_str()) != 0) return false;
        for (const char* f : {"/proc/sys/net/ipv4/conf/all/forwarding", "/proc/sys/net/ipv6/conf/all/forwarding"})
            if (!(std::ofstream(f) << "1\n")) return false;
        return true;
    }();
    ASSERT_TRUE(done) << "cannot give the test namespace its route to the clients";
}

uint32_t natout() { return if_nametoindex("natout"); }

void build_world(LbFixture& fx) {
    ASSERT_NO_FATAL_FAILURE(routes_to_clients());
    lbd_iface lb{};
    std::copy(kLbMac.begin(), kLbMac.end(), lb.mac);
    lb.mtu = 1500;
    ASSERT_OK(fx.set_iface(1, lb));
    ASSERT_OK(fx.set_tx_port(natout(), natout()));

    ASSERT_OK(fx.set_real(kIdxATcp, nat_real(real4(kRealA, kRealAMac, 1, kUpNeigh), 8080, kProtoTcp)));
    ASSERT_OK(fx.set_real(kIdxAUdp, nat_real(real4(kRealA, kRealAMac, 1, kUpNeigh), 5353, kProtoUdp)));
    ASSERT_OK(fx.set_real(kIdxBAll, nat_real(real4(kRealB, kRealBMac, 1, kUpNeigh), 0, kProtoTcp)));
    ASSERT_OK(fx.set_real(kIdxA6, nat_real(real6(kRealA6, kRealA6Mac, 1, kUpNeigh), 8080, kProtoTcp)));
    ASSERT_OK(fx.set_real(kIdxShared, nat_real(real4(kRealShared, kRealSharedMac, 1, kUpNeigh), 8080, kProtoTcp,
                                               LBD_REAL_F_NAT_PER_FLOW)));
    ASSERT_OK(fx.set_real(kIdxNoNeigh, nat_real(real4(kRealNoNeigh, Mac{}, 0, LBD_REAL_F_UP), 8080, kProtoTcp)));
    ASSERT_OK(fx.set_real(kIdxOff, nat_real(real4(kRealOff, kRealAMac, 1, kUpNeigh), 8080, kProtoTcp)));

    struct V {
        lbd_vip_key key;
        uint32_t id;
        uint32_t real;
        bool active;
    };
    const V vips[] = {
        {vip_key4(kVip4, 80, kProtoTcp), kIdTcp, kIdxATcp, true},
        {vip_key4(kVip4, 53, kProtoUdp), kIdUdp, kIdxAUdp, true},
        {vip_key4(kVipAll4, 0, kProtoTcp), kIdAll, kIdxBAll, true},
        {vip_key6(kVip6, 80, kProtoTcp), kId6, kIdxA6, true},
        {vip_key4(kVipShared1, 80, kProtoTcp), kIdShared1, kIdxShared, true},
        {vip_key4(kVipShared2, 80, kProtoTcp), kIdShared2, kIdxShared, true},
        {vip_key4(kVipNoNeigh, 80, kProtoTcp), kIdNoNeigh, kIdxNoNeigh, true},
        {vip_key4(kVipOff, 80, kProtoTcp), kIdOff, kIdxOff, false},
    };
    for (const V& v : vips) {
        ASSERT_OK(fx.add_vip(v.key, nat_meta(v.id), v.active));
        ASSERT_OK(fx.set_ring(v.id, std::vector<uint32_t>(kRingSize, v.real)));
    }
    ASSERT_OK(fx.set_nat_reverse(vip_key4(kRealA, 8080, kProtoTcp), service4(kVip4, 80, kIdTcp)));
    ASSERT_OK(fx.set_nat_reverse(vip_key4(kRealA, 5353, kProtoUdp), service4(kVip4, 53, kIdUdp)));
    ASSERT_OK(fx.set_nat_reverse(vip_key4(kRealB, 0, kProtoTcp), service4(kVipAll4, 0, kIdAll)));
    ASSERT_OK(fx.set_nat_reverse(vip_key6(kRealA6, 8080, kProtoTcp), service6(kVip6, 80, kId6)));
    ASSERT_OK(fx.set_nat_reverse(vip_key4(kRealOff, 8080, kProtoTcp), service4(kVipOff, 80, kIdOff)));
    fx.set_nat_in_use(true);
}

// ------------------------------------------------------------ frame helpers

using Vlan = std::optional<uint16_t>;

Eth from_client(Vlan vlan = {}) { return {.dst = kLbMac, .src = kClientMac, .vlan = vlan}; }
Eth from_real(const Mac& real, Vlan vlan = {}) { return {.dst = kLbMac, .src = real, .vlan = vlan}; }
Eth to_real(const Mac& real, Vlan vlan = {}) { return {.dst = real, .src = kLbMac, .vlan = vlan}; }
Eth to_client(Vlan vlan = {}) { return {.dst = kClientMac, .src = kOutMac, .vlan = vlan}; }

Bytes tcp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t ttl = 64,
           uint8_t flags = kTcpAck | kTcpPsh) {
    return ipv4({.src = src, .dst = dst, .tos = 0x10, .ttl = ttl, .id = 0x1234, .df = true},
                Tcp{.sport = sport, .dport = dport, .flags = flags, .payload = pattern(24)});
}
Bytes udp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t ttl = 64,
           bool no_checksum = false) {
    return ipv4({.src = src, .dst = dst, .ttl = ttl, .id = 0x4321},
                Udp{.sport = sport, .dport = dport, .payload = pattern(24, 3), .no_checksum = no_checksum});
}
Bytes tcp6(const Ip6& src, const Ip6& dst, uint16_t sport, uint16_t dport, uint8_t hops = 64) {
    return ipv6({.src = src, .dst = dst, .flow_label = 0x12345, .hop_limit = hops},
                Tcp{.sport = sport, .dport = dport, .flags = kTcpAck, .payload = pattern(24)});
}
Bytes icmp4(uint32_t src, uint32_t dst, uint8_t type, uint8_t code, const Bytes& quoted, uint8_t ttl = 250) {
    return ipv4({.src = src, .dst = dst, .ttl = ttl}, Icmp{.type = type, .code = code, .rest = 0, .payload = quoted});
}
Bytes icmp6(const Ip6& src, const Ip6& dst, uint8_t type, uint32_t rest, const Bytes& quoted, uint8_t hops = 250) {
    return ipv6({.src = src, .dst = dst, .hop_limit = hops}, Icmp{.type = type, .code = 0, .rest = rest, .payload = quoted});
}

Row nat_fwd(std::string name, Bytes input, Bytes output) {
    return {std::move(name), std::move(input), XDP_TX, std::move(output), LBD_R_FWD_TX};
}
Row nat_reply(std::string name, Bytes input, Bytes output) {
    return {std::move(name), std::move(input), XDP_REDIRECT, std::move(output), LBD_R_NAT_REPLY_REDIRECT};
}
Row pass(std::string name, Bytes input, lbd_reason reason) {
    return {std::move(name), std::move(input), XDP_PASS, std::nullopt, reason};
}
Row drop(std::string name, Bytes input, lbd_reason reason) {
    return {std::move(name), std::move(input), XDP_DROP, std::nullopt, reason, {}, {}, false};
}

// -------------------------------------------------------------------- rows

void add_forward_rows(std::vector<Row>& rows) {
    // The destination becomes real:port, the TTL drops by one, the checksums
    // follow; the client's address and port stay.
    rows.push_back(nat_fwd("nat4_tcp", eth(from_client(), tcp4(kClient4, kVip4, 40000, 80)),
                           eth(to_real(kRealAMac), tcp4(kClient4, kRealA, 40000, 8080, 63))));
    Row syn = nat_fwd("nat4_tcp_syn", eth(from_client(), tcp4(kClient4, kVip4, 40001, 80, 64, kTcpSyn)),
                      eth(to_real(kRealAMac), tcp4(kClient4, kRealA, 40001, 8080, 63, kTcpSyn)));
    syn.check = [](const LbFixture& fx) {
        EXPECT_FALSE(fx.flow(flow_key4(kClient4, kVip4, 40001, 80, kProtoTcp)).has_value())
            << "a SYN leaves no flow entry";
        EXPECT_FALSE(fx.nat_reply(flow_key4(kRealA, kClient4, 8080, 40001, kProtoTcp)).has_value())
            << "a real that serves one service needs no per-flow reply entry";
    };
    rows.push_back(std::move(syn));
    Row ack = nat_fwd("nat4_tcp_ack", eth(from_client(), tcp4(kClient4, kVip4, 40001, 80, 64, kTcpAck)),
                      eth(to_real(kRealAMac), tcp4(kClient4, kRealA, 40001, 8080, 63, kTcpAck)));
    ack.check = [](const LbFixture& fx) {
        auto f = fx.flow(flow_key4(kClient4, kVip4, 40001, 80, kProtoTcp));
        ASSERT_TRUE(f.has_value()) << "a NAT flow is tracked as the client sends it";
        EXPECT_EQ(f->real, static_cast<uint32_t>(kIdxATcp));
    };
    rows.push_back(std::move(ack));
    rows.push_back(nat_fwd("nat4_udp", eth(from_client(), udp4(kClient4, kVip4, 5000, 53)),
                           eth(to_real(kRealAMac), udp4(kClient4, kRealA, 5000, 5353, 63))));
    rows.push_back(nat_fwd("nat4_udp_without_checksum", eth(from_client(), udp4(kClient4, kVip4, 5000, 53, 64, true)),
                           eth(to_real(kRealAMac), udp4(kClient4, kRealA, 5000, 5353, 63, true))));
    rows.push_back(nat_fwd("nat4_all_ports_keeps_the_port", eth(from_client(), tcp4(kClient4, kVipAll4, 40000, 22)),
                           eth(to_real(kRealBMac), tcp4(kClient4, kRealB, 40000, 22, 63))));
    rows.push_back(nat_fwd("nat6_tcp", eth(from_client(), tcp6(kClient6, kVip6, 40000, 80)),
                           eth(to_real(kRealA6Mac), tcp6(kClient6, kRealA6, 40000, 8080, 63))));
    rows.push_back(nat_fwd("nat4_vlan_tcp", eth(from_client(7), tcp4(kClient4, kVip4, 40000, 80)),
                           eth(to_real(kRealAMac, 7), tcp4(kClient4, kRealA, 40000, 8080, 63))));
    rows.push_back(drop("nat4_ttl_1", eth(from_client(), tcp4(kClient4, kVip4, 40000, 80, 1)), LBD_R_DROP_TTL));
    // Without the real's next hop the kernel routes the rewritten packet.
    rows.push_back({"nat4_no_neighbour_to_kernel", eth(from_client(), tcp4(kClient4, kVipNoNeigh, 40000, 80)),
                    XDP_PASS, eth(from_client(), tcp4(kClient4, kRealNoNeigh, 40000, 8080, 63)), LBD_R_NAT_KERNEL});

    // An ICMP error to the VIP about a reply the client got: to the real,
    // its quote (the reply, VIP:80 -> client) now from real:8080.
    const Bytes reply4 = tcp4(kVip4, kClient4, 80, 40000);
    rows.push_back(nat_fwd(
        "nat4_icmp_error_to_vip",
        eth(from_client(), icmp4(kRouter4, kVip4, kIcmpDestUnreach, kIcmpCodeFragNeeded, head(reply4, 28))),
        eth(to_real(kRealAMac), icmp4(kRouter4, kRealA, kIcmpDestUnreach, kIcmpCodeFragNeeded,
                                      head(tcp4(kRealA, kClient4, 8080, 40000), 28), 249))));
    // ICMPv6 quotes the whole packet: the quoted TCP checksum is updated too,
    // and the ICMPv6 checksum covers the outer addresses.
    rows.push_back(nat_fwd("nat6_packet_too_big_to_vip",
                           eth(from_client(), icmp6(kRouter6, kVip6, kIcmp6PacketTooBig, 1280,
                                                    tcp6(kVip6, kClient6, 80, 40000))),
                           eth(to_real(kRealA6Mac), icmp6(kRouter6, kRealA6, kIcmp6PacketTooBig, 1280,
                                                          tcp6(kRealA6, kClient6, 8080, 40000), 249))));
}

void add_reply_rows(std::vector<Row>& rows) {
    // From the real, the source becomes VIP:port, routed to the client.
    rows.push_back(nat_reply("nat4_reply_tcp", eth(from_real(kRealAMac), tcp4(kRealA, kClient4, 8080, 40000)),
                             eth(to_client(), tcp4(kVip4, kClient4, 80, 40000, 63))));
    rows.push_back(nat_reply("nat4_reply_udp", eth(from_real(kRealAMac), udp4(kRealA, kClient4, 5353, 5000)),
                             eth(to_client(), udp4(kVip4, kClient4, 53, 5000, 63))));
    rows.push_back(nat_reply("nat4_reply_all_ports", eth(from_real(kRealBMac), tcp4(kRealB, kClient4, 22, 40000)),
                             eth(to_client(), tcp4(kVipAll4, kClient4, 22, 40000, 63))));
    rows.push_back(nat_reply("nat6_reply_tcp", eth(from_real(kRealA6Mac), tcp6(kRealA6, kClient6, 8080, 40000)),
                             eth(to_client(), tcp6(kVip6, kClient6, 80, 40000, 63))));
    // A tagged reply leaves by the port it came in on, tag kept.
    rows.push_back({"nat4_reply_vlan", eth(from_real(kRealAMac, 7), tcp4(kRealA, kClient4, 8080, 40000)), XDP_TX,
                    eth(to_client(7), tcp4(kVip4, kClient4, 80, 40000, 63)), LBD_R_NAT_REPLY_TX});
    rows.push_back(pass("nat4_reply_vip_not_served_here",
                        eth(from_real(kRealAMac), tcp4(kRealOff, kClient4, 8080, 40000)), LBD_R_PASS_NOT_VIP));
    rows.push_back(pass("nat4_reply_unknown_real", eth(from_real(kRealAMac), tcp4(kUnknownReal, kClient4, 8080, 40000)),
                        LBD_R_PASS_NOT_VIP));
    rows.push_back(pass("nat4_reply_other_port", eth(from_real(kRealAMac), tcp4(kRealA, kClient4, 9999, 40000)),
                        LBD_R_PASS_NOT_VIP));
    Row off = pass("nat4_reply_no_nat_service", eth(from_real(kRealAMac), tcp4(kRealA, kClient4, 8080, 40000)),
                   LBD_R_PASS_NOT_VIP);
    off.setup = [](LbFixture& fx) { fx.set_nat_in_use(false); };
    rows.push_back(std::move(off));
    // The answer to this node's own connection (a health check) is no reply
    // to a client: the kernel gets it as it came.
    rows.push_back(pass("nat4_reply_to_this_node", eth(from_real(kRealAMac), tcp4(kRealA, kThisNode4, 8080, 33000)),
                        LBD_R_PASS_NOT_VIP));
    // No route at all: the kernel's FIB says as much for this node's own
    // addresses, so the kernel gets it, as it came.
    rows.push_back(pass("nat4_reply_unroutable", eth(from_real(kRealAMac), tcp4(kRealA, kFarClient4, 8080, 40000)),
                        LBD_R_PASS_NOT_VIP));
    // A route, and no neighbour yet: dropped, and the daemon told.
    rows.push_back(drop("nat4_reply_unresolved", eth(from_real(kRealAMac), tcp4(kRealA, kNewClient4, 8080, 40000)),
                        LBD_R_DROP_NAT_NO_ROUTE));
    rows.push_back(drop("nat4_reply_ttl_1", eth(from_real(kRealAMac), tcp4(kRealA, kClient4, 8080, 40000, 1)),
                        LBD_R_DROP_TTL));

    // The real's port unreachable about the client's datagram: the outer
    // source (the real) and the quote's destination become the VIP's.
    const Bytes to_real4 = udp4(kClient4, kRealA, 5000, 5353, 63);
    rows.push_back(nat_reply(
        "nat4_reply_icmp_from_the_real",
        eth(from_real(kRealAMac), icmp4(kRealA, kClient4, kIcmpDestUnreach, kIcmpCodePortUnreach, head(to_real4, 28), 64)),
        eth(to_client(), icmp4(kVip4, kClient4, kIcmpDestUnreach, kIcmpCodePortUnreach,
                               head(udp4(kClient4, kVip4, 5000, 53, 63), 28), 63))));
    // From a router on the inside: its own address stays, the quote changes.
    const Bytes to_real_tcp = tcp4(kClient4, kRealA, 40000, 8080, 63);
    rows.push_back(nat_reply(
        "nat4_reply_icmp_from_a_router",
        eth(from_real(kRealAMac), icmp4(kInside4, kClient4, kIcmpTimeExceeded, 0, head(to_real_tcp, 28), 64)),
        eth(to_client(), icmp4(kInside4, kClient4, kIcmpTimeExceeded, 0,
                               head(tcp4(kClient4, kVip4, 40000, 80, 63), 28), 63))));
    rows.push_back(nat_reply(
        "nat6_reply_icmp_from_the_real",
        eth(from_real(kRealA6Mac), icmp6(kRealA6, kClient6, kIcmp6DestUnreach, 0, tcp6(kClient6, kRealA6, 40000, 8080), 64)),
        eth(to_client(), icmp6(kVip6, kClient6, kIcmp6DestUnreach, 0, tcp6(kClient6, kVip6, 40000, 80), 63))));
}

std::vector<Row> nat_rows() {
    std::vector<Row> rows;
    add_forward_rows(rows);
    add_reply_rows(rows);
    return rows;
}

class NatFixtures : public LbBpf, public ::testing::WithParamInterface<Row> {};

TEST_P(NatFixtures, Frame) { expect_row(GetParam(), build_world); }

INSTANTIATE_TEST_SUITE_P(Rows, NatFixtures, ::testing::ValuesIn(nat_rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// The next hop of a reply that found no neighbour reaches the daemon.
TEST_F(LbBpf, UnresolvedClientIsHandedToTheDaemon) {
    LbFixture fx;
    ASSERT_OK(fx.status());
    ASSERT_NO_FATAL_FAILURE(build_world(fx));
    ASSERT_EQ(fx.run(eth(from_real(kRealAMac), tcp4(kRealA, kNewClient4, 8080, 40000))).verdict, XDP_DROP);
    const auto hops = fx.unresolved();
    ASSERT_EQ(hops.size(), 1u);
    EXPECT_EQ(hops[0].family, LBD_AF_INET);
    EXPECT_EQ(hops[0].addr.v4, kNewClient4);
    EXPECT_EQ(hops[0].ifindex, natout());
}

// A real that serves two NAT services on one port: each flow remembers which
// VIP its replies come back from, and they do.
TEST_F(LbBpf, SharedRealRepliesFollowTheirFlow) {
    LbFixture fx;
    ASSERT_OK(fx.status());
    ASSERT_NO_FATAL_FAILURE(build_world(fx));
    ASSERT_EQ(fx.run(eth(from_client(), tcp4(kClient4, kVipShared1, 40000, 80, 64, kTcpSyn))).verdict, XDP_TX);
    ASSERT_EQ(fx.run(eth(from_client(), tcp4(kClient4b, kVipShared2, 40000, 80, 64, kTcpSyn))).verdict, XDP_TX);
    auto one = fx.nat_reply(flow_key4(kRealShared, kClient4, 8080, 40000, kProtoTcp));
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(one->vip_id, static_cast<uint32_t>(kIdShared1));

    RunResult r = fx.run(eth(from_real(kRealSharedMac), tcp4(kRealShared, kClient4, 8080, 40000)));
    EXPECT_EQ(r.verdict, XDP_REDIRECT);
    Bytes want = eth(to_client(), tcp4(kVipShared1, kClient4, 80, 40000, 63));
    EXPECT_TRUE(r.out == want) << diff(want, r.out);
    r = fx.run(eth(from_real(kRealSharedMac), tcp4(kRealShared, kClient4b, 8080, 40000)));
    want = eth(to_client(), tcp4(kVipShared2, kClient4b, 80, 40000, 63));
    EXPECT_TRUE(r.out == want) << diff(want, r.out);
    // A flow this node never saw has no entry: its replies go untranslated.
    r = fx.run(eth(from_real(kRealSharedMac), tcp4(kRealShared, kClient4, 8080, 40009)));
    EXPECT_EQ(r.verdict, XDP_PASS);
}

}  // namespace
}  // namespace lbd::test
