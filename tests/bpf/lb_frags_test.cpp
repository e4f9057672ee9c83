// Fragmented datagrams to virtual services through BPF_PROG_TEST_RUN
// (bpf/lib/frags.h): the first fragment goes where an unfragmented packet of
// its flow would, the later ones follow it to the same real, byte for byte,
// in DR and TUN over IPv4 and IPv6; what cannot be placed is dropped and
// counted; NAT services drop fragments.
#include "frame.h"
#include "lb_fixture.h"
#include "lb_rows.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace lbd::test {
namespace {

const Mac kClientMac = mac("02:00:00:00:00:01");
const Mac kLbMac = mac("02:00:00:00:00:aa");
const uint32_t kClient4 = ip4("192.0.2.10");
const Ip6 kClient6 = ip6("2001:db8::10");
const uint32_t kTunSrc4 = ip4("10.0.0.1");
const Ip6 kTunSrc6 = ip6("fd00::1");

const uint32_t kVipDr4 = ip4("198.51.100.1");   // udp:53 and tcp:80 over A and B
const uint32_t kVipTun4 = ip4("198.51.100.2");  // udp:53 over A and B
const uint32_t kVipNat4 = ip4("198.51.100.3");  // udp:53, NAT to A
const uint32_t kVipOff4 = ip4("198.51.100.4");  // udp:53, owned by another node
const Ip6 kVipDr6 = ip6("2001:db8:100::1");     // udp:53 over A6 and B6
const Ip6 kVipTun6 = ip6("2001:db8:100::2");    // udp:53 over A6 and B6

enum : uint32_t { kIdDr4 = 1, kIdDr4Tcp, kIdTun4, kIdNat4, kIdOff4, kIdDr6, kIdTun6 };
enum : uint32_t { kA = 1, kB = 2, kA6 = 3, kB6 = 4 };
const uint32_t kRealA = ip4("10.1.0.1"), kRealB = ip4("10.1.0.2");
const Ip6 kRealA6 = ip6("fd00:1::1"), kRealB6 = ip6("fd00:1::2");
const Mac kMacA = mac("02:00:00:00:01:01"), kMacB = mac("02:00:00:00:01:02"), kMacA6 = mac("02:00:00:00:01:03"),
          kMacB6 = mac("02:00:00:00:01:04");
constexpr uint8_t kUpNeigh = LBD_REAL_F_UP | LBD_REAL_F_NEIGH;
constexpr uint32_t kRingSize = 13;

lbd_vip_meta meta(uint32_t id, uint8_t mode) {
    lbd_vip_meta m{};
    m.vip_id = id;
    m.ring_size = kRingSize;
    m.mode = mode;
    return m;
}

// Slots alternate between the two reals, so a fragment that lost its ports
// would land on the other real for about half of all port pairs.
std::vector<uint32_t> ring_of(uint32_t a, uint32_t b) {
    std::vector<uint32_t> ring(kRingSize);
    for (uint32_t i = 0; i < kRingSize; ++i) ring[i] = i % 2 ? b : a;
    return ring;
}

void build_world(LbFixture& fx) {
    lbd_iface ifc{};
    std::copy(kLbMac.begin(), kLbMac.end(), ifc.mac);
    ifc.mtu = 1500;
    ifc.tun_src4 = kTunSrc4;
    std::memcpy(ifc.tun_src6, kTunSrc6.data(), 16);
    ASSERT_OK(fx.set_iface(1, ifc));
    ASSERT_OK(fx.set_real(kA, real4(kRealA, kMacA, 1, kUpNeigh)));
    ASSERT_OK(fx.set_real(kB, real4(kRealB, kMacB, 1, kUpNeigh)));
    ASSERT_OK(fx.set_real(kA6, real6(kRealA6, kMacA6, 1, kUpNeigh)));
    ASSERT_OK(fx.set_real(kB6, real6(kRealB6, kMacB6, 1, kUpNeigh)));
    struct V {
        lbd_vip_key key;
        lbd_vip_meta meta;
        std::vector<uint32_t> ring;
        bool active = true;
    };
    const V vips[] = {
        {vip_key4(kVipDr4, 53, kProtoUdp), meta(kIdDr4, LBD_MODE_DR), ring_of(kA, kB)},
        {vip_key4(kVipDr4, 80, kProtoTcp), meta(kIdDr4Tcp, LBD_MODE_DR), ring_of(kA, kB)},
        {vip_key4(kVipTun4, 53, kProtoUdp), meta(kIdTun4, LBD_MODE_TUN), ring_of(kA, kB)},
        {vip_key4(kVipNat4, 53, kProtoUdp), meta(kIdNat4, LBD_MODE_NAT), ring_of(kA, kA)},
        {vip_key4(kVipOff4, 53, kProtoUdp), meta(kIdOff4, LBD_MODE_DR), ring_of(kA, kB), false},
        {vip_key6(kVipDr6, 53, kProtoUdp), meta(kIdDr6, LBD_MODE_DR), ring_of(kA6, kB6)},
        {vip_key6(kVipTun6, 53, kProtoUdp), meta(kIdTun6, LBD_MODE_TUN), ring_of(kA6, kB6)},
    };
    for (const V& v : vips) {
        ASSERT_OK(fx.add_vip(v.key, v.meta, v.active));
        ASSERT_OK(fx.set_ring(v.meta.vip_id, v.ring));
    }
}

// A client port whose flow the ring gives to B (B6): the odd slots.
uint16_t port_to_b(const std::function<lbd_flow_key(uint16_t)>& key) {
    for (uint16_t p = 40000; p < 50000; ++p)
        if (flow_hash(key(p)) % kRingSize % 2 == 1) return p;
    return 0;
}

Eth to_lb() { return {.dst = kLbMac, .src = kClientMac}; }
Eth to_real(const Mac& m) { return {.dst = m, .src = kLbMac}; }

// A UDP datagram of 64 payload bytes cut after 32 bytes of transport: the
// first fragment holds the UDP header and 24 bytes, the second the rest at
// offset 4 (x 8 bytes). The checksum is the whole datagram's, as a sender
// computes it before fragmenting.
constexpr size_t kCut = 32;
struct Fragments {
    Bytes first;
    Bytes second;
};

Bytes transport4(uint32_t src, uint32_t dst, uint16_t sport) {
    Bytes whole = ipv4({.src = src, .dst = dst}, Udp{.sport = sport, .dport = 53, .payload = pattern(64, 5)});
    return Bytes(whole.begin() + 20, whole.end());
}
Bytes transport6(const Ip6& src, const Ip6& dst, uint16_t sport) {
    Bytes whole = ipv6({.src = src, .dst = dst}, Udp{.sport = sport, .dport = 53, .payload = pattern(64, 5)});
    return Bytes(whole.begin() + 40, whole.end());
}

Fragments frags4(uint32_t dst, uint16_t sport, uint16_t id) {
    Bytes l4 = transport4(kClient4, dst, sport);
    Bytes rest(l4.begin() + kCut, l4.end());
    return {ipv4({.src = kClient4, .dst = dst, .id = id, .mf = true}, Raw{kProtoUdp, head(l4, kCut)}),
            ipv4({.src = kClient4, .dst = dst, .id = id, .frag_offset = kCut / 8}, Raw{kProtoUdp, rest})};
}
Fragments frags6(const Ip6& dst, uint16_t sport, uint32_t id) {
    Bytes l4 = transport6(kClient6, dst, sport);
    Bytes rest(l4.begin() + kCut, l4.end());
    return {ipv6({.src = kClient6, .dst = dst, .flow_label = 0x777, .ext = {fragment(0, true, id)}},
                 Raw{kProtoUdp, head(l4, kCut)}),
            ipv6({.src = kClient6, .dst = dst, .flow_label = 0x777, .ext = {fragment(kCut / 8, false, id)}},
                 Raw{kProtoUdp, rest})};
}

// bpf/lib/encap.h's outer headers (as lb_fixtures_test.cpp spells them).
Bytes ipip(const Bytes& dgram, uint32_t real) {
    return ipv4({.src = kTunSrc4, .dst = real, .ttl = 64, .id = 0, .df = true}, inner(dgram));
}
Bytes ip6ip6(const Bytes& dgram, const Ip6& real, uint32_t hash) {
    return ipv6({.src = kTunSrc6, .dst = real, .flow_label = hash & 0xfffff, .hop_limit = 64}, inner(dgram));
}

class Frags : public LbBpfWorld<build_world> {
protected:
    // The frame goes out (XDP_TX) exactly as `want`.
    void expect_sent(const Bytes& l3, const Bytes& want) {
        RunResult r = fx->run(eth(to_lb(), l3));
        ASSERT_EQ(r.err, 0);
        EXPECT_EQ(r.verdict, XDP_TX) << xdp_verdict_name(r.verdict);
        EXPECT_TRUE(r.out == want) << diff(want, r.out);
    }
    uint32_t verdict_of(const Bytes& l3) { return fx->run(eth(to_lb(), l3)).verdict; }
};

TEST_F(Frags, Ipv4DrLaterFragmentFollowsTheFirst) {
    const uint16_t sport = port_to_b([](uint16_t p) { return flow_key4(kClient4, kVipDr4, p, 53, kProtoUdp); });
    ASSERT_NE(sport, 0);
    Fragments f = frags4(kVipDr4, sport, 0x5151);
    expect_sent(f.first, eth(to_real(kMacB), f.first));
    expect_sent(f.second, eth(to_real(kMacB), f.second));
    EXPECT_EQ(fx->reasons()[LBD_R_FWD_TX], 2u);
    auto flow = fx->flow(flow_key4(kClient4, kVipDr4, sport, 53, kProtoUdp));
    ASSERT_TRUE(flow.has_value()) << "a first UDP fragment makes the flow's entry, as the datagram would";
    EXPECT_EQ(flow->real, kB);
    EXPECT_EQ(fx->vip_counters(kIdDr4).packets, 2u);
    EXPECT_EQ(fx->vip_counters(kIdDr4).new_flows, 1u);
    EXPECT_EQ(fx->real_counters(kB).packets, 2u);
}

TEST_F(Frags, Ipv4TunLaterFragmentFollowsTheFirst) {
    const uint16_t sport = port_to_b([](uint16_t p) { return flow_key4(kClient4, kVipTun4, p, 53, kProtoUdp); });
    Fragments f = frags4(kVipTun4, sport, 0x5152);
    expect_sent(f.first, eth(to_real(kMacB), ipip(f.first, kRealB)));
    expect_sent(f.second, eth(to_real(kMacB), ipip(f.second, kRealB)));
    EXPECT_EQ(fx->reasons()[LBD_R_FWD_TX], 2u);
}

TEST_F(Frags, Ipv6DrLaterFragmentFollowsTheFirst) {
    const uint16_t sport = port_to_b([](uint16_t p) { return flow_key6(kClient6, kVipDr6, p, 53, kProtoUdp); });
    Fragments f = frags6(kVipDr6, sport, 0xa1b2c3d4);
    expect_sent(f.first, eth(to_real(kMacB6), f.first));
    expect_sent(f.second, eth(to_real(kMacB6), f.second));
    EXPECT_EQ(fx->reasons()[LBD_R_FWD_TX], 2u);
}

// The outer flow label comes from the flow's hash: the same for both.
TEST_F(Frags, Ipv6TunLaterFragmentFollowsTheFirst) {
    const auto key = [](uint16_t p) { return flow_key6(kClient6, kVipTun6, p, 53, kProtoUdp); };
    const uint16_t sport = port_to_b(key);
    const uint32_t hash = flow_hash(key(sport));
    Fragments f = frags6(kVipTun6, sport, 0xa1b2c3d5);
    expect_sent(f.first, eth(to_real(kMacB6), ip6ip6(f.first, kRealB6, hash)));
    expect_sent(f.second, eth(to_real(kMacB6), ip6ip6(f.second, kRealB6, hash)));
    EXPECT_EQ(fx->reasons()[LBD_R_FWD_TX], 2u);
}

// Before its first, a later fragment cannot be placed: dropped, counted.
// Another datagram's identification, or another source's, finds nothing.
TEST_F(Frags, UnknownLaterFragmentsAreDropped) {
    Fragments f = frags4(kVipDr4, 40000, 0x6161);
    EXPECT_EQ(verdict_of(f.second), XDP_DROP);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_FRAGMENT_UNKNOWN], 1u);
    EXPECT_EQ(verdict_of(f.first), XDP_TX);
    EXPECT_EQ(verdict_of(frags4(kVipDr4, 40000, 0x6162).second), XDP_DROP);
    Fragments f6 = frags6(kVipDr6, 40000, 0x6161);
    EXPECT_EQ(verdict_of(f6.second), XDP_DROP);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_FRAGMENT_UNKNOWN], 3u);
    EXPECT_EQ(verdict_of(f.second), XDP_TX);
    EXPECT_EQ(fx->reasons()[LBD_R_FWD_TX], 2u);
}

// A fragmented SYN follows the flood rules of an unfragmented one: no entry,
// from the first fragment or the later.
TEST_F(Frags, FragmentedSynMakesNoEntry) {
    Bytes whole = ipv4({.src = kClient4, .dst = kVipDr4},
                       Tcp{.sport = 40000, .dport = 80, .flags = kTcpSyn, .payload = pattern(48)});
    Bytes l4(whole.begin() + 20, whole.end());
    Bytes first = ipv4({.src = kClient4, .dst = kVipDr4, .id = 0x7171, .mf = true}, Raw{kProtoTcp, head(l4, 40)});
    Bytes later = ipv4({.src = kClient4, .dst = kVipDr4, .id = 0x7171, .frag_offset = 5},
                       Raw{kProtoTcp, Bytes(l4.begin() + 40, l4.end())});
    EXPECT_EQ(verdict_of(first), XDP_TX);
    EXPECT_EQ(verdict_of(later), XDP_TX);
    EXPECT_EQ(fx->flow_count(), 0u);
    EXPECT_EQ(fx->flow_events(LBD_FE_SYN_UNTRACKED), 2u);
    EXPECT_EQ(fx->flow_events(LBD_FE_INSERTED), 0u);
}

// NAT cannot translate the later fragments' ports or a real's fragmented
// reply: every fragment to a NAT service is dropped under its own name.
TEST_F(Frags, NatServicesDropFragments) {
    Fragments f = frags4(kVipNat4, 40000, 0x8181);
    EXPECT_EQ(verdict_of(f.first), XDP_DROP);
    EXPECT_EQ(verdict_of(f.second), XDP_DROP);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_FRAGMENT_NAT], 2u);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_FRAGMENT_UNKNOWN], 0u);
    EXPECT_EQ(fx->flow_count(), 0u);
}

// To a VIP owned elsewhere, the whole datagram goes to the kernel, as an
// unfragmented one would.
TEST_F(Frags, InactiveVipPassesEveryFragment) {
    Fragments f = frags4(kVipOff4, 40000, 0x9191);
    EXPECT_EQ(verdict_of(f.first), XDP_PASS);
    EXPECT_EQ(verdict_of(f.second), XDP_PASS);
    EXPECT_EQ(fx->reasons()[LBD_R_PASS_VIP_INACTIVE], 2u);
}

}  // namespace
}  // namespace lbd::test
