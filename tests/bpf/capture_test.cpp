// lbctl capture through the lb program (bpf/lib/capture.h) and the daemon's
// reader of it (dataplane::Capture): with a class on, a verdict of that class
// leaves a record holding the frame as it leaves; off, nothing.
#include "frame.h"
#include "lb_fixture.h"
#include "lb_rows.h"

#include "dataplane/capture.h"
#include "lb.skel.h"

#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace lbd::test {
namespace {

const Mac kClientMac = mac("02:00:00:00:00:01");
const Mac kLbMac = mac("02:00:00:00:00:aa");
const Mac kRealMac = mac("02:00:00:00:01:01");
const uint32_t kClient = ip4("192.0.2.10");
const uint32_t kVip = ip4("198.51.100.1");  // tcp:80 to the real; udp:53 with no real up
constexpr uint32_t kRingSize = 13;
constexpr uint32_t kReal = 1;
using Clock = dataplane::Capture::Clock;

lbd_vip_meta meta(uint32_t id) {
    lbd_vip_meta m{};
    m.vip_id = id;
    m.ring_size = kRingSize;
    m.mode = LBD_MODE_DR;
    return m;
}

Bytes to_vip(uint16_t dport, uint8_t proto) {
    const Eth e{.dst = kLbMac, .src = kClientMac};
    if (proto == kProtoUdp)
        return eth(e, ipv4({.src = kClient, .dst = kVip, .id = 2}, Udp{.sport = 4000, .dport = dport, .payload = pattern(8)}));
    return eth(e, ipv4({.src = kClient, .dst = kVip, .id = 1, .df = true},
                       Tcp{.sport = 4000, .dport = dport, .flags = kTcpSyn, .payload = pattern(300)}));
}

class Capture : public LbBpf {
protected:
    void SetUp() override {
        LbBpf::SetUp();
        if (IsSkipped()) return;
        ASSERT_OK(fx.status());
        lbd_iface ifc{};
        std::copy(kLbMac.begin(), kLbMac.end(), ifc.mac);
        ifc.mtu = 1500;
        ASSERT_OK(fx.set_iface(1, ifc));
        ASSERT_OK(fx.set_real(kReal, real4(ip4("10.1.0.1"), kRealMac, 1, LBD_REAL_F_UP | LBD_REAL_F_NEIGH)));
        ASSERT_OK(fx.add_vip(vip_key4(kVip, 80, kProtoTcp), meta(1)));
        ASSERT_OK(fx.set_ring(1, std::vector<uint32_t>(kRingSize, kReal)));
        ASSERT_OK(fx.add_vip(vip_key4(kVip, 53, kProtoUdp), meta(2)));
    }

    // Every record queued in the ring, taken off it.
    std::vector<lbd_capture_record> records() {
        std::vector<lbd_capture_record> out;
        ring_buffer* rb = ring_buffer__new(
            bpf_map__fd(fx.skeleton()->maps.capture),
            [](void* ctx, void* data, size_t size) {
                lbd_capture_record r{};
                std::memcpy(&r, data, std::min(size, sizeof(r)));
                static_cast<std::vector<lbd_capture_record>*>(ctx)->push_back(r);
                return 0;
            },
            &out, nullptr);
        EXPECT_NE(rb, nullptr);
        if (rb) ring_buffer__consume(rb);
        ring_buffer__free(rb);
        return out;
    }

    void capture(uint32_t classes, uint32_t snaplen) {
        fx.skeleton()->bss->capture_snaplen = snaplen;
        fx.skeleton()->bss->capture_classes = classes;
    }

    LbFixture fx;
};

TEST_F(Capture, ForwardedFrameIsRecordedAsItLeaves) {
    capture(LBD_CAPTURE_FORWARDED, LBD_CAPTURE_SNAP_MAX);
    const Bytes in = to_vip(80, kProtoTcp);
    const RunResult r = fx.run(in);
    ASSERT_EQ(r.verdict, XDP_TX);
    const auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    const auto& rec = recs[0];
    EXPECT_EQ(rec.cls, LBD_CAPTURE_FORWARDED);
    EXPECT_EQ(rec.verdict, XDP_TX);
    EXPECT_EQ(rec.reason, LBD_R_FWD_TX);
    EXPECT_EQ(rec.len, in.size());
    EXPECT_EQ(rec.ifindex, 1u);
    ASSERT_EQ(rec.cap_len, LBD_CAPTURE_SNAP_MAX);
    ASSERT_GT(in.size(), size_t{LBD_CAPTURE_SNAP_MAX});
    // The rewritten frame: to the real's MAC, from the LB's.
    EXPECT_EQ(Bytes(rec.data, rec.data + rec.cap_len), head(r.out, LBD_CAPTURE_SNAP_MAX));
    EXPECT_EQ(Bytes(rec.data, rec.data + 6), Bytes(kRealMac.begin(), kRealMac.end()));
}

TEST_F(Capture, SnapLengthCutsTheCopy) {
    capture(LBD_CAPTURE_FORWARDED, 34);
    const RunResult r = fx.run(to_vip(80, kProtoTcp));
    const auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    ASSERT_EQ(recs[0].cap_len, 34u);
    EXPECT_EQ(Bytes(recs[0].data, recs[0].data + 34), head(r.out, 34));
}

TEST_F(Capture, OffRecordsNothing) {
    capture(0, LBD_CAPTURE_SNAP_MAX);
    ASSERT_EQ(fx.run(to_vip(80, kProtoTcp)).verdict, XDP_TX);
    EXPECT_TRUE(records().empty());
}

TEST_F(Capture, OnlyTheClassesAskedFor) {
    capture(LBD_CAPTURE_DROPPED, LBD_CAPTURE_SNAP_MAX);
    ASSERT_EQ(fx.run(to_vip(80, kProtoTcp)).verdict, XDP_TX);
    const Bytes dropped = to_vip(53, kProtoUdp);  // no ring: no real
    ASSERT_EQ(fx.run(dropped).verdict, XDP_DROP);
    const auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].cls, LBD_CAPTURE_DROPPED);
    EXPECT_EQ(recs[0].reason, LBD_R_DROP_NO_REAL);
    EXPECT_EQ(Bytes(recs[0].data, recs[0].data + recs[0].cap_len), dropped);
}

TEST_F(Capture, PassedFramesAreTheirOwnClass) {
    capture(LBD_CAPTURE_PASSED, LBD_CAPTURE_SNAP_MAX);
    const Bytes other = eth({.dst = kLbMac, .src = kClientMac},
                            ipv4({.src = kClient, .dst = ip4("198.51.100.9"), .id = 3},
                                 Udp{.sport = 1, .dport = 2, .payload = pattern(4)}));
    ASSERT_EQ(fx.run(other).verdict, XDP_PASS);
    const auto recs = records();
    ASSERT_EQ(recs.size(), 1u);
    EXPECT_EQ(recs[0].reason, LBD_R_PASS_NOT_VIP);
    EXPECT_EQ(recs[0].verdict, XDP_PASS);
}

// The daemon's side: a session switches capture on for its classes, reads
// its records, and capture is off once it is closed or its lease runs out.
TEST_F(Capture, SessionsSwitchCaptureAndReadRecords) {
    dataplane::Capture cap(*fx.skeleton());
    const auto now = Clock::now();
    EXPECT_EQ(fx.skeleton()->bss->capture_classes, 0u);
    const uint64_t id = cap.open(LBD_CAPTURE_FORWARDED, 64, now);
    EXPECT_EQ(fx.skeleton()->bss->capture_classes, uint32_t{LBD_CAPTURE_FORWARDED});
    const RunResult r = fx.run(to_vip(80, kProtoTcp));
    ASSERT_EQ(fx.run(to_vip(53, kProtoUdp)).verdict, XDP_DROP);  // not asked for
    const auto batch = cap.read(id, 100, now);
    ASSERT_EQ(batch.records.size(), 1u);
    EXPECT_EQ(batch.lost, 0u);
    EXPECT_EQ(batch.records[0].data, std::string(r.out.begin(), r.out.begin() + 64));
    EXPECT_EQ(batch.records[0].len, r.out.size());
    cap.close(id);
    EXPECT_EQ(fx.skeleton()->bss->capture_classes, 0u);
    EXPECT_THROW(cap.read(id, 100, now), std::out_of_range);

    const uint64_t lapsed = cap.open(LBD_CAPTURE_VRRP, 64, now);
    EXPECT_NE(fx.skeleton()->bss->capture_classes, 0u);
    cap.expire(now + dataplane::Capture::kLease);
    EXPECT_EQ(fx.skeleton()->bss->capture_classes, 0u);
    EXPECT_THROW(cap.read(lapsed, 100, now), std::out_of_range);
}

TEST_F(Capture, SessionsRefuseBadArguments) {
    dataplane::Capture cap(*fx.skeleton());
    const auto now = Clock::now();
    EXPECT_THROW(cap.open(0, 64, now), std::invalid_argument);
    EXPECT_THROW(cap.open(1u << 7, 64, now), std::invalid_argument);
    EXPECT_THROW(cap.open(LBD_CAPTURE_VRRP, LBD_CAPTURE_SNAP_MAX + 1, now), std::invalid_argument);
    for (size_t i = 0; i < dataplane::Capture::kMaxSessions; ++i) cap.open(LBD_CAPTURE_VRRP, 64, now);
    EXPECT_THROW(cap.open(LBD_CAPTURE_VRRP, 64, now), std::runtime_error);
}

}  // namespace
}  // namespace lbd::test
