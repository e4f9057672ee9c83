// VRRP frames out of the lbd_vrrp_tx program (bpf/lib/vrrp_tx.h), built
// through vrrp::XdpChannel as the daemon builds them. Rows compare the
// program's frame (BPF_PROG_TEST_RUN, no live frames) byte for byte with
// userspace/vrrp/packet.h's builders, which match keepalived's captures.
// The wire tests send real frames over a veth pair in the test's network
// namespace, once per transport: live frames (XDP_TX) and AF_PACKET.
#include "frame.h"
#include "lb_fixture.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ostream>

#include "lb.skel.h"
#include "vrrp/packet.h"
#include "vrrp_frames.h"
#include "vrrp/xdp_channel.h"

namespace lbd::test {
namespace {

using vrrp::Advert;
using vrrp::ChannelInstance;
using vrrp::TxKind;
using vrrp::TxRequest;
using vrrp::XdpChannel;

#define ASSERT_OK(expr)                                     \
    do {                                                    \
        const Status st_ = (expr);                          \
        ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.what; \
    } while (0)

IpAddr addr(const std::string& text) { return *IpAddr::parse(text); }

const Mac kRouterMac = vrrp::virtual_mac(51, AF_INET);
const Mac kIfaceMac = mac("02:00:00:00:00:aa");
const Mac kPeerMac = mac("02:00:00:00:00:02");
constexpr uint32_t kId = 7;

vrrp::ChannelMaps handles(lbd_lb* skel) {
    return {bpf_map__fd(skel->maps.vrrp_rx),     bpf_map__fd(skel->maps.vrrp_peers),
            bpf_map__fd(skel->maps.vrrp_tx),     bpf_map__fd(skel->maps.vrrp_events),
            bpf_map__fd(skel->maps.vrrp_rx_stats), bpf_program__fd(skel->progs.lbd_vrrp_tx)};
}

std::vector<IpAddr> addresses(int family, int n) {
    std::vector<IpAddr> out;
    for (int i = 1; i <= n; ++i)
        out.push_back(addr(family == AF_INET ? "192.0.2." + std::to_string(i)
                                             : "2001:db8:100::" + std::to_string(i)));
    return out;
}

ChannelInstance instance(int version, int family, int naddr, std::string pass = {}) {
    ChannelInstance c;
    c.id = kId;
    c.ifindex = 1;
    c.advert.version = version;
    c.advert.vrid = 51;
    c.advert.family = family;
    c.advert.addresses = addresses(family, naddr);
    if (!pass.empty()) {
        c.advert.auth_type = vrrp::kAuthPass;
        c.advert.auth_pass = std::move(pass);
    }
    c.src = addr(family == AF_INET ? "10.0.0.1" : "fe80::1");
    c.src_mac = kRouterMac;
    c.announce_mac = kIfaceMac;
    return c;
}

TxRequest advert_request(uint8_t priority, uint16_t interval_cs, uint16_t ipv4_id) {
    TxRequest r;
    r.priority = priority;
    r.max_advert_int_cs = interval_cs;
    r.ipv4_id = ipv4_id;
    return r;
}

TxRequest unicast(TxRequest r, const std::string& dst) {
    r.unicast_dst = addr(dst);
    r.dst_mac = kPeerMac;
    return r;
}

// What packet.h builds for the same instance and request.
Bytes expected(const ChannelInstance& c, const TxRequest& r) {
    std::vector<uint8_t> f;
    if (r.kind == TxKind::Garp) {
        f = vrrp::build_gratuitous_arp(r.vip, c.announce_mac);
    } else if (r.kind == TxKind::Na) {
        f = vrrp::build_unsolicited_na(r.vip, c.announce_mac, r.router);
    } else {
        Advert a = c.advert;
        a.priority = r.priority;
        a.max_advert_int_cs = r.max_advert_int_cs;
        IpAddr dst = r.unicast_dst.value_or(vrrp::vrrp_group(a.family));
        Mac dst_mac = r.unicast_dst ? r.dst_mac : vrrp::multicast_mac(dst);
        f = vrrp::build_frame(a, c.src, dst, c.src_mac, dst_mac, {.ipv4_id = r.ipv4_id});
    }
    if (f.empty()) throw std::invalid_argument("packet.h cannot build the expected frame");
    return Bytes(f.begin(), f.end());
}

// -------------------------------------------------------------------- rows

struct Row {
    std::string name;
    ChannelInstance instance;
    TxRequest request;
};

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

TxRequest announce(TxKind kind, const std::string& vip, bool router = false) {
    TxRequest r;
    r.kind = kind;
    r.vip = addr(vip);
    r.router = router;
    return r;
}

std::vector<Row> tx_rows() {
    return {
        {"v3_ipv4", instance(3, AF_INET, 1), advert_request(100, 100, 1)},
        {"v3_ipv4_several_addresses", instance(3, AF_INET, 5), advert_request(254, 350, 0x1234)},
        {"v3_ipv4_max_addresses", instance(3, AF_INET, LBD_VRRP_MAX_ADDRS), advert_request(100, 100, 65535)},
        {"v3_ipv4_no_addresses", instance(3, AF_INET, 0), advert_request(100, 100, 2)},
        {"v3_ipv4_priority_0", instance(3, AF_INET, 1), advert_request(vrrp::kPriorityStop, 100, 3)},
        {"v3_ipv4_owner_interval_4095", instance(3, AF_INET, 2), advert_request(255, 4095, 4)},
        {"v2_pass", instance(2, AF_INET, 1, "secret"), advert_request(150, 300, 7)},
        {"v2_pass_8_characters", instance(2, AF_INET, 2, "12345678"), advert_request(100, 100, 8)},
        {"v2_no_auth", instance(2, AF_INET, 3), advert_request(100, 25500, 9)},
        {"v3_ipv6", instance(3, AF_INET6, 2), advert_request(100, 100, 0)},
        {"v3_ipv6_max_addresses", instance(3, AF_INET6, LBD_VRRP_MAX_ADDRS), advert_request(200, 50, 0)},
        {"v3_ipv4_unicast", instance(3, AF_INET, 2), unicast(advert_request(100, 100, 10), "10.0.0.2")},
        {"v3_ipv6_unicast", instance(3, AF_INET6, 1), unicast(advert_request(100, 100, 0), "fe80::2")},
        {"v2_unicast", instance(2, AF_INET, 1, "pw"), unicast(advert_request(100, 100, 11), "10.0.0.2")},
        {"garp", instance(3, AF_INET, 1), announce(TxKind::Garp, "192.0.2.1")},
        {"na", instance(3, AF_INET6, 1), announce(TxKind::Na, "2001:db8:100::1")},
        {"na_router", instance(3, AF_INET6, 1), announce(TxKind::Na, "2001:db8:100::1", true)},
        // Announcements do not depend on the instance's family.
        {"garp_from_ipv6_instance", instance(3, AF_INET6, 1), announce(TxKind::Garp, "198.51.100.9")},
    };
}

class VrrpTx : public ::testing::Test {
protected:
    void SetUp() override {
        std::string why = bpf_skip_reason();
        if (!why.empty()) GTEST_SKIP() << why;
        ASSERT_OK(enter_test_netns());
        ASSERT_OK(fx_.status());
        channel_.emplace(handles(fx_.skeleton()));
    }

    int tx_prog() const { return bpf_program__fd(fx_.skeleton()->progs.lbd_vrrp_tx); }

    // Runs the program on the request followed by `len - sizeof(request)`
    // bytes of `fill`.
    RunResult run_raw(const TxRequest& r, size_t len, uint8_t fill) {
        lbd_vrrp_tx_req w{};
        w.instance_id = kId;
        w.kind = static_cast<uint8_t>(r.kind);
        w.flags = static_cast<uint8_t>((r.unicast_dst ? LBD_VRRP_TX_F_UNICAST : 0) |
                                       (r.router ? LBD_VRRP_TX_F_ROUTER : 0));
        w.priority = r.priority;
        w.max_advert_int_cs = r.max_advert_int_cs;
        w.ipv4_id = r.ipv4_id;
        std::memcpy(w.dst_mac, r.dst_mac.data(), 6);
        const IpAddr& a = r.kind == TxKind::Advert ? r.unicast_dst.value_or(IpAddr{}) : r.vip;
        std::memcpy(w.addr.bytes, a.bytes.data(), 16);
        Bytes in(len, fill);
        std::memcpy(in.data(), &w, sizeof(w));
        return test_run(tx_prog(), in);
    }

    LbFixture fx_;
    std::optional<XdpChannel> channel_;
};

class VrrpTxRows : public VrrpTx, public ::testing::WithParamInterface<Row> {};

TEST_P(VrrpTxRows, MatchesPacketBuilder) {
    const Row& row = GetParam();
    channel_->configure(row.instance);
    const Bytes want = expected(row.instance, row.request);
    std::vector<uint8_t> got = channel_->build_frame(kId, row.request);
    EXPECT_TRUE(Bytes(got.begin(), got.end()) == want) << diff(want, Bytes(got.begin(), got.end()));

    // Live frames reuse pages unreset: the frame must not depend on what the
    // buffer held after the request.
    RunResult dirty = run_raw(row.request, want.size(), 0xa5);
    ASSERT_EQ(dirty.err, 0);
    EXPECT_EQ(dirty.verdict, XDP_TX) << xdp_verdict_name(dirty.verdict);
    EXPECT_TRUE(dirty.out == want) << "over a dirty buffer: " << diff(want, dirty.out);
}

INSTANTIATE_TEST_SUITE_P(Rows, VrrpTxRows, ::testing::ValuesIn(tx_rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

TEST_F(VrrpTx, BufferOfAnotherLengthIsRefused) {
    ChannelInstance c = instance(3, AF_INET, 2);
    channel_->configure(c);
    const TxRequest r = advert_request(100, 100, 1);
    const size_t len = expected(c, r).size();
    for (size_t n : {len - 4, len + 4, size_t{LBD_VRRP_GARP_LEN}}) {
        RunResult res = run_raw(r, n, 0);
        ASSERT_EQ(res.err, 0);
        EXPECT_EQ(res.verdict, XDP_ABORTED) << n << " bytes";
    }
    EXPECT_EQ(run_raw(announce(TxKind::Garp, "192.0.2.1"), LBD_VRRP_NA_LEN, 0).verdict, XDP_ABORTED);
    EXPECT_EQ(run_raw(announce(TxKind::Na, "2001:db8::1"), LBD_VRRP_GARP_LEN, 0).verdict, XDP_ABORTED);
}

TEST_F(VrrpTx, UnknownOrRemovedInstanceIsRefused) {
    EXPECT_THROW(channel_->build_frame(kId, advert_request(100, 100, 1)), std::runtime_error);
    EXPECT_EQ(run_raw(advert_request(100, 100, 1), 42, 0).verdict, XDP_ABORTED);
    ChannelInstance c = instance(3, AF_INET, 0);
    channel_->configure(c);
    const size_t len = expected(c, advert_request(100, 100, 1)).size();
    EXPECT_EQ(run_raw(advert_request(100, 100, 1), len, 0).verdict, XDP_TX);
    channel_->remove(kId);
    EXPECT_EQ(run_raw(advert_request(100, 100, 1), len, 0).verdict, XDP_ABORTED);
    EXPECT_EQ(channel_->send_advert(kId, 100, 100).size(), 1u);
}

TEST_F(VrrpTx, AnnouncementOfTheWrongFamilyIsAnError) {
    channel_->configure(instance(3, AF_INET, 1));
    EXPECT_THROW(channel_->build_frame(kId, announce(TxKind::Garp, "2001:db8::1")), std::runtime_error);
    EXPECT_THROW(channel_->build_frame(kId, announce(TxKind::Na, "192.0.2.1")), std::runtime_error);
    EXPECT_EQ(channel_->send_garp(kId, addr("2001:db8::1")).size(), 1u);
    EXPECT_EQ(channel_->send_na(kId, addr("192.0.2.1"), false).size(), 1u);
}

// A unicast peer without a neighbour entry is skipped with a reason; the
// others still get their advert.
TEST_F(VrrpTx, UnicastPeerWithoutNeighbourIsSkipped) {
    ChannelInstance c = instance(3, AF_INET, 1);
    c.unicast_peers = {addr("10.99.0.2")};
    channel_->configure(c);
    std::vector<std::string> errors = channel_->send_advert(kId, 100, 100);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("no neighbour entry for 10.99.0.2 yet"), std::string::npos) << errors[0];
}

// ------------------------------------------------------------ on the wire

Status fail(const std::string& what) {
    const int err = errno ? errno : EINVAL;
    return {-err, what + ": " + std::strerror(err)};
}

// A veth pair in the test's namespace, removed with its XDP programs when
// the test ends, however it ends.
class VethPair {
public:
    VethPair(const char* a, const char* b) : a_name_(a) {
        sock_ = nl_socket_alloc();
        if (!sock_ || nl_connect(sock_, NETLINK_ROUTE) < 0) {
            status_ = {-EIO, "netlink socket"};
            return;
        }
        if (int err = rtnl_link_veth_add(sock_, a, b, getpid()); err < 0) {
            status_ = {-EIO, std::string("create veth: ") + nl_geterror(err)};
            return;
        }
        created_ = true;
        a_ = static_cast<int>(if_nametoindex(a));
        b_ = static_cast<int>(if_nametoindex(b));
        for (const char* name : {a, b})
            if (status_.ok()) status_ = up(name);
    }
    ~VethPair() {
        if (created_) {
            rtnl_link* link = rtnl_link_alloc();
            rtnl_link_set_name(link, a_name_.c_str());
            rtnl_link_delete(sock_, link);
            rtnl_link_put(link);
        }
        nl_socket_free(sock_);
    }
    VethPair(const VethPair&) = delete;
    VethPair& operator=(const VethPair&) = delete;

    const Status& status() const { return status_; }
    int a() const { return a_; }
    int b() const { return b_; }

    // ifr is filled with the interface's name; request SIOCxxx.
    static Status ioctl_on(const char* name, unsigned long request, ifreq& ifr) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return fail("socket");
        std::strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
        Status st;
        if (ioctl(fd, request, &ifr) < 0) st = fail(std::string("ioctl on ") + name);
        close(fd);
        return st;
    }

private:
    static Status up(const char* name) {
        ifreq ifr{};
        Status st = ioctl_on(name, SIOCGIFFLAGS, ifr);
        if (!st.ok()) return st;
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        return ioctl_on(name, SIOCSIFFLAGS, ifr);
    }

    std::string a_name_;
    nl_sock* sock_ = nullptr;
    bool created_ = false;
    int a_ = 0, b_ = 0;
    Status status_;
};

// Frames arriving on an interface, through an AF_PACKET socket.
class Capture {
public:
    explicit Capture(int ifindex) {
        fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        sockaddr_ll at{};
        at.sll_family = AF_PACKET;
        at.sll_protocol = htons(ETH_P_ALL);
        at.sll_ifindex = ifindex;
        if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof(at)) < 0) status_ = fail("AF_PACKET capture");
    }
    ~Capture() {
        if (fd_ >= 0) close(fd_);
    }
    const Status& status() const { return status_; }

    // Whether `want` arrives within a second; other traffic (IPv6 neighbour
    // discovery of the new links) is skipped and listed in `seen`.
    bool wait_for(const Bytes& want, std::string& seen) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (poll(&p, 1, 100) <= 0) continue;
            Bytes buf(4096);
            sockaddr_ll from{};
            socklen_t len = sizeof(from);
            ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0 || from.sll_pkttype == PACKET_OUTGOING) continue;
            buf.resize(static_cast<size_t>(n));
            if (buf == want) return true;
            seen += hexdump(buf) + "\n";
        }
        return false;
    }

private:
    int fd_ = -1;
    Status status_;
};

Mac mac_of(const char* name) {
    ifreq ifr{};
    Mac m{};
    if (VethPair::ioctl_on(name, SIOCGIFHWADDR, ifr).ok()) std::memcpy(m.data(), ifr.ifr_hwaddr.sa_data, 6);
    return m;
}

Status set_ipv4(const char* name, const char* address) {
    ifreq ifr{};
    auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, address, &sin->sin_addr);
    Status st = VethPair::ioctl_on(name, SIOCSIFADDR, ifr);
    if (!st.ok()) return st;
    inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
    return VethPair::ioctl_on(name, SIOCSIFNETMASK, ifr);
}

// A permanent ARP entry, so a unicast advert needs no resolution round.
Status set_neighbour(const char* dev, const char* ip, const Mac& hw) {
    arpreq req{};
    auto* pa = reinterpret_cast<sockaddr_in*>(&req.arp_pa);
    pa->sin_family = AF_INET;
    inet_pton(AF_INET, ip, &pa->sin_addr);
    req.arp_ha.sa_family = ARPHRD_ETHER;
    std::memcpy(req.arp_ha.sa_data, hw.data(), 6);
    req.arp_flags = ATF_PERM | ATF_COM;
    std::strncpy(req.arp_dev, dev, sizeof(req.arp_dev) - 1);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("socket");
    Status st;
    if (ioctl(fd, SIOCSARP, &req) < 0) st = fail("SIOCSARP");
    close(fd);
    return st;
}

// Sender on vrrpa; vrrpb runs the lb program (XDP_TX into a veth needs a
// program on the receiving end, docs/dataplane.md), which queues what
// arrives for a receiving instance on vrrpb: one frame crosses both paths.
class VrrpWire : public VrrpTx {
protected:
    void SetUp() override {
        VrrpTx::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        veth_.emplace("vrrpa", "vrrpb");
        ASSERT_OK(veth_->status());
        int lb = bpf_program__fd(fx_.skeleton()->progs.lbd_lb);
        ASSERT_EQ(bpf_xdp_attach(veth_->b(), lb, XDP_FLAGS_DRV_MODE, nullptr), 0) << "attach to vrrpb";
        capture_.emplace(veth_->b());
        ASSERT_OK(capture_->status());
    }

    ChannelInstance sender(bool live, int version = 3) {
        ChannelInstance c = instance(version, AF_INET, 2);
        c.ifindex = veth_->a();
        c.live_frames = live;
        return c;
    }

    ChannelInstance receiver(const ChannelInstance& s) {
        ChannelInstance r = s;
        r.id = kId + 1;
        r.ifindex = veth_->b();
        return r;
    }

    void expect_received(const Bytes& want, const ChannelInstance& r) {
        std::string seen;
        EXPECT_TRUE(capture_->wait_for(want, seen)) << "expected\n" << hexdump(want) << "seen\n" << seen;
        std::vector<Bytes> packets;
        channel_->consume([&](const vrrp::RxEvent& e) {
            EXPECT_EQ(e.instance_id, r.id);
            EXPECT_EQ(e.ifindex, r.ifindex);
            packets.emplace_back(e.packet.begin(), e.packet.end());
        });
        ASSERT_EQ(packets.size(), 1u);
        Bytes ip(want.begin() + 14, want.end());
        EXPECT_TRUE(packets[0] == ip) << diff(ip, packets[0]);
    }

    std::optional<VethPair> veth_;
    std::optional<Capture> capture_;
};

TEST_F(VrrpWire, LiveFramesAdvertAndGarp) {
    ChannelInstance s = sender(true);
    ChannelInstance r = receiver(s);
    channel_->configure(s);
    channel_->configure(r);
    for (uint16_t ipv4_id : {1, 2}) {  // keepalived's counter: 1 first, then +1
        std::vector<std::string> errors = channel_->send_advert(kId, 100, 100);
        EXPECT_TRUE(errors.empty()) << errors[0];
        ASSERT_NO_FATAL_FAILURE(expect_received(expected(s, advert_request(100, 100, ipv4_id)), r));
    }
    EXPECT_TRUE(channel_->send_garp(kId, addr("192.0.2.1")).empty());
    std::string seen;
    EXPECT_TRUE(capture_->wait_for(expected(s, announce(TxKind::Garp, "192.0.2.1")), seen)) << seen;
}

TEST_F(VrrpWire, AfPacketAdvertAndNa) {
    ChannelInstance s = sender(false, 2);
    s.advert.auth_type = vrrp::kAuthPass;
    s.advert.auth_pass = "secret";
    ChannelInstance r = receiver(s);
    channel_->configure(s);
    channel_->configure(r);
    std::vector<std::string> errors = channel_->send_advert(kId, 120, 100);
    EXPECT_TRUE(errors.empty()) << errors[0];
    ASSERT_NO_FATAL_FAILURE(expect_received(expected(s, advert_request(120, 100, 1)), r));
    EXPECT_TRUE(channel_->send_na(kId, addr("2001:db8:100::1"), true).empty());
    std::string seen;
    EXPECT_TRUE(capture_->wait_for(expected(s, announce(TxKind::Na, "2001:db8:100::1", true)), seen)) << seen;
}

TEST_F(VrrpWire, LiveFramesUnicast) {
    ASSERT_OK(set_ipv4("vrrpa", "10.9.0.1"));
    ASSERT_OK(set_neighbour("vrrpa", "10.9.0.2", mac_of("vrrpb")));
    ChannelInstance s = sender(true);
    s.src = addr("10.9.0.1");
    s.unicast_peers = {addr("10.9.0.2")};
    ChannelInstance r = receiver(s);
    r.unicast_peers = {addr("10.9.0.1")};
    channel_->configure(s);
    channel_->configure(r);
    std::vector<std::string> errors = channel_->send_advert(kId, 100, 100);
    EXPECT_TRUE(errors.empty()) << errors[0];
    TxRequest want = unicast(advert_request(100, 100, 1), "10.9.0.2");
    want.dst_mac = mac_of("vrrpb");
    ASSERT_NO_FATAL_FAILURE(expect_received(expected(s, want), r));
}

}  // namespace
}  // namespace lbd::test
