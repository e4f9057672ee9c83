// The VRRP engine's wire, as its routers and engine see it: instances
// configured on it, adverts and announcements out, adverts in. XdpChannel
// (vrrp/xdp_channel.h) is the wire lbd runs on; unit tests give a fake.
#pragma once

#include "lbd_abi.h"
#include "util/ip_addr.h"
#include "vrrp/packet.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lbd::vrrp {

struct ChannelInstance {
    uint32_t id = 0;  // 0..LBD_VRRP_MAX_INSTANCES-1, chosen by the engine
    int ifindex = 0;  // where adverts are received and sent
    // version, vrid, family, addresses (at most LBD_VRRP_MAX_ADDRS), auth;
    // priority and interval are given per send.
    Advert advert;
    IpAddr src;          // advert source address
    Mac src_mac{};       // source MAC of adverts
    Mac announce_mac{};  // source and target link-layer address of GARP / NA
    // Empty: the multicast group of the family. Otherwise adverts go to each
    // peer, and adverts from any other source are dropped in XDP.
    std::vector<IpAddr> unicast_peers;
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

class Wire {
public:
    virtual ~Wire() = default;

    // Sets the instance up on the wire, replacing an earlier one with the
    // same id. Throws std::invalid_argument naming what cannot be served,
    // std::runtime_error when the kernel refuses.
    virtual void configure(const ChannelInstance& instance) = 0;
    virtual void remove(uint32_t id) = 0;
    // Membership of a VRRP group on an interface, so that real NICs let the
    // group's frames in (adverts reach lbd through XDP, not a socket).
    // Idempotent; throws naming the group and interface on failure.
    virtual void join(int ifindex, const IpAddr& group) = 0;

    // One advert to the group, or one to each unicast peer. Returns an error
    // text per destination that failed (empty: all sent); never throws.
    virtual std::vector<std::string> send_advert(uint32_t id, uint8_t priority, uint16_t max_advert_int_cs) = 0;
    // Announcements from the instance's announce_mac.
    virtual std::vector<std::string> send_garp(uint32_t id, const IpAddr& vip) = 0;
    virtual std::vector<std::string> send_na(uint32_t id, const IpAddr& vip, bool router) = 0;

    // What identifies a configured instance across restarts: interface,
    // VRID and family.
    virtual lbd_vrrp_key key(uint32_t id) const = 0;

    virtual int events_fd() const = 0;  // readable when adverts are queued (epoll)
    // Hands every queued advert to `on`, in arrival order.
    virtual void consume(const std::function<void(const RxEvent&)>& on) = 0;
};

}  // namespace lbd::vrrp
