// Packet fixtures for the decap tc program (bpf/decap.bpf.c), run through
// BPF_PROG_TEST_RUN with a full Ethernet frame as data_in. A packet wrapped
// for a listed address by a listed source (an LB node) comes back as its
// inner datagram behind the same Ethernet header with the inner ethertype;
// one from another source is dropped and counted; anything else comes back
// as it went in.
#include "frame.h"
#include "lb_fixture.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/pkt_cls.h>

#include <cstring>
#include <functional>
#include <ostream>

#include "decap.skel.h"

namespace lbd::test {
namespace {

const Mac kRouterMac = mac("02:00:00:00:00:aa");  // the LB's egress port
const Mac kRealMac = mac("02:00:00:00:01:01");
const uint32_t kLb4 = ip4("10.0.0.1");      // listed in decap_srcs
const Ip6 kLb6 = ip6("fd00::1");            // listed in decap_srcs
const uint32_t kStranger4 = ip4("10.0.0.66");  // not listed
const Ip6 kStranger6 = ip6("fd00::66");        // not listed
const uint32_t kReal4 = ip4("10.1.0.1");      // listed in decap_dsts
const Ip6 kReal6 = ip6("fd00:1::1");          // listed in decap_dsts
const uint32_t kOther4 = ip4("10.1.0.99");    // not listed
const Ip6 kOther6 = ip6("fd00:1::99");        // not listed
const uint32_t kClient4 = ip4("192.0.2.10");
const Ip6 kClient6 = ip6("2001:db8::10");
const uint32_t kVip4 = ip4("198.51.100.2");
const Ip6 kVip6 = ip6("2001:db8:100::2");

#define ASSERT_OK(expr)                                     \
    do {                                                    \
        const Status st_ = (expr);                          \
        ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.what; \
    } while (0)

// Opens and loads the decap skeleton with its pins removed.
class DecapFixture {
public:
    DecapFixture() {
        skel_ = lbd_decap__open();
        if (!skel_) {
            status_ = {-errno, "lbd_decap__open failed"};
            return;
        }
        bpf_map* map;
        bpf_object__for_each_map(map, skel_->obj) {
            if (bpf_map__set_pin_path(map, nullptr)) {
                status_ = {-EINVAL, std::string("unpin ") + bpf_map__name(map)};
                return;
            }
        }
        if (int err = lbd_decap__load(skel_))
            status_ = {err, std::string("lbd_decap__load: ") + std::strerror(-err)};
    }
    ~DecapFixture() { lbd_decap__destroy(skel_); }
    DecapFixture(const DecapFixture&) = delete;
    DecapFixture& operator=(const DecapFixture&) = delete;

    const Status& status() const { return status_; }

    // Outer destinations (decap_dsts) and sources (decap_srcs).
    Status add4(uint32_t addr) { return add(skel_->maps.decap_dsts, key4<lbd_decap_key>(addr)); }
    Status add6(const Ip6& addr) { return add(skel_->maps.decap_dsts, key6<lbd_decap_key>(addr)); }
    Status allow4(uint32_t addr) { return add(skel_->maps.decap_srcs, key4<lbd_decap_src_key>(addr)); }
    Status allow6(const Ip6& addr) { return add(skel_->maps.decap_srcs, key6<lbd_decap_src_key>(addr)); }

    RunResult run(const Bytes& frame) {
        return test_run(bpf_program__fd(skel_->progs.lbd_decap), frame);
    }

    // decap_stats[what] summed over CPUs.
    uint64_t count(uint32_t what) const {
        std::vector<uint64_t> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
        if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.decap_stats), &what, per_cpu.data()))
            return ~0ull;
        uint64_t sum = 0;
        for (uint64_t n : per_cpu) sum += n;
        return sum;
    }

private:
    template <class Key>
    static Key key4(uint32_t addr) {
        Key k{};
        k.addr.v4 = addr;
        k.family = LBD_AF_INET;
        return k;
    }
    template <class Key>
    static Key key6(const Ip6& addr) {
        Key k{};
        std::memcpy(k.addr.bytes, addr.data(), 16);
        k.family = LBD_AF_INET6;
        return k;
    }
    template <class Key>
    static Status add(bpf_map* map, const Key& k) {
        uint32_t one = 1;
        if (bpf_map_update_elem(bpf_map__fd(map), &k, &one, BPF_ANY))
            return {-errno, std::string("update ") + bpf_map__name(map) + ": " + std::strerror(errno)};
        return {};
    }

    lbd_decap* skel_ = nullptr;
    Status status_;
};

Eth to_real() { return {.dst = kRealMac, .src = kRouterMac}; }

Bytes tcp4(uint32_t src, uint32_t dst, size_t payload = 24) {
    return ipv4({.src = src, .dst = dst, .tos = 0x28, .id = 77, .df = true},
                Tcp{.sport = 40000, .dport = 80, .payload = pattern(payload)});
}
Bytes udp4(uint32_t src, uint32_t dst, size_t payload) {
    return ipv4({.src = src, .dst = dst, .id = 78},
                Udp{.sport = 5353, .dport = 53, .payload = pattern(payload)});
}
Bytes tcp6(const Ip6& src, const Ip6& dst, size_t payload = 24) {
    return ipv6({.src = src, .dst = dst, .tclass = 0xb8, .flow_label = 0x12345},
                Tcp{.sport = 40000, .dport = 80, .payload = pattern(payload)});
}
Bytes udp6(const Ip6& src, const Ip6& dst, size_t payload) {
    return ipv6({.src = src, .dst = dst},
                Udp{.sport = 5353, .dport = 53, .payload = pattern(payload)});
}
// The outer headers the lb program writes (see lb_fixtures_test.cpp).
Bytes over4(uint32_t dst, const Bytes& dgram, bool mf = false, Bytes options = {}, uint32_t src = kLb4) {
    return ipv4({.src = src, .dst = dst, .ttl = 64, .df = !mf, .mf = mf, .options = options},
                inner(dgram));
}
Bytes over6(const Ip6& dst, const Bytes& dgram, const Ip6& src = kLb6) {
    return ipv6({.src = src, .dst = dst, .flow_label = 0xabcde, .hop_limit = 64}, inner(dgram));
}

struct DecapRow {
    std::string name;
    Bytes input;
    std::optional<Bytes> output;  // nullopt: unchanged
    uint32_t verdict = TC_ACT_OK;
    std::optional<lbd_decap_counter> counted;  // the decap_stats entry that moves by one
};

void PrintTo(const DecapRow& row, std::ostream* os) { *os << row.name; }

DecapRow unwrapped(std::string name, const Bytes& outer, const Bytes& dgram) {
    return {std::move(name), eth(to_real(), outer), eth(to_real(), dgram), TC_ACT_OK, LBD_DECAP_OK};
}
DecapRow untouched(std::string name, Bytes frame) {
    return {std::move(name), std::move(frame), std::nullopt, TC_ACT_OK, std::nullopt};
}
// Ours, but the inner datagram is shorter than its own IP header: the
// kernel refuses to shrink to less than that, and the program drops it.
DecapRow refused(std::string name, Bytes frame) {
    return {std::move(name), std::move(frame), std::nullopt, TC_ACT_SHOT, LBD_DECAP_FAILED};
}
// A tunnel to this host from no LB node: dropped whole, and counted.
DecapRow stranger(std::string name, Bytes frame) {
    return {std::move(name), std::move(frame), std::nullopt, TC_ACT_SHOT, LBD_DECAP_REFUSED_SRC};
}

std::vector<DecapRow> decap_rows() {
    std::vector<DecapRow> rows;
    Bytes t4 = tcp4(kClient4, kVip4);
    Bytes t6 = tcp6(kClient6, kVip6);

    rows.push_back(unwrapped("ipip", over4(kReal4, t4), t4));
    rows.push_back(unwrapped("ip6ip6", over6(kReal6, t6), t6));
    rows.push_back(unwrapped("sit_6in4", over4(kReal4, t6), t6));
    rows.push_back(unwrapped("ip4in6", over6(kReal6, t4), t4));
    Bytes big = tcp4(kClient4, kVip4, 1400);
    rows.push_back(unwrapped("ipip_full_size", over4(kReal4, big), big));
    // Small inner datagrams: a 28-byte IPv4 UDP header-only datagram is
    // shorter than the 40-byte IPv6 header it arrived in.
    Bytes small4 = udp4(kClient4, kVip4, 0);
    rows.push_back(unwrapped("ipip_small_udp", over4(kReal4, small4), small4));
    rows.push_back(unwrapped("ip4in6_small_udp", over6(kReal6, small4), small4));
    Bytes small6 = udp6(kClient6, kVip6, 0);
    rows.push_back(unwrapped("ip6ip6_small_udp", over6(kReal6, small6), small6));

    rows.push_back(untouched("ipip_unlisted", eth(to_real(), over4(kOther4, t4))));
    rows.push_back(untouched("ip6ip6_unlisted", eth(to_real(), over6(kOther6, t6))));
    // The v4 key and the v6 key of "the same" bits are different addresses.
    rows.push_back(untouched("ipip_to_v6_listed_bits",
                             eth(to_real(), over4(ip4("253.0.0.0"), t4))));
    rows.push_back(untouched("plain_tcp4_to_listed", eth(to_real(), tcp4(kClient4, kReal4))));
    rows.push_back(untouched("plain_tcp6_to_listed", eth(to_real(), tcp6(kClient6, kReal6))));
    rows.push_back(untouched("gre_to_listed",
                             eth(to_real(), ipv4({.src = kLb4, .dst = kReal4},
                                                 Raw{kProtoGre, pattern(40)}))));
    rows.push_back(untouched("arp", eth({.dst = mac("ff:ff:ff:ff:ff:ff"), .src = kRouterMac,
                                         .type = kEthArp},
                                        arp_request(kRouterMac, kLb4, kReal4))));
    // A truncated outer header cannot be shown to a tc program from here
    // (TruncatedOuterHeader below); a truncated inner one can.
    rows.push_back(refused(
        "ipip_empty",
        eth(to_real(), ipv4({.src = kLb4, .dst = kReal4, .df = true}, Raw{kProtoIpip, {}}))));
    rows.push_back(refused("ipip_truncated_inner", eth(to_real(), over4(kReal4, head(t4, 19)))));
    rows.push_back(
        refused("sit_6in4_truncated_inner", eth(to_real(), over4(kReal4, head(t6, 39)))));
    rows.push_back(refused("ip6ip6_truncated_inner", eth(to_real(), over6(kReal6, head(t6, 30)))));
    rows.push_back(refused("ip4in6_truncated_inner", eth(to_real(), over6(kReal6, head(t4, 10)))));
    rows.push_back(stranger("ipip_from_unlisted_source", eth(to_real(), over4(kReal4, t4, false, {}, kStranger4))));
    rows.push_back(stranger("ip6ip6_from_unlisted_source", eth(to_real(), over6(kReal6, t6, kStranger6))));
    rows.push_back(stranger("sit_6in4_from_unlisted_source", eth(to_real(), over4(kReal4, t6, false, {}, kStranger4))));
    rows.push_back(stranger("ip4in6_from_unlisted_source", eth(to_real(), over6(kReal6, t4, kStranger6))));
    // The bits of a listed IPv6 source (fd00::) as an IPv4 source are another address.
    rows.push_back(
        stranger("ipip_from_v6_listed_bits", eth(to_real(), over4(kReal4, t4, false, {}, ip4("253.0.0.0")))));
    // Not to this host: not ours, whoever sent it.
    rows.push_back(untouched("ipip_unlisted_from_unlisted_source",
                             eth(to_real(), over4(kOther4, t4, false, {}, kStranger4))));
    rows.push_back(untouched("outer_ipv4_fragment", eth(to_real(), over4(kReal4, t4, true))));
    rows.push_back(untouched("outer_ipv4_with_options",
                             eth(to_real(), over4(kReal4, t4, false, {1, 1, 1, 0}))));
    // A tagged frame (tc usually sees the tag stripped; if not, not ours).
    rows.push_back(untouched("vlan_tagged_ipip",
                             eth({.dst = kRealMac, .src = kRouterMac, .vlan = 5},
                                 over4(kReal4, t4))));
    return rows;
}

class DecapFixtures : public ::testing::TestWithParam<DecapRow> {
protected:
    void SetUp() override {
        std::string why = bpf_skip_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        ASSERT_OK(enter_test_netns());
    }
};

TEST_P(DecapFixtures, Frame) {
    const DecapRow& row = GetParam();
    DecapFixture fx;
    ASSERT_OK(fx.status());
    ASSERT_OK(fx.add4(kReal4));
    ASSERT_OK(fx.add6(kReal6));
    ASSERT_OK(fx.add6(ip6("fd00::")));  // bits of 253.0.0.0 as a v6 key
    ASSERT_OK(fx.allow4(kLb4));
    ASSERT_OK(fx.allow6(kLb6));
    ASSERT_OK(fx.allow6(ip6("fd00::")));  // bits of 253.0.0.0 as a v6 key

    RunResult r = fx.run(row.input);
    ASSERT_EQ(r.err, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, row.verdict)
        << (r.verdict == TC_ACT_SHOT ? "TC_ACT_SHOT: bpf_skb_adjust_room refused the decap" : "");
    const Bytes& want = row.output ? *row.output : row.input;
    EXPECT_TRUE(r.out == want) << diff(want, r.out);
    for (uint32_t c = 0; c < LBD_DECAP_MAX; ++c)
        EXPECT_EQ(fx.count(c), row.counted && *row.counted == c ? 1u : 0u)
            << "decap_stats[" << c << "]";
}

INSTANTIATE_TEST_SUITE_P(Rows, DecapFixtures, ::testing::ValuesIn(decap_rows()),
                         [](const ::testing::TestParamInfo<DecapRow>& info) {
                             return info.param.name;
                         });

// The kernel builds the skb of BPF_PROG_TEST_RUN only around a complete IPv4
// or IPv6 header (EINVAL otherwise), so the program's own bounds checks on
// the outer header are not reachable from here.
TEST(DecapBpf, TruncatedOuterHeader) {
    std::string why = bpf_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ASSERT_OK(enter_test_netns());
    DecapFixture fx;
    ASSERT_OK(fx.status());
    ASSERT_OK(fx.add4(kReal4));
    ASSERT_OK(fx.allow4(kLb4));
    Bytes frame = head(eth(to_real(), over4(kReal4, tcp4(kClient4, kVip4))), 14 + 10);
    RunResult r = fx.run(frame);
    if (r.err == -EINVAL)
        GTEST_SKIP()
            << "BPF_PROG_TEST_RUN refuses an Ethernet frame with a 10-byte IPv4 "
               "header (EINVAL): the kernel needs the whole header before the program runs";
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, static_cast<uint32_t>(TC_ACT_OK));
    EXPECT_TRUE(r.out == frame) << diff(frame, r.out);
    EXPECT_EQ(fx.count(LBD_DECAP_OK) + fx.count(LBD_DECAP_FAILED) + fx.count(LBD_DECAP_REFUSED_SRC), 0u);
}

}  // namespace
}  // namespace lbd::test
