// The VRRP engine's wire: adverts in from the lb program's ring buffer,
// adverts, gratuitous ARPs and unsolicited NAs out through the lbd_vrrp_tx
// program (bpf/lib/vrrp_rx.h, bpf/lib/vrrp_tx.h). One builder, two
// transports: on an interface in native XDP mode the program sends the frame
// itself (BPF_PROG_RUN with live frames, XDP_TX); elsewhere it only builds
// the frame and the channel sends the bytes through an AF_PACKET socket.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lbd_abi.h"
#include "net/neighbours.h"
#include "util/unique_fd.h"
#include "vrrp/multicast.h"
#include "vrrp/packet.h"
#include "vrrp/wire.h"

struct ring_buffer;

namespace lbd::vrrp {

enum class TxKind : uint8_t {
    Advert = LBD_VRRP_TX_ADVERT,
    Garp = LBD_VRRP_TX_GARP,
    Na = LBD_VRRP_TX_NA,
};

// One frame for the tx program to build.
struct TxRequest {
    TxKind kind = TxKind::Advert;
    uint8_t priority = 0;             // Advert
    uint16_t max_advert_int_cs = 0;   // Advert
    uint16_t ipv4_id = 0;             // Advert over IPv4
    std::optional<IpAddr> unicast_dst;  // Advert: a peer; none: the group
    Mac dst_mac{};                    // Advert with unicast_dst
    IpAddr vip;               // Garp (IPv4) / Na (IPv6)
    bool router = false;              // Na: the Router flag
};

// The descriptors of the lb object's VRRP maps and of its tx program
// (bpf/lb_maps.h), which the data plane loaded and owns.
struct ChannelMaps {
    int rx_map = -1;
    int peers_map = -1;
    int tx_map = -1;
    int events_map = -1;
    int stats_map = -1;
    int tx_prog = -1;
};

class XdpChannel : public Wire {
public:
    // The owner of `maps` outlives the channel. Throws when they are not
    // those of a loaded lb object, or the group sockets cannot be opened.
    explicit XdpChannel(const ChannelMaps& maps);
    ~XdpChannel() override;
    XdpChannel(const XdpChannel&) = delete;
    XdpChannel& operator=(const XdpChannel&) = delete;

    // Writes vrrp_tx, vrrp_peers and vrrp_rx for the instance. Refused as
    // std::invalid_argument: another id owns the VRID on the interface, too
    // many addresses, an advert packet.h cannot encode.
    void configure(const ChannelInstance& instance) override;
    void remove(uint32_t id) override;
    void join(int ifindex, const IpAddr& group) override;

    std::vector<std::string> send_advert(uint32_t id, uint8_t priority, uint16_t max_advert_int_cs) override;
    std::vector<std::string> send_garp(uint32_t id, const IpAddr& vip) override;
    std::vector<std::string> send_na(uint32_t id, const IpAddr& vip, bool router) override;

    // The frame the tx program builds for a configured instance, without
    // sending it. Throws std::runtime_error naming what failed.
    std::vector<uint8_t> build_frame(uint32_t id, const TxRequest& request) const;

    // vrrp_rx's key.
    lbd_vrrp_key key(uint32_t id) const override { return slot(id).rx_key; }

    int events_fd() const override;
    void consume(const std::function<void(const RxEvent&)>& on) override;
    // Per-reason counts of the lb program's VRRP verdicts, summed over CPUs.
    std::array<uint64_t, LBD_VRRP_REASON_MAX> reasons() const;

private:
    struct Slot {
        ChannelInstance config;
        lbd_vrrp_key rx_key{};
        uint16_t next_ipv4_id = 1;  // keepalived's counter: 1 first, 65535 wraps to 1
    };

    const Slot& slot(uint32_t id) const;
    void write_maps(const Slot& s);
    void clear_maps(const Slot& s);
    uint16_t take_ipv4_id(Slot& s);
    // Sending one frame on ifindex returns an error text, empty when sent.
    std::string send(const ChannelInstance& c, int ifindex, const TxRequest& request);
    int send_live(uint32_t id, int ifindex, const TxRequest& request) const;  // 0 or the errno
    std::string send_packet(int ifindex, const std::vector<uint8_t>& frame);
    std::optional<net::NextHop> next_hop(const IpAddr& peer, std::string& error);
    static int on_sample(void* ctx, void* data, size_t size);

    ChannelMaps h_;
    std::map<uint32_t, Slot> slots_;
    ring_buffer* ring_ = nullptr;
    const std::function<void(const RxEvent&)>* on_event_ = nullptr;  // during consume()
    std::exception_ptr consume_error_;  // thrown by on_event_: must not unwind through libbpf
    UniqueFd packet_fd_;  // AF_PACKET, opened at the first fallback send
    std::optional<net::Neighbours> neighbours_;  // opened at the first unicast send
    std::chrono::steady_clock::time_point neighbours_read_{};
    std::optional<GroupMembership> membership_;  // opened at the first join
    bool live_refused_ = false;  // the kernel answered live frames with EPERM: AF_PACKET for all
};

}  // namespace lbd::vrrp
