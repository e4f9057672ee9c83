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

#include "config/model_base.h"
#include "dataplane/bpf_object.h"
#include "dataplane/dataplane.h"
#include "dataplane/neighbours.h"
#include "lbd_abi.h"
#include "vrrp/packet.h"

struct ring_buffer;

namespace lbd::vrrp {

struct ChannelInstance {
    uint32_t id = 0;  // 0..LBD_VRRP_MAX_INSTANCES-1, chosen by the engine
    int ifindex = 0;  // where adverts are received and sent
    // version, vrid, family, addresses (at most LBD_VRRP_MAX_ADDRS), auth;
    // priority and interval are given per send.
    Advert advert;
    config::IpAddr src;  // advert source address
    Mac src_mac{};       // source MAC of adverts
    Mac announce_mac{};  // source and target link-layer address of GARP / NA
    // Empty: the multicast group of the family. Otherwise adverts go to each
    // peer, and adverts from any other source are dropped in XDP.
    std::vector<config::IpAddr> unicast_peers;
    // false: the program only builds the frame (BPF_PROG_RUN without live
    // frames) and the bytes go out through AF_PACKET.
    bool live_frames = true;
};

struct RxEvent {
    int ifindex = 0;  // where it arrived
    uint32_t instance_id = 0;
    std::chrono::steady_clock::time_point at;  // when the XDP program saw it
    std::span<const uint8_t> packet;           // the IP packet; valid during the callback
};

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
    std::optional<config::IpAddr> unicast_dst;  // Advert: a peer; none: the group
    Mac dst_mac{};                    // Advert with unicast_dst
    config::IpAddr vip;               // Garp (IPv4) / Na (IPv6)
    bool router = false;              // Na: the Router flag
};

class XdpChannel {
public:
    // The Dataplane that owns `handles` outlives the channel. Throws when the
    // handles are not those of a loaded lb object.
    explicit XdpChannel(const dataplane::VrrpHandles& handles);
    ~XdpChannel();
    XdpChannel(const XdpChannel&) = delete;
    XdpChannel& operator=(const XdpChannel&) = delete;

    // Writes vrrp_tx, vrrp_peers and vrrp_rx for the instance, replacing an
    // earlier one with the same id. Throws std::invalid_argument naming what
    // cannot be served (another id owns the VRID on the interface, too many
    // addresses, an advert packet.h cannot encode), std::runtime_error when
    // a map refuses.
    void configure(const ChannelInstance& instance);
    void remove(uint32_t id);

    // One advert to the group, or one to each unicast peer. Returns an error
    // text per destination that failed (empty: all sent); never throws.
    std::vector<std::string> send_advert(uint32_t id, uint8_t priority, uint16_t max_advert_int_cs);
    // Announcements from the instance's announce_mac.
    std::vector<std::string> send_garp(uint32_t id, const config::IpAddr& vip);
    std::vector<std::string> send_na(uint32_t id, const config::IpAddr& vip, bool router);

    // The frame the tx program builds for a configured instance, without
    // sending it. Throws std::runtime_error naming what failed.
    std::vector<uint8_t> build_frame(uint32_t id, const TxRequest& request) const;

    // What identifies a configured instance across restarts: interface,
    // VRID and family (vrrp_rx's key).
    lbd_vrrp_key key(uint32_t id) const { return slot(id).rx_key; }

    int events_fd() const;  // readable when events are queued (epoll)
    // Hands every queued event to `on`, in arrival order.
    void consume(const std::function<void(const RxEvent&)>& on);
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
    std::string send_live(uint32_t id, int ifindex, const TxRequest& request) const;
    std::string send_packet(int ifindex, const std::vector<uint8_t>& frame);
    std::optional<dataplane::NextHop> next_hop(const config::IpAddr& peer, std::string& error);
    static int on_sample(void* ctx, void* data, size_t size);

    dataplane::VrrpHandles h_;
    std::map<uint32_t, Slot> slots_;
    ring_buffer* ring_ = nullptr;
    const std::function<void(const RxEvent&)>* on_event_ = nullptr;  // during consume()
    std::exception_ptr consume_error_;  // thrown by on_event_: must not unwind through libbpf
    bpf::UniqueFd packet_fd_;  // AF_PACKET, opened at the first fallback send
    std::optional<dataplane::Neighbours> neighbours_;  // opened at the first unicast send
    std::chrono::steady_clock::time_point neighbours_read_{};
};

}  // namespace lbd::vrrp
