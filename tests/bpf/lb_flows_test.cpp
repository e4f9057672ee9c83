// The lb program's flow tables under load and attack, its lc / wlc pick and
// no_accept, through BPF_PROG_TEST_RUN: what a SYN, a flood, a handshake, a
// FIN and traffic to a no_accept master's VIP leave in the maps and which
// real or verdict they get (bpf/lib/flows.h, bpf/lib/fence.h).
#include "frame.h"
#include "lb_fixture.h"
#include "lb_rows.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <time.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace lbd::test {
namespace {

const Mac kClientMac = mac("02:00:00:00:00:01");
const Mac kLbMac = mac("02:00:00:00:00:aa");
const uint32_t kClient4 = ip4("192.0.2.10");
const Ip6 kClient6 = ip6("2001:db8::10");
const uint32_t kVip4 = ip4("198.51.100.1");    // tcp:80 and udp:53, ring of A
const uint32_t kVipLc4 = ip4("198.51.100.2");  // tcp:80 and udp:53, least connections over A, B, C
const Ip6 kVip6 = ip6("2001:db8:100::1");      // tcp:80, ring of A

enum : uint32_t { kIdTcp = 1, kIdUdp, kIdLcTcp, kIdLcUdp, kId6Tcp };
enum : uint32_t { kA = 1, kB = 2, kC = 3, kA6 = 4 };
const Mac kMacA = mac("02:00:00:00:01:01"), kMacB = mac("02:00:00:00:01:02"), kMacC = mac("02:00:00:00:01:03"),
          kMacA6 = mac("02:00:00:00:01:04");
constexpr uint8_t kUpNeigh = LBD_REAL_F_UP | LBD_REAL_F_NEIGH;
constexpr uint32_t kRingSize = 13;
constexpr uint32_t kInstance = 7;  // the VRRP instance that floats kVip4 and kVip6

uint64_t coarse_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

lbd_vip_meta meta(uint32_t id, uint32_t flags = 0) {
    lbd_vip_meta m{};
    m.vip_id = id;
    m.flags = flags;
    m.ring_size = kRingSize;
    m.mode = LBD_MODE_DR;
    return m;
}

void build_world(LbFixture& fx) {
    lbd_iface ifc{};
    std::copy(kLbMac.begin(), kLbMac.end(), ifc.mac);
    ifc.mtu = 1500;
    ASSERT_OK(fx.set_iface(1, ifc));
    ASSERT_OK(fx.set_real(kA, real4(ip4("10.1.0.1"), kMacA, 1, kUpNeigh)));
    ASSERT_OK(fx.set_real(kB, real4(ip4("10.1.0.2"), kMacB, 1, kUpNeigh)));
    ASSERT_OK(fx.set_real(kC, real4(ip4("10.1.0.3"), kMacC, 1, kUpNeigh)));
    ASSERT_OK(fx.set_real(kA6, real6(ip6("fd00:1::1"), kMacA6, 1, kUpNeigh)));
    const std::vector<uint32_t> ring_a(kRingSize, kA);
    ASSERT_OK(fx.add_vip(vip_key4(kVip4, 80, kProtoTcp), meta(kIdTcp)));
    ASSERT_OK(fx.set_ring(kIdTcp, ring_a));
    ASSERT_OK(fx.add_vip(vip_key4(kVip4, 53, kProtoUdp), meta(kIdUdp)));
    ASSERT_OK(fx.set_ring(kIdUdp, ring_a));
    ASSERT_OK(fx.add_vip(vip_key6(kVip6, 80, kProtoTcp), meta(kId6Tcp)));
    ASSERT_OK(fx.set_ring(kId6Tcp, std::vector<uint32_t>(kRingSize, kA6)));
    for (uint32_t id : {kIdLcTcp, kIdLcUdp}) {
        ASSERT_OK(fx.add_vip(vip_key4(kVipLc4, id == kIdLcTcp ? 80 : 53, id == kIdLcTcp ? kProtoTcp : kProtoUdp),
                             meta(id, LBD_VIP_F_LEAST_CONN)));
        ASSERT_OK(fx.set_lc_set(id, {{kA, 1}, {kB, 1}, {kC, 1}}));
    }
}

Eth to_lb() { return {.dst = kLbMac, .src = kClientMac}; }
Eth to_real(const Mac& m) { return {.dst = m, .src = kLbMac}; }

Bytes tcp4(uint32_t src, uint32_t dst, uint16_t sport, uint8_t flags) {
    return ipv4({.src = src, .dst = dst, .id = 1, .df = true},
                Tcp{.sport = sport, .dport = 80, .flags = flags, .payload = pattern(8)});
}
Bytes udp4(uint32_t src, uint32_t dst, uint16_t sport) {
    return ipv4({.src = src, .dst = dst, .id = 2}, Udp{.sport = sport, .dport = 53, .payload = pattern(8)});
}

// Which real's MAC the frame went to (XDP_TX), or nothing.
std::optional<uint32_t> sent_to(LbFixture& fx, const Bytes& l3) {
    RunResult r = fx.run(eth(to_lb(), l3));
    if (r.verdict != XDP_TX) return std::nullopt;
    for (auto [real, m] : {std::pair{kA, kMacA}, {kB, kMacB}, {kC, kMacC}})
        if (r.out == eth(to_real(m), l3)) return real;
    return std::nullopt;
}

class Flows : public LbBpfWorld<build_world> {};

// A SYN is forwarded by the ring and leaves no entry, so spoofed SYNs cannot
// take the table's room; the handshake's ACK makes the entry.
TEST_F(Flows, SynMakesNoEntryAckDoes) {
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVip4, 40000, kTcpSyn)), kA);
    EXPECT_EQ(fx->flow_count(), 0u);
    EXPECT_EQ(fx->flow_events(LBD_FE_SYN_UNTRACKED), 1u);
    EXPECT_EQ(fx->vip_counters(kIdTcp).new_flows, 0u) << "a SYN alone is no flow yet";
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVip4, 40000, kTcpAck)), kA);
    auto f = fx->flow(flow_key4(kClient4, kVip4, 40000, 80, kProtoTcp));
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->real, kA);
    EXPECT_EQ(fx->flow_events(LBD_FE_INSERTED), 1u);
    EXPECT_EQ(fx->vip_counters(kIdTcp).new_flows, 1u);
}

// A SYN flood from a thousand sources leaves every established entry where
// it was, and the flows keep their real after the ring changes.
TEST_F(Flows, SynFloodKeepsEstablishedFlows) {
    for (uint16_t port = 1000; port < 1010; ++port)
        ASSERT_EQ(sent_to(*fx, tcp4(kClient4, kVip4, port, kTcpAck)), kA);
    ASSERT_EQ(fx->flow_count(), 10u);
    for (uint32_t i = 0; i < 1000; ++i)
        ASSERT_TRUE(sent_to(*fx, tcp4(ip4("203.0.113.0") + htonl(i), kVip4, static_cast<uint16_t>(i), kTcpSyn)));
    EXPECT_EQ(fx->flow_count(), 10u);
    ASSERT_OK(fx->set_ring(kIdTcp, std::vector<uint32_t>(kRingSize, kB)));
    for (uint16_t port = 1000; port < 1010; ++port)
        EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVip4, port, kTcpAck)), kA) << port;
}

// TCP and UDP flows live in tables of their own: UDP fills only UDP's.
TEST_F(Flows, UdpHasItsOwnTable) {
    LbOptions small;
    small.conntrack_entries = 64;
    LbFixture tiny(small);
    ASSERT_OK(tiny.status());
    ASSERT_NO_FATAL_FAILURE(build_world(tiny));
    ASSERT_EQ(sent_to(tiny, tcp4(kClient4, kVip4, 40000, kTcpAck)), kA);
    for (uint32_t i = 0; i < 2000; ++i)
        ASSERT_TRUE(sent_to(tiny, udp4(ip4("203.0.113.0") + htonl(i), kVip4, 5000)));
    EXPECT_TRUE(tiny.flow(flow_key4(kClient4, kVip4, 40000, 80, kProtoTcp)).has_value())
        << "a UDP flood evicted a TCP flow";
    EXPECT_TRUE(tiny.flow(flow_key4(ip4("203.0.113.0") + htonl(1999), kVip4, 5000, 53, kProtoUdp)).has_value());
}

// Above the guard's rate a new flow is forwarded by the ring, without an
// entry; the guard counts it.
TEST_F(Flows, GuardLimitsNewEntries) {
    fx->set_guard_rate(3);
    uint32_t forwarded = 0;
    for (uint16_t port = 2000; port < 2010; ++port)
        forwarded += sent_to(*fx, udp4(kClient4, kVip4, port)) == kA;
    EXPECT_EQ(forwarded, 10u);
    // The test runs on one CPU; a second boundary in the middle allows 3 more.
    EXPECT_GE(fx->flow_count(), 3u);
    EXPECT_LE(fx->flow_count(), 6u);
    EXPECT_EQ(fx->flow_events(LBD_FE_INSERTED) + fx->flow_events(LBD_FE_GUARDED), 10u);
    EXPECT_GE(fx->flow_events(LBD_FE_GUARDED), 4u);
    fx->set_guard_rate(0);
    EXPECT_EQ(sent_to(*fx, udp4(kClient4, kVip4, 2010)), kA);
    EXPECT_TRUE(fx->flow(flow_key4(kClient4, kVip4, 2010, 53, kProtoUdp)).has_value());
}

// A known flow's packets need no new entry: the guard does not stop them.
TEST_F(Flows, GuardLeavesKnownFlowsAlone) {
    ASSERT_EQ(sent_to(*fx, tcp4(kClient4, kVip4, 40000, kTcpAck)), kA);
    fx->set_guard_rate(1);
    for (uint16_t port = 3000; port < 3005; ++port)
        ASSERT_EQ(sent_to(*fx, udp4(kClient4, kVip4, port)), kA);
    ASSERT_OK(fx->set_ring(kIdTcp, std::vector<uint32_t>(kRingSize, kB)));
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVip4, 40000, kTcpAck)), kA);
}

// lc: a new flow goes to the real with the fewest active flows.
TEST_F(Flows, LeastConnectionPicksFewest) {
    ASSERT_OK(fx->set_real_conns(kA, 50));
    ASSERT_OK(fx->set_real_conns(kB, 1));
    ASSERT_OK(fx->set_real_conns(kC, 20));
    for (uint16_t port = 100; port < 110; ++port)
        EXPECT_EQ(sent_to(*fx, udp4(kClient4, kVipLc4, port)), kB) << port;
    EXPECT_EQ(fx->real_conns(kB), 11) << "each new flow counted";
    ASSERT_OK(fx->set_real_conns(kC, 5));
    EXPECT_EQ(sent_to(*fx, udp4(kClient4, kVipLc4, 110)), kC);
    EXPECT_EQ(sent_to(*fx, udp4(kClient4, kVipLc4, 100)), kB) << "a known flow stays";
}

// wlc: flows relative to weight, as IPVS compares them.
TEST_F(Flows, WeightedLeastConnection) {
    ASSERT_OK(fx->set_lc_set(kIdLcUdp, {{kA, 4}, {kB, 1}, {kC, 0}}));
    ASSERT_OK(fx->set_real_conns(kA, 7));  // 7/4 < 2/1
    ASSERT_OK(fx->set_real_conns(kB, 2));
    EXPECT_EQ(sent_to(*fx, udp4(kClient4, kVipLc4, 100)), kA);
    ASSERT_OK(fx->set_real_conns(kA, 9));  // 9/4 > 2/1
    EXPECT_EQ(sent_to(*fx, udp4(kClient4, kVipLc4, 101)), kB);
    ASSERT_OK(fx->set_lc_set(kIdLcUdp, {}));
    RunResult r = fx->run(eth(to_lb(), udp4(kClient4, kVipLc4, 102)));
    EXPECT_EQ(r.verdict, XDP_DROP);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_NO_REAL], 1u);
}

// lc over TCP: the SYN's pick holds for the handshake (and a retransmitted
// SYN) even when the counts change meanwhile; the connection counts from its
// ACK until the client's FIN, and keeps its real after that.
TEST_F(Flows, LeastConnectionHandshakeAndClose) {
    ASSERT_OK(fx->set_real_conns(kA, 3));
    ASSERT_OK(fx->set_real_conns(kB, 0));
    ASSERT_OK(fx->set_real_conns(kC, 3));
    ASSERT_EQ(sent_to(*fx, tcp4(kClient4, kVipLc4, 40000, kTcpSyn)), kB);
    EXPECT_TRUE(fx->half_open(flow_key4(kClient4, kVipLc4, 40000, 80, kProtoTcp)).has_value());
    EXPECT_EQ(fx->real_conns(kB), 0) << "a SYN is not an active flow";
    ASSERT_OK(fx->set_real_conns(kB, 9));
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVipLc4, 40000, kTcpSyn)), kB) << "a retransmitted SYN";
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVipLc4, 40000, kTcpAck)), kB);
    EXPECT_EQ(fx->real_conns(kB), 10);
    auto f = fx->flow(flow_key4(kClient4, kVipLc4, 40000, 80, kProtoTcp));
    ASSERT_TRUE(f.has_value());
    EXPECT_TRUE(f->flags & LBD_FLOW_F_COUNTED);
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVipLc4, 40000, kTcpAck | kTcpFin)), kB);
    EXPECT_EQ(fx->real_conns(kB), 9);
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVipLc4, 40000, kTcpRst)), kB);
    EXPECT_EQ(fx->real_conns(kB), 9) << "uncounted once only";
    EXPECT_EQ(fx->flow_events(LBD_FE_CLOSED), 1u);
}

// A real that went down since a SYN's pick is not where its handshake goes.
TEST_F(Flows, LeastConnectionHalfOpenRealDown) {
    ASSERT_OK(fx->set_real_conns(kA, 1));
    ASSERT_OK(fx->set_real_conns(kC, 1));
    ASSERT_EQ(sent_to(*fx, tcp4(kClient4, kVipLc4, 40000, kTcpSyn)), kB);
    ASSERT_OK(fx->set_real(kB, real4(ip4("10.1.0.2"), kMacB, 1, LBD_REAL_F_NEIGH)));
    ASSERT_OK(fx->set_lc_set(kIdLcTcp, {{kA, 1}, {kC, 1}}));
    auto to = sent_to(*fx, tcp4(kClient4, kVipLc4, 40000, kTcpAck));
    EXPECT_TRUE(to == kA || to == kC);
}

// no_accept (RFC 5798 Accept_Mode false): a master that does not own the
// address drops what reaches the VIP outside a virtual service, and still
// answers neighbour discovery for it.
class NoAccept : public Flows {
protected:
    void SetUp() override {
        Flows::SetUp();
        if (IsSkipped()) return;
        ASSERT_OK(fx->set_fenced(vip_key4(kVip4, 0, 0), kInstance));
        ASSERT_OK(fx->set_fenced(vip_key6(kVip6, 0, 0), kInstance));
    }
    void lease(uint8_t state, uint8_t flags) {
        ASSERT_OK(fx->set_lease(kInstance, coarse_now_ns() + 60'000'000'000ull, state, flags));
    }
    uint32_t verdict(const Bytes& l3) { return fx->run(eth(to_lb(), l3)).verdict; }
    static Bytes ping4() { return ipv4({.src = kClient4, .dst = kVip4}, Icmp{.type = 8, .rest = 0x10001}); }
    static Bytes ssh4() {
        return ipv4({.src = kClient4, .dst = kVip4}, Tcp{.sport = 40000, .dport = 22, .flags = kTcpSyn});
    }
    static Bytes ping6() { return ipv6({.src = kClient6, .dst = kVip6}, Icmp{.type = 128, .rest = 0x10001}); }
    static Bytes ns6() {
        Icmp ns{.type = 135};
        ns.payload.assign(kVip6.begin(), kVip6.end());
        return ipv6({.src = kClient6, .dst = kVip6, .hop_limit = 255}, ns);
    }
};

TEST_F(NoAccept, MasterDropsWhatIsNoServices) {
    lease(LBD_VRRP_MASTER, LBD_LEASE_F_NO_ACCEPT);
    EXPECT_EQ(verdict(ping4()), XDP_DROP);
    EXPECT_EQ(verdict(ssh4()), XDP_DROP);
    EXPECT_EQ(verdict(ping6()), XDP_DROP);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_NO_ACCEPT], 3u);
    EXPECT_EQ(sent_to(*fx, tcp4(kClient4, kVip4, 40000, kTcpSyn)), kA) << "the virtual service is served";
}

TEST_F(NoAccept, NeighbourDiscoveryPasses) {
    lease(LBD_VRRP_MASTER, LBD_LEASE_F_NO_ACCEPT);
    EXPECT_EQ(verdict(ns6()), XDP_PASS);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_NO_ACCEPT], 0u);
}

TEST_F(NoAccept, AcceptModeOrBackupPasses) {
    lease(LBD_VRRP_MASTER, 0);
    EXPECT_EQ(verdict(ping4()), XDP_PASS);
    lease(LBD_VRRP_BACKUP, LBD_LEASE_F_NO_ACCEPT);
    EXPECT_EQ(verdict(ssh4()), XDP_PASS);
    EXPECT_EQ(fx->reasons()[LBD_R_DROP_NO_ACCEPT], 0u);
}

}  // namespace
}  // namespace lbd::test
