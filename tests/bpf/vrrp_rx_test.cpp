// VRRP adverts through the lb program (bpf/lib/vrrp_rx.h), run with
// BPF_PROG_TEST_RUN. Each row: a frame, the verdict, the one VRRP reason
// counter that must move (or, for what is not VRRP, the lb reason), and
// whether the advert reaches the ring buffer, where its bytes must equal the
// IP packet. Valid adverts come from userspace/vrrp/packet.h (checked
// against keepalived's captures); the rows damage them one field at a time.
// Instances are written by vrrp::XdpChannel, as the daemon writes them.
#include "frame.h"
#include "lb_fixture.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <ostream>

#include "lb.skel.h"
#include "vrrp/packet.h"
#include "vrrp_frames.h"
#include "vrrp/xdp_channel.h"

namespace lbd::test {
namespace {

using vrrp::Advert;
using vrrp::ChannelInstance;
using vrrp::XdpChannel;

#define ASSERT_OK(expr)                                     \
    do {                                                    \
        const Status st_ = (expr);                          \
        ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.what; \
    } while (0)

IpAddr addr(const char* text) { return *IpAddr::parse(text); }

const IpAddr kPeer4 = addr("10.0.0.2");
const IpAddr kSelf4 = addr("10.0.0.1");
const IpAddr kStranger4 = addr("10.0.0.9");
const IpAddr kPeer6 = addr("fe80::2");
const IpAddr kGroup4 = vrrp::vrrp_group(AF_INET);
const IpAddr kGroup6 = vrrp::vrrp_group(AF_INET6);
const Mac kPeerMac = mac("02:00:00:00:00:02");
const Mac kLbMac = mac("02:00:00:00:00:aa");
constexpr int kLo = 1;  // ingress of BPF_PROG_TEST_RUN without a context

Advert advert(int version, uint8_t vrid, int family, std::vector<IpAddr> addresses) {
    Advert a;
    a.version = version;
    a.vrid = vrid;
    a.family = family;
    a.addresses = std::move(addresses);
    return a;
}

Advert with_pass(Advert a, std::string pass) {
    a.auth_type = vrrp::kAuthPass;
    a.auth_pass = std::move(pass);
    return a;
}

// The instances of every row, on lo.
enum InstanceId : uint32_t { kIdV3 = 1, kIdV2Pass, kIdV3v6, kIdUnicast, kIdV2None, kIdElsewhere };
const Advert kV3 = advert(3, 51, AF_INET, {addr("192.0.2.100")});
const Advert kV2Pass = with_pass(advert(2, 52, AF_INET, {addr("192.0.2.101")}), "secret");
const Advert kV3v6 = advert(3, 53, AF_INET6, {addr("2001:db8:100::1")});
const Advert kUnicast = advert(3, 54, AF_INET, {addr("192.0.2.102")});
const Advert kV2None = advert(2, 55, AF_INET, {addr("192.0.2.103")});
const Advert kElsewhere = advert(3, 56, AF_INET, {addr("192.0.2.104")});  // on ifindex 7

vrrp::ChannelMaps handles(lbd_lb* skel) {
    return {bpf_map__fd(skel->maps.vrrp_rx),     bpf_map__fd(skel->maps.vrrp_peers),
            bpf_map__fd(skel->maps.vrrp_tx),     bpf_map__fd(skel->maps.vrrp_events),
            bpf_map__fd(skel->maps.vrrp_rx_stats), bpf_program__fd(skel->progs.lbd_vrrp_tx)};
}

ChannelInstance instance(uint32_t id, const Advert& a, int ifindex = kLo) {
    ChannelInstance c;
    c.id = id;
    c.ifindex = ifindex;
    c.advert = a;
    c.src = a.family == AF_INET ? kSelf4 : addr("fe80::1");
    c.src_mac = kLbMac;
    c.announce_mac = kLbMac;
    return c;
}

void configure_world(XdpChannel& ch) {
    ch.configure(instance(kIdV3, kV3));
    ch.configure(instance(kIdV2Pass, kV2Pass));
    ch.configure(instance(kIdV3v6, kV3v6));
    ChannelInstance unicast = instance(kIdUnicast, kUnicast);
    unicast.unicast_peers = {kPeer4};
    ch.configure(unicast);
    ch.configure(instance(kIdV2None, kV2None));
    ch.configure(instance(kIdElsewhere, kElsewhere, 7));
}

// ------------------------------------------------------- building datagrams

Bytes packet(const Advert& a, const IpAddr& src, const IpAddr& dst) {
    std::vector<uint8_t> p = vrrp::build_packet(a, src, dst);
    if (p.empty()) throw std::invalid_argument("packet.h cannot encode the advert");
    return Bytes(p.begin(), p.end());
}

// From a peer to the group of the advert's family.
Bytes packet(const Advert& a) {
    return a.family == AF_INET ? packet(a, kPeer4, kGroup4) : packet(a, kPeer6, kGroup6);
}

bool is_v4(const Bytes& p) { return p[0] >> 4 == 4; }
size_t ip_hlen(const Bytes& p) { return is_v4(p) ? (p[0] & 0x0f) * 4u : 40u; }

void set16(Bytes& b, size_t at, uint16_t v) {
    b[at] = static_cast<uint8_t>(v >> 8);
    b[at + 1] = static_cast<uint8_t>(v);
}

void fix_ip_checksum(Bytes& p) {
    if (!is_v4(p)) return;
    set16(p, 10, 0);
    set16(p, 10, csum_fold(csum_add(0, p.data(), ip_hlen(p))));
}

// Recomputes the VRRP checksum the way packet.h does for the message's own
// version: after a damage, only the damaged field is wrong.
void fix_vrrp_checksum(Bytes& p) {
    const size_t h = ip_hlen(p);
    IpAddr src, dst;
    src.family = dst.family = is_v4(p) ? AF_INET : AF_INET6;
    const size_t alen = is_v4(p) ? 4 : 16;
    std::memcpy(src.bytes.data(), &p[is_v4(p) ? 12 : 8], alen);
    std::memcpy(dst.bytes.data(), &p[is_v4(p) ? 16 : 24], alen);
    std::span<const uint8_t> msg(p.data() + h, p.size() - h);
    set16(p, h + 6, vrrp::compute_checksum(msg, p[h] >> 4, src, dst));
}

void fix_ip_length(Bytes& p) {
    if (is_v4(p))
        set16(p, 2, static_cast<uint16_t>(p.size()));
    else
        set16(p, 4, static_cast<uint16_t>(p.size() - 40));
    fix_ip_checksum(p);
}

// A valid advert with one thing changed by `damage` (offsets from the VRRP
// header), the checksums then made right again unless the damage is to them.
Bytes damaged(Bytes p, const std::function<void(Bytes&, size_t)>& damage, bool fix = true) {
    damage(p, ip_hlen(p));
    fix_ip_length(p);
    if (fix) fix_vrrp_checksum(p);
    return p;
}

// An IPv4 header change (TTL, fragment bits), header checksum redone.
Bytes with_ip4(Bytes p, const std::function<void(Bytes&)>& change) {
    change(p);
    fix_ip_checksum(p);
    return p;
}

Bytes framed(const Bytes& p, std::optional<uint16_t> vlan = std::nullopt) {
    return eth(Eth{.dst = vrrp::multicast_mac(is_v4(p) ? kGroup4 : kGroup6), .src = kPeerMac, .vlan = vlan}, p);
}

// -------------------------------------------------------------------- rows

struct Row {
    std::string name;
    Bytes frame;
    uint32_t verdict;
    std::optional<lbd_vrrp_reason> vrrp_reason;  // nullopt: not VRRP, counted by lb
    lbd_reason lb_reason = LBD_R_PASS_NOT_L4;
    std::optional<uint32_t> queued_for;  // instance whose event must carry `packet`
    Bytes packet = {};
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

Row queued(std::string name, const Bytes& p, uint32_t id) {
    return {std::move(name), framed(p), XDP_PASS, LBD_VR_RX_QUEUED, {}, id, p};
}
Row passed(std::string name, Bytes frame, lbd_vrrp_reason reason) {
    return {std::move(name), std::move(frame), XDP_PASS, reason, {}, std::nullopt};
}
Row dropped(std::string name, const Bytes& p, lbd_vrrp_reason reason) {
    return {std::move(name), framed(p), XDP_DROP, reason, {}, std::nullopt};
}
Row not_vrrp(std::string name, Bytes frame, lbd_reason reason) {
    return {std::move(name), std::move(frame), XDP_PASS, std::nullopt, reason, std::nullopt};
}

Advert with_priority(Advert a, uint8_t priority) {
    a.priority = priority;
    return a;
}

void add_valid_rows(std::vector<Row>& rows) {
    rows.push_back(queued("v3_ipv4", packet(with_priority(kV3, 120)), kIdV3));
    rows.push_back(queued("v2_pass", packet(kV2Pass), kIdV2Pass));
    rows.push_back(queued("v2_no_auth", packet(kV2None), kIdV2None));
    rows.push_back(queued("v3_ipv6", packet(kV3v6), kIdV3v6));
    rows.push_back(queued("unicast_from_peer", packet(kUnicast, kPeer4, kSelf4), kIdUnicast));
    rows.push_back(queued("priority_0", packet(with_priority(kV3, 0)), kIdV3));
    // keepalived sends an instance without virtual addresses with count 0.
    rows.push_back(queued("v3_no_addresses", packet(advert(3, 51, AF_INET, {})), kIdV3));
    rows.push_back(queued("v3_several_addresses",
                          packet(advert(3, 51, AF_INET, {addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3")})),
                          kIdV3));
    // RFC 5798 5.2.7: the 4 reserved bits are ignored on receipt.
    rows.push_back(queued("v3_reserved_interval_bits",
                          damaged(packet(kV3), [](Bytes& p, size_t v) { p[v + 4] |= 0xf0; }), kIdV3));
    Row vlan = queued("vlan_tagged", packet(kV3), kIdV3);
    vlan.frame = framed(vlan.packet, 100);
    rows.push_back(vlan);
    // The event carries the IP packet, not the Ethernet padding after it.
    Row padded = queued("ethernet_padding", packet(kV3), kIdV3);
    padded.frame.resize(60, 0);
    rows.push_back(padded);
}

void add_pass_rows(std::vector<Row>& rows) {
    rows.push_back(passed("unknown_vrid", framed(packet(advert(3, 99, AF_INET, {}))), LBD_VR_PASS_UNKNOWN_VRID));
    // VRID 53 is an IPv6 instance; 56 lives on another interface.
    rows.push_back(passed("vrid_of_other_family", framed(packet(advert(3, 53, AF_INET, {}))),
                          LBD_VR_PASS_UNKNOWN_VRID));
    rows.push_back(passed("vrid_on_other_interface", framed(packet(kElsewhere)), LBD_VR_PASS_UNKNOWN_VRID));
    Bytes cut = ipv4({.src = ip4("10.0.0.2"), .dst = ip4("224.0.0.18"), .ttl = 255},
                     Raw{vrrp::kIpProtoVrrp, {0x31, 51, 100, 0}});
    rows.push_back(passed("vrrp_header_cut", framed(cut), LBD_VR_PASS_TRUNCATED));
    Bytes later = with_ip4(packet(kV3), [](Bytes& p) { p[7] = 1; });  // fragment offset 8
    rows.push_back(passed("later_fragment", framed(later), LBD_VR_PASS_FRAGMENT));
    std::vector<IpAddr> many;
    for (int i = 0; i < 95; ++i) many.push_back(addr(("2001:db8:200::" + std::to_string(i + 1)).c_str()));
    rows.push_back(passed("longer_than_an_event", framed(packet(advert(3, 53, AF_INET6, many))),
                          LBD_VR_PASS_TOO_LONG));

    Bytes proto113 = with_ip4(packet(kV3), [](Bytes& p) { p[9] = 113; });
    rows.push_back(not_vrrp("protocol_113", framed(proto113), LBD_R_PASS_NOT_L4));
    const Bytes v6 = packet(kV3v6);
    Bytes ext = ipv6({.src = ip6("fe80::2"), .dst = ip6("ff02::12"), .hop_limit = 255, .ext = {hop_by_hop()}},
                     Raw{vrrp::kIpProtoVrrp, Bytes(v6.begin() + 40, v6.end())});
    rows.push_back(not_vrrp("ipv6_behind_extension_header", framed(ext), LBD_R_PASS_IPV6_EXT));
}

void add_drop_rows(std::vector<Row>& rows) {
    rows.push_back(dropped("first_fragment", with_ip4(packet(kV3), [](Bytes& p) { p[6] |= 0x20; }),
                           LBD_VR_DROP_FRAGMENT));
    Bytes bad_csum = packet(kV3);
    bad_csum[11] ^= 0xff;
    rows.push_back(dropped("bad_ip_checksum", bad_csum, LBD_VR_DROP_BAD_IP_HEADER));
    rows.push_back(dropped("ttl_64", with_ip4(packet(kV3), [](Bytes& p) { p[8] = 64; }), LBD_VR_DROP_BAD_TTL));
    Bytes hop1 = packet(kV3v6);
    hop1[7] = 1;
    rows.push_back(dropped("hop_limit_1", hop1, LBD_VR_DROP_BAD_TTL));

    rows.push_back(dropped("v2_to_v3_instance", packet(advert(2, 51, AF_INET, {addr("192.0.2.100")})),
                           LBD_VR_DROP_BAD_VERSION));
    rows.push_back(dropped("v3_to_v2_instance", packet(advert(3, 52, AF_INET, {addr("192.0.2.101")})),
                           LBD_VR_DROP_BAD_VERSION));
    rows.push_back(dropped("version_4", damaged(packet(kV3), [](Bytes& p, size_t v) { p[v] = 0x41; }),
                           LBD_VR_DROP_BAD_VERSION));
    rows.push_back(dropped("v2_over_ipv6", damaged(packet(kV3v6), [](Bytes& p, size_t v) { p[v] = 0x21; }),
                           LBD_VR_DROP_BAD_VERSION));
    rows.push_back(dropped("type_2", damaged(packet(kV3), [](Bytes& p, size_t v) { p[v] = 0x32; }),
                           LBD_VR_DROP_BAD_TYPE));

    rows.push_back(dropped("count_past_the_end", damaged(packet(kV3), [](Bytes& p, size_t v) { p[v + 3] = 2; }),
                           LBD_VR_DROP_BAD_ADDRESS_COUNT));
    rows.push_back(dropped("v2_without_auth_data",
                           damaged(packet(kV2None), [](Bytes& p, size_t) { p.resize(p.size() - 8); }),
                           LBD_VR_DROP_BAD_ADDRESS_COUNT));
    rows.push_back(dropped("bytes_after_the_message",
                           damaged(packet(kV3), [](Bytes& p, size_t) { p.insert(p.end(), 4, 0); }),
                           LBD_VR_DROP_BAD_LENGTH));

    auto flip_checksum = [](Bytes& p, size_t v) { p[v + 7] ^= 0x01; };
    rows.push_back(dropped("bad_checksum_v3_ipv4", damaged(packet(kV3), flip_checksum, false),
                           LBD_VR_DROP_BAD_CHECKSUM));
    rows.push_back(dropped("bad_checksum_v3_ipv6", damaged(packet(kV3v6), flip_checksum, false),
                           LBD_VR_DROP_BAD_CHECKSUM));
    rows.push_back(dropped("bad_checksum_v2", damaged(packet(kV2Pass), flip_checksum, false),
                           LBD_VR_DROP_BAD_CHECKSUM));
    // v3 sums the pseudo-header too (RFC 5798 5.2.8): a v2-style sum is wrong.
    Bytes no_pseudo = packet(kV3);
    {
        Bytes v2style = damaged(packet(kV3), [](Bytes& p, size_t v) { p[v] = 0x21; });
        const size_t v = ip_hlen(no_pseudo);
        no_pseudo[v + 6] = v2style[v + 6];
        no_pseudo[v + 7] = v2style[v + 7];
    }
    rows.push_back(dropped("v3_checksum_without_pseudo_header", no_pseudo, LBD_VR_DROP_BAD_CHECKSUM));

    rows.push_back(dropped("v3_interval_0", damaged(packet(kV3), [](Bytes& p, size_t v) { p[v + 4] = 0; p[v + 5] = 0; }),
                           LBD_VR_DROP_BAD_INTERVAL));
    rows.push_back(dropped("v2_interval_0", damaged(packet(kV2Pass), [](Bytes& p, size_t v) { p[v + 5] = 0; }),
                           LBD_VR_DROP_BAD_INTERVAL));

    rows.push_back(dropped("wrong_password", packet(with_pass(advert(2, 52, AF_INET, {addr("192.0.2.101")}), "secreT")),
                           LBD_VR_DROP_BAD_AUTH));
    rows.push_back(dropped("password_prefix", packet(with_pass(advert(2, 52, AF_INET, {addr("192.0.2.101")}), "secre")),
                           LBD_VR_DROP_BAD_AUTH));
    rows.push_back(dropped("no_auth_to_pass_instance", packet(advert(2, 52, AF_INET, {addr("192.0.2.101")})),
                           LBD_VR_DROP_BAD_AUTH));
    rows.push_back(dropped("pass_to_no_auth_instance",
                           packet(with_pass(advert(2, 55, AF_INET, {addr("192.0.2.103")}), "secret")),
                           LBD_VR_DROP_BAD_AUTH));
    rows.push_back(dropped("unicast_from_stranger", packet(kUnicast, kStranger4, kSelf4), LBD_VR_DROP_UNKNOWN_PEER));
}

const std::vector<Row>& rx_rows() {
    static const std::vector<Row> rows = [] {
        std::vector<Row> r;
        add_valid_rows(r);
        add_pass_rows(r);
        add_drop_rows(r);
        return r;
    }();
    return rows;
}

// ------------------------------------------------------------------ tests

const char* vrrp_reason_name(uint32_t reason) {
#define LBD_VRRP_REASON_NAME(id, name) \
    case id:                           \
        return name;
    switch (reason) { LBD_VRRP_REASONS(LBD_VRRP_REASON_NAME) }
#undef LBD_VRRP_REASON_NAME
    return "?";
}

struct Event {
    int ifindex = 0;
    uint32_t instance_id = 0;
    std::chrono::steady_clock::time_point at;
    Bytes packet;
};

std::vector<Event> drain(XdpChannel& ch) {
    std::vector<Event> out;
    ch.consume([&](const vrrp::RxEvent& e) {
        out.push_back({e.ifindex, e.instance_id, e.at, Bytes(e.packet.begin(), e.packet.end())});
    });
    return out;
}

class VrrpRx : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why = bpf_skip_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        ASSERT_OK(enter_test_netns());
        ASSERT_OK(fx_.status());
        channel_.emplace(handles(fx_.skeleton()));
        configure_world(*channel_);
    }

    LbFixture fx_;
    std::optional<XdpChannel> channel_;
};

class VrrpRxRows : public VrrpRx, public ::testing::WithParamInterface<Row> {};

TEST_P(VrrpRxRows, Frame) {
    const Row& row = GetParam();
    XdpChannel& ch = *channel_;
    auto vrrp_before = ch.reasons();
    ReasonCounts lb_before = fx_.reasons();
    auto t0 = std::chrono::steady_clock::now();
    RunResult r = fx_.run(row.frame);
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_EQ(r.err, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, row.verdict) << xdp_verdict_name(r.verdict) << ", expected "
                                      << xdp_verdict_name(row.verdict);
    if (row.verdict == XDP_PASS) {
        EXPECT_TRUE(r.out == row.frame) << diff(row.frame, r.out);
    }

    auto vrrp_after = ch.reasons();
    for (uint32_t i = 0; i < LBD_VRRP_REASON_MAX; ++i)
        EXPECT_EQ(vrrp_after[i] - vrrp_before[i], row.vrrp_reason == i ? 1u : 0u)
            << "VRRP reason " << vrrp_reason_name(i);
    ReasonCounts lb_after = fx_.reasons();
    for (uint32_t i = 0; i < LBD_REASON_MAX; ++i)
        EXPECT_EQ(lb_after[i] - lb_before[i], !row.vrrp_reason && row.lb_reason == i ? 1u : 0u)
            << "lb reason " << reason_name(i);

    std::vector<Event> events = drain(ch);
    if (!row.queued_for) {
        EXPECT_TRUE(events.empty()) << events.size() << " events queued";
        return;
    }
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].ifindex, kLo);
    EXPECT_EQ(events[0].instance_id, *row.queued_for);
    EXPECT_TRUE(events[0].packet == row.packet) << diff(row.packet, events[0].packet);
    EXPECT_GE(events[0].at, t0);
    EXPECT_LE(events[0].at, t1);
}

INSTANTIATE_TEST_SUITE_P(Rows, VrrpRxRows, ::testing::ValuesIn(rx_rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

// The decoder the engine runs on an event accepts what the program queued.
TEST_F(VrrpRx, QueuedAdvertDecodes) {
    ASSERT_EQ(fx_.run(framed(packet(kV2Pass))).verdict, XDP_PASS);
    std::vector<Event> events = drain(*channel_);
    ASSERT_EQ(events.size(), 1u);
    auto decoded = vrrp::decode_packet(events[0].packet, "secret");
    ASSERT_TRUE(std::holds_alternative<vrrp::Received>(decoded))
        << vrrp::to_string(std::get<vrrp::Reject>(decoded));
    EXPECT_EQ(std::get<vrrp::Received>(decoded).advert, kV2Pass);
}

// A full ring loses adverts, never other traffic: they are counted and
// passed, and the ring takes adverts again once drained.
TEST_F(VrrpRx, RingFullPassesAndCounts) {
    const Bytes frame = framed(packet(kV3));
    size_t sent = 0;
    while (channel_->reasons()[LBD_VR_PASS_RING_FULL] == 0 && sent < 4096) {
        ASSERT_EQ(fx_.run(frame).verdict, XDP_PASS);
        ++sent;
    }
    auto counts = channel_->reasons();
    ASSERT_EQ(counts[LBD_VR_PASS_RING_FULL], 1u) << "the ring never filled after " << sent << " adverts";
    EXPECT_EQ(counts[LBD_VR_RX_QUEUED], sent - 1);
    EXPECT_EQ(drain(*channel_).size(), sent - 1);
    ASSERT_EQ(fx_.run(frame).verdict, XDP_PASS);
    EXPECT_EQ(drain(*channel_).size(), 1u);
}

// An exception from the engine's callback reaches consume()'s caller, and
// the events after it stay queued.
TEST_F(VrrpRx, CallbackExceptionPropagates) {
    const Bytes frame = framed(packet(kV3));
    ASSERT_EQ(fx_.run(frame).verdict, XDP_PASS);
    ASSERT_EQ(fx_.run(frame).verdict, XDP_PASS);
    EXPECT_THROW(channel_->consume([](const vrrp::RxEvent&) { throw std::runtime_error("engine"); }),
                 std::runtime_error);
    EXPECT_EQ(drain(*channel_).size(), 1u);
}

// Removing an instance hands its VRID back to whoever else runs it here.
TEST_F(VrrpRx, RemovedInstanceIsNotOurs) {
    channel_->remove(kIdV3);
    RunResult r = fx_.run(framed(packet(kV3)));
    EXPECT_EQ(r.verdict, XDP_PASS);
    EXPECT_EQ(channel_->reasons()[LBD_VR_PASS_UNKNOWN_VRID], 1u);
    EXPECT_TRUE(drain(*channel_).empty());
}

// Reconfiguring moves the rx entry: the old VRID is no longer ours, the new
// one is, and peers follow the instance.
TEST_F(VrrpRx, ReconfigureReplaces) {
    ChannelInstance moved = instance(kIdUnicast, advert(3, 60, AF_INET, {addr("192.0.2.102")}));
    moved.unicast_peers = {kStranger4};
    channel_->configure(moved);
    EXPECT_EQ(fx_.run(framed(packet(kUnicast, kPeer4, kSelf4))).verdict, XDP_PASS);
    EXPECT_EQ(channel_->reasons()[LBD_VR_PASS_UNKNOWN_VRID], 1u);
    EXPECT_EQ(fx_.run(framed(packet(moved.advert, kPeer4, kSelf4))).verdict, XDP_DROP);
    EXPECT_EQ(channel_->reasons()[LBD_VR_DROP_UNKNOWN_PEER], 1u);
    EXPECT_EQ(fx_.run(framed(packet(moved.advert, kStranger4, kSelf4))).verdict, XDP_PASS);
    EXPECT_EQ(drain(*channel_).size(), 1u);
}

TEST_F(VrrpRx, SameVridTwiceIsRefused) {
    EXPECT_THROW(channel_->configure(instance(40, kV3)), std::invalid_argument);
    // The same VRID on another family or interface is another router.
    EXPECT_NO_THROW(channel_->configure(instance(41, advert(3, 51, AF_INET6, {}))));
    EXPECT_NO_THROW(channel_->configure(instance(42, kV3, 9)));
}

TEST_F(VrrpRx, InvalidInstancesAreRefused) {
    EXPECT_THROW(channel_->configure(instance(LBD_VRRP_MAX_INSTANCES, advert(3, 70, AF_INET, {}))),
                 std::invalid_argument);
    std::vector<IpAddr> too_many;
    for (int i = 0; i <= LBD_VRRP_MAX_ADDRS; ++i)
        too_many.push_back(addr(("192.0.2." + std::to_string(i + 1)).c_str()));
    EXPECT_THROW(channel_->configure(instance(43, advert(3, 71, AF_INET, too_many))), std::invalid_argument);
    EXPECT_THROW(channel_->configure(instance(44, advert(2, 72, AF_INET6, {}))), std::invalid_argument);
    ChannelInstance wrong_src = instance(45, advert(3, 73, AF_INET, {}));
    wrong_src.src = kPeer6;
    EXPECT_THROW(channel_->configure(wrong_src), std::invalid_argument);
}

}  // namespace
}  // namespace lbd::test
