#include "vrrp/xdp_channel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "util/log.h"

namespace lbd::vrrp {
namespace {

constexpr size_t kEthHeaderLen = 14;
constexpr auto kNeighbourRefresh = std::chrono::seconds(1);

size_t addr_len(int family) { return family == AF_INET6 ? 16 : 4; }

// The frame lbd_vrrp_tx builds for `kind`: the buffer handed to it must be
// exactly this long.
size_t frame_len(const Advert& a, TxKind kind) {
    switch (kind) {
    case TxKind::Garp: return LBD_VRRP_GARP_LEN;
    case TxKind::Na: return LBD_VRRP_NA_LEN;
    case TxKind::Advert: break;
    }
    size_t ip = a.family == AF_INET ? 20 : 40;
    size_t auth = a.version == kVersion2 ? kAuthDataLen : 0;
    return kEthHeaderLen + ip + kHeaderLen + a.addresses.size() * addr_len(a.family) + auth;
}

lbd_vrrp_key rx_key(const ChannelInstance& c) {
    lbd_vrrp_key k{};
    k.ifindex = static_cast<__u32>(c.ifindex);
    k.vrid = c.advert.vrid;
    k.family = static_cast<__u8>(c.advert.family);
    return k;
}

lbd_vrrp_peer_key peer_key(uint32_t id, const IpAddr& addr) {
    lbd_vrrp_peer_key k{};
    k.instance_id = id;
    std::memcpy(k.addr.bytes, addr.bytes.data(), sizeof(k.addr.bytes));
    return k;
}

lbd_vrrp_rx rx_value(const ChannelInstance& c) {
    lbd_vrrp_rx v{};
    v.instance_id = c.id;
    v.version = static_cast<__u8>(c.advert.version);
    v.auth_type = c.advert.auth_type;
    v.flags = c.unicast_peers.empty() ? 0 : LBD_VRRP_RX_F_PEERS_ONLY;
    std::memcpy(v.auth_pass, c.advert.auth_pass.data(), std::min(c.advert.auth_pass.size(), kAuthDataLen));
    return v;
}

lbd_vrrp_tx tx_value(const ChannelInstance& c) {
    const Advert& a = c.advert;
    lbd_vrrp_tx v{};
    std::memcpy(v.src.bytes, c.src.bytes.data(), sizeof(v.src.bytes));
    std::memcpy(v.src_mac, c.src_mac.data(), sizeof(v.src_mac));
    std::memcpy(v.announce_mac, c.announce_mac.data(), sizeof(v.announce_mac));
    v.version = static_cast<__u8>(a.version);
    v.vrid = a.vrid;
    v.family = static_cast<__u8>(a.family);
    v.naddr = static_cast<__u8>(a.addresses.size());
    v.auth_type = a.auth_type;
    std::memcpy(v.auth_pass, a.auth_pass.data(), std::min(a.auth_pass.size(), kAuthDataLen));
    const size_t len = addr_len(a.family);
    for (size_t i = 0; i < a.addresses.size(); ++i)
        std::memcpy(v.addrs + i * len, a.addresses[i].bytes.data(), len);
    return v;
}

lbd_vrrp_tx_req wire_request(uint32_t id, const TxRequest& r) {
    lbd_vrrp_tx_req w{};
    w.instance_id = id;
    w.kind = static_cast<__u8>(r.kind);
    w.flags = static_cast<__u8>((r.unicast_dst ? LBD_VRRP_TX_F_UNICAST : 0) |
                                (r.router ? LBD_VRRP_TX_F_ROUTER : 0));
    w.priority = r.priority;
    w.max_advert_int_cs = r.max_advert_int_cs;
    w.ipv4_id = r.ipv4_id;
    std::memcpy(w.dst_mac, r.dst_mac.data(), sizeof(w.dst_mac));
    const IpAddr& addr = r.kind == TxKind::Advert ? r.unicast_dst.value_or(IpAddr{}) : r.vip;
    std::memcpy(w.addr.bytes, addr.bytes.data(), sizeof(w.addr.bytes));
    return w;
}

// data_in for lbd_vrrp_tx: the request, then zeros up to the frame's length.
std::vector<uint8_t> tx_buffer(uint32_t id, const TxRequest& r, size_t len) {
    std::vector<uint8_t> buf(len);
    lbd_vrrp_tx_req w = wire_request(id, r);
    std::memcpy(buf.data(), &w, sizeof(w));
    return buf;
}

void update(int fd, const void* key, const void* value, const std::string& what) {
    if (bpf_map_update_elem(fd, key, value, BPF_ANY) < 0)
        throw std::runtime_error(fmt::format("{}: {}", what, strerror(errno)));
}

void check_instance(const ChannelInstance& c) {
    const Advert& a = c.advert;
    if (c.id >= LBD_VRRP_MAX_INSTANCES)
        throw std::invalid_argument(fmt::format("VRRP instance id {} is over {}", c.id, LBD_VRRP_MAX_INSTANCES - 1));
    if (c.ifindex <= 0) throw std::invalid_argument(fmt::format("VRRP instance {}: no interface", c.id));
    if (auto why = invalid_reason(a); !why.empty())
        throw std::invalid_argument(fmt::format("VRRP instance {}: {}", c.id, why));
    if (a.addresses.size() > LBD_VRRP_MAX_ADDRS)
        throw std::invalid_argument(fmt::format("VRRP instance {}: {} addresses, at most {} fit an advert here",
                                                c.id, a.addresses.size(), LBD_VRRP_MAX_ADDRS));
    if (c.src.family != a.family)
        throw std::invalid_argument(fmt::format("VRRP instance {}: source {} is not {}", c.id, c.src.str(),
                                                family_name(a.family)));
    for (const auto& p : c.unicast_peers)
        if (p.family != a.family)
            throw std::invalid_argument(fmt::format("VRRP instance {}: peer {} is not {}", c.id, p.str(),
                                                    family_name(a.family)));
}

bool same_key(const lbd_vrrp_key& a, const lbd_vrrp_key& b) {
    return a.ifindex == b.ifindex && a.vrid == b.vrid && a.family == b.family;
}

}  // namespace

XdpChannel::XdpChannel(const ChannelMaps& maps) : h_(maps) {
    for (int fd : {h_.rx_map, h_.peers_map, h_.tx_map, h_.events_map, h_.stats_map, h_.tx_prog})
        if (fd < 0) throw std::runtime_error("VRRP needs the lb program loaded (no interface attached?)");
    ring_ = ring_buffer__new(h_.events_map, on_sample, this, nullptr);
    if (!ring_) throw std::runtime_error(fmt::format("cannot open the VRRP event ring: {}", strerror(errno)));
}

int XdpChannel::on_sample(void* ctx, void* data, size_t size) {
    auto& self = *static_cast<XdpChannel*>(ctx);
    lbd_vrrp_event ev;
    if (size < sizeof(ev) || !self.on_event_) return 0;
    std::memcpy(&ev, data, offsetof(lbd_vrrp_event, packet));
    if (ev.len > LBD_VRRP_MAX_PACKET) return 0;
    RxEvent e;
    e.ifindex = static_cast<int>(ev.ifindex);
    e.instance_id = ev.instance_id;
    // bpf_ktime_get_ns() is CLOCK_MONOTONIC, which steady_clock reads.
    e.at = std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(ev.at_ns)));
    e.packet = std::span(static_cast<const uint8_t*>(data) + offsetof(lbd_vrrp_event, packet), ev.len);
    try {
        (*self.on_event_)(e);
    } catch (...) {
        self.consume_error_ = std::current_exception();
        return -1;  // stops the drain
    }
    return 0;
}

XdpChannel::~XdpChannel() {
    for (const auto& [id, s] : slots_) clear_maps(s);
    ring_buffer__free(ring_);
}

const XdpChannel::Slot& XdpChannel::slot(uint32_t id) const {
    auto it = slots_.find(id);
    if (it == slots_.end()) throw std::runtime_error(fmt::format("VRRP instance {} is not configured", id));
    return it->second;
}

void XdpChannel::configure(const ChannelInstance& c) {
    check_instance(c);
    const lbd_vrrp_key key = rx_key(c);
    for (const auto& [id, s] : slots_)
        if (id != c.id && same_key(s.rx_key, key))
            throw std::invalid_argument(fmt::format("VRID {} ({}) on ifindex {} already belongs to VRRP instance {}",
                                                    c.advert.vrid, family_name(c.advert.family),
                                                    c.ifindex, id));
    Slot fresh{c, key, 1};
    if (auto it = slots_.find(c.id); it != slots_.end()) {
        fresh.next_ipv4_id = it->second.next_ipv4_id;
        clear_maps(it->second);
        slots_.erase(it);
    }
    try {
        write_maps(fresh);
    } catch (...) {
        clear_maps(fresh);
        throw;
    }
    slots_.emplace(c.id, std::move(fresh));
}

// Senders first, the rx entry last: an advert is never checked against an
// instance whose peers are not written yet.
void XdpChannel::write_maps(const Slot& s) {
    const ChannelInstance& c = s.config;
    const lbd_vrrp_tx tx = tx_value(c);
    update(h_.tx_map, &c.id, &tx, fmt::format("vrrp_tx[{}]", c.id));
    const __u8 present = 1;
    for (const auto& p : c.unicast_peers) {
        lbd_vrrp_peer_key k = peer_key(c.id, p);
        update(h_.peers_map, &k, &present, fmt::format("vrrp_peers[{}, {}]", c.id, p.str()));
    }
    const lbd_vrrp_rx rx = rx_value(c);
    update(h_.rx_map, &s.rx_key, &rx, fmt::format("vrrp_rx[VRID {}]", c.advert.vrid));
}

void XdpChannel::join(int ifindex, const IpAddr& group) {
    if (!membership_) membership_.emplace();
    membership_->join(ifindex, group);
}

void XdpChannel::remove(uint32_t id) {
    auto it = slots_.find(id);
    if (it == slots_.end()) return;
    clear_maps(it->second);
    slots_.erase(it);
}

// Deleting what is already gone is fine: the maps may have been replaced.
void XdpChannel::clear_maps(const Slot& s) {
    bpf_map_delete_elem(h_.rx_map, &s.rx_key);
    for (const auto& p : s.config.unicast_peers) {
        lbd_vrrp_peer_key k = peer_key(s.config.id, p);
        bpf_map_delete_elem(h_.peers_map, &k);
    }
    const lbd_vrrp_tx unused{};
    bpf_map_update_elem(h_.tx_map, &s.config.id, &unused, BPF_ANY);
}

uint16_t XdpChannel::take_ipv4_id(Slot& s) {
    uint16_t id = s.next_ipv4_id;
    s.next_ipv4_id = id == 65535 ? 1 : static_cast<uint16_t>(id + 1);
    return id;
}

std::vector<uint8_t> XdpChannel::build_frame(uint32_t id, const TxRequest& r) const {
    const ChannelInstance& c = slot(id).config;
    if (r.kind == TxKind::Garp && r.vip.family != AF_INET)
        throw std::runtime_error(fmt::format("gratuitous ARP for {}: not IPv4", r.vip.str()));
    if (r.kind == TxKind::Na && r.vip.family != AF_INET6)
        throw std::runtime_error(fmt::format("neighbour advertisement for {}: not IPv6", r.vip.str()));
    std::vector<uint8_t> in = tx_buffer(id, r, frame_len(c.advert, r.kind));
    std::vector<uint8_t> out(in.size());
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = out.data(),
                .data_size_in = static_cast<__u32>(in.size()), .data_size_out = static_cast<__u32>(out.size()),
                .repeat = 1);
    if (bpf_prog_test_run_opts(h_.tx_prog, &opts) < 0)
        throw std::runtime_error(fmt::format("running the VRRP tx program: {}", strerror(errno)));
    if (opts.retval != XDP_TX || opts.data_size_out != out.size())
        throw std::runtime_error(fmt::format("the VRRP tx program refused instance {} (verdict {})", id, opts.retval));
    return out;
}

// With live frames the kernel reports no verdict: a frame the program
// refuses is dropped unseen. build_frame() runs the same code on the same
// inputs, which the tests cover.
int XdpChannel::send_live(uint32_t id, int ifindex, const TxRequest& r) const {
    std::vector<uint8_t> in = tx_buffer(id, r, frame_len(slot(id).config.advert, r.kind));
    xdp_md ctx{};
    ctx.data_end = static_cast<__u32>(in.size());
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_size_in = static_cast<__u32>(in.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);
    return bpf_prog_test_run_opts(h_.tx_prog, &opts) < 0 ? errno : 0;
}

std::string XdpChannel::send_packet(int ifindex, const std::vector<uint8_t>& frame) {
    if (!packet_fd_) {
        packet_fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));  // protocol 0: receives nothing
        if (!packet_fd_) return fmt::format("AF_PACKET socket: {}", strerror(errno));
    }
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    std::memcpy(&to.sll_protocol, &frame[12], sizeof(to.sll_protocol));  // the frame's ethertype
    to.sll_halen = ETH_ALEN;
    std::memcpy(to.sll_addr, frame.data(), ETH_ALEN);
    if (sendto(packet_fd_.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0)
        return fmt::format("AF_PACKET send on ifindex {}: {}", ifindex, strerror(errno));
    return {};
}

// The program transmits only on the instance's own interface, and only in
// native mode; anything else goes out through AF_PACKET. So does everything
// once the kernel refuses live frames to this process (EPERM: seen on
// kernels run with a reduced capability set), which it does for every
// frame alike.
std::string XdpChannel::send(const ChannelInstance& c, int ifindex, const TxRequest& r) {
    if (c.live_frames && ifindex == c.ifindex && !live_refused_) {
        const int err = send_live(c.id, ifindex, r);
        if (err == 0) return {};
        if (err != EPERM) return fmt::format("XDP transmit on ifindex {}: {}", ifindex, strerror(err));
        log::warn("the kernel refuses XDP live frames to lbd ({}): VRRP frames go out through AF_PACKET",
                  strerror(err));
        live_refused_ = true;
    }
    try {
        return send_packet(ifindex, build_frame(c.id, r));
    } catch (const std::exception& e) {
        return e.what();
    }
}

std::optional<net::NextHop> XdpChannel::next_hop(const IpAddr& peer, std::string& error) {
    try {
        if (!neighbours_) neighbours_.emplace();
        auto now = std::chrono::steady_clock::now();
        if (now - neighbours_read_ >= kNeighbourRefresh) {
            neighbours_->refresh();
            neighbours_read_ = now;
        }
        auto hop = neighbours_->resolve(peer);
        if (!hop) error = fmt::format("no neighbour entry for {} yet", peer.str());
        return hop;
    } catch (const std::exception& e) {
        error = fmt::format("neighbour of {}: {}", peer.str(), e.what());
        return std::nullopt;
    }
}

std::vector<std::string> XdpChannel::send_advert(uint32_t id, uint8_t priority, uint16_t max_advert_int_cs) {
    auto it = slots_.find(id);
    if (it == slots_.end()) return {fmt::format("VRRP instance {} is not configured", id)};
    Slot& s = it->second;
    const ChannelInstance& c = s.config;
    TxRequest r;
    r.priority = priority;
    r.max_advert_int_cs = max_advert_int_cs;
    std::vector<std::string> errors;
    auto ipv4_id = [&] { return c.advert.family == AF_INET ? take_ipv4_id(s) : uint16_t{0}; };
    if (c.unicast_peers.empty()) {
        r.ipv4_id = ipv4_id();
        if (auto e = send(c, c.ifindex, r); !e.empty()) errors.push_back(fmt::format("advert: {}", e));
        return errors;
    }
    for (const auto& peer : c.unicast_peers) {
        std::string error;
        auto hop = next_hop(peer, error);
        if (hop) {
            r.unicast_dst = peer;
            r.dst_mac = hop->mac;
            r.ipv4_id = ipv4_id();
            error = send(c, hop->ifindex, r);
        }
        if (!error.empty()) errors.push_back(fmt::format("advert to {}: {}", peer.str(), error));
    }
    return errors;
}

std::vector<std::string> XdpChannel::send_garp(uint32_t id, const IpAddr& vip) {
    auto it = slots_.find(id);
    if (it == slots_.end()) return {fmt::format("VRRP instance {} is not configured", id)};
    if (vip.family != AF_INET) return {fmt::format("gratuitous ARP for {}: not IPv4", vip.str())};
    TxRequest r;
    r.kind = TxKind::Garp;
    r.vip = vip;
    if (auto e = send(it->second.config, it->second.config.ifindex, r); !e.empty())
        return {fmt::format("gratuitous ARP for {}: {}", vip.str(), e)};
    return {};
}

std::vector<std::string> XdpChannel::send_na(uint32_t id, const IpAddr& vip, bool router) {
    auto it = slots_.find(id);
    if (it == slots_.end()) return {fmt::format("VRRP instance {} is not configured", id)};
    if (vip.family != AF_INET6) return {fmt::format("neighbour advertisement for {}: not IPv6", vip.str())};
    TxRequest r;
    r.kind = TxKind::Na;
    r.vip = vip;
    r.router = router;
    if (auto e = send(it->second.config, it->second.config.ifindex, r); !e.empty())
        return {fmt::format("neighbour advertisement for {}: {}", vip.str(), e)};
    return {};
}

int XdpChannel::events_fd() const { return ring_buffer__epoll_fd(ring_); }

void XdpChannel::consume(const std::function<void(const RxEvent&)>& on) {
    on_event_ = &on;
    int n = ring_buffer__consume(ring_);
    on_event_ = nullptr;
    if (auto error = std::exchange(consume_error_, nullptr)) std::rethrow_exception(error);
    if (n < 0) throw std::runtime_error(fmt::format("reading the VRRP event ring: {}", strerror(-n)));
}

std::array<uint64_t, LBD_VRRP_REASON_MAX> XdpChannel::reasons() const {
    std::array<uint64_t, LBD_VRRP_REASON_MAX> out{};
    std::vector<uint64_t> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    for (uint32_t r = 0; r < LBD_VRRP_REASON_MAX; ++r)
        if (bpf_map_lookup_elem(h_.stats_map, &r, per_cpu.data()) == 0)
            for (uint64_t n : per_cpu) out[r] += n;
    return out;
}

}  // namespace lbd::vrrp
