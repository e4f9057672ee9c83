// The data plane as the daemon sees it: the lb XDP program attached (through
// libxdp) to the configured interfaces, its maps pinned under
// /sys/fs/bpf/lbd/<instance>/, and the virtual services of the config turned
// into map entries and Maglev rings.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "config/model.h"
#include "config/nat.h"
#include "util/unique_fd.h"
#include "dataplane/flow_census.h"
#include "dataplane/id_pool.h"
#include "dataplane/ring_map.h"
#include "net/neighbours.h"
#include "lbd_abi.h"

struct lbd_lb;
struct ring_buffer;
struct xdp_program;

namespace lbd::dataplane {

struct Options {
    std::string instance = "default";
    std::vector<std::string> interfaces;
    uint32_t ring_size = LBD_RING_SIZE_DEFAULT;
    std::optional<IpAddr> tunnel_source4;
    std::optional<IpAddr> tunnel_source6;
    uint32_t conntrack_size = LBD_CONNTRACK_SIZE;  // entries of each flow table
    uint32_t flood_guard = 0;                      // new flow entries per CPU and second; 0: no limit
};

// /sys/fs/bpf/lbd/<instance>: where the Dataplane of `instance` pins its maps.
std::string pin_dir(const std::string& instance);

// A VIP address some VRRP instance floats, and that instance's id (its
// lease in vrrp_leases fences the address).
using Managed = std::map<IpAddr, uint32_t>;

class Dataplane {
public:
    // Loads the program, pins its maps and attaches it; throws with what
    // failed. The maps a killed daemon of this instance left are adopted
    // when their ABI version is ours (flows, counters and ids carry on),
    // and its program is replaced in place, without a moment unattached;
    // pins of another ABI are removed first.
    explicit Dataplane(Options options);
    // Detaches the program and removes the pins.
    ~Dataplane();
    Dataplane(const Dataplane&) = delete;
    Dataplane& operator=(const Dataplane&) = delete;

    // Makes the maps serve exactly `services`. VIPs and reals that stay keep
    // their ids, their counters and their flows; a real that goes has its
    // flows moved (at once: the program re-picks flows of a real that is not
    // up; their entries are deleted by the next count). A ring that changes
    // is written in place, only its slots that differ; a new one (a new
    // service, another ring size) goes into `rings` filled.
    // All or nothing: every step that can fail (an id from the pools, a
    // new ring map made and filled) is taken before the first map is written,
    // and what is written after that goes to maps with room for it; a
    // refused apply throws with the reason and leaves the maps as they were.
    void apply(const std::vector<config::VirtualServer>& services);
    // Throws what apply() would for a configuration whose virtual servers
    // are `services`, their sorry servers counted among the reals (the
    // checkers may put any of them in): the ids the change needs at once,
    // counted from what the maps serve now. Changes nothing.
    void check_capacity(const std::vector<config::VirtualServer>& services) const;
    // One service of the last apply() changed by its health checks (from
    // the checkers' thread): applied the same way, and the flows of the
    // reals in `drop_flows` through this service dropped, so that clients
    // of a dead real that stays in the pool (weight 0) move too. A service
    // the last apply() did not have is ignored.
    void update_service(const config::VirtualServer& vs, const std::set<IpAddr>& drop_flows);
    // The VIP addresses VRRP instances manage: their services are served
    // only while set_owned() says this node is master for them, and while
    // their instance's lease is current; the others always. Takes effect at
    // the next apply().
    void set_managed(Managed addresses);
    // Called from the VRRP thread while the main thread may be in apply().
    void set_owned(const IpAddr& address, bool owned);
    // The flood guard's rate (lb_flood_guard), at once.
    void set_flood_guard(uint32_t per_cpu_per_second);
    // The flow tables as last counted (a walk every few seconds, off the
    // caller's thread).
    FlowCounts flow_counts() const;
    // Scale-out: the lb program drops the node's BGP and BFD packets once
    // `expires` (steady_clock) has passed, so that its routers withdraw what
    // a dead daemon announced (bpf/lib/fence.h); none: never. Any thread.
    void set_announce_lease(std::optional<std::chrono::steady_clock::time_point> expires);
    // Re-reads every real's next hop from the kernel; the daemon calls it
    // once a second.
    void refresh_next_hops();
    // NAT replies dropped because the kernel had no neighbour entry for the
    // client's next hop: readable when some are queued (epoll); resolve()
    // asks the kernel to resolve each, at most once a second per address.
    int unresolved_fd() const;
    void resolve_unresolved();

    const std::string& pin_dir() const { return pin_dir_; }
    // Whether the maps came from a previous run.
    bool adopted() const { return adopted_; }
    // The loaded lb object (its skeleton, lb.skel.h): the VRRP engine's
    // wire drives its VRRP maps and tx program.
    const lbd_lb& objects() const { return *skel_; }
    // Whether the lb program runs on ifindex in native mode: there the
    // driver transmits the tx program's XDP_TX frames (BPF_PROG_RUN live
    // frames); elsewhere VRRP frames go through an AF_PACKET socket.
    bool native(int ifindex) const;

private:
    using VipKey = std::tuple<IpAddr, uint16_t, config::Proto>;
    // What one entry of `reals` stands for: an address (DR, TUN), or a NAT
    // real's (address, port, protocol), whose port the packets go to.
    struct RealKey {
        IpAddr addr;
        uint16_t port = 0;  // host order; 0 for DR and TUN, and for a port-0 NAT service
        uint8_t proto = 0;  // IPPROTO_TCP / IPPROTO_UDP for NAT; 0 for DR and TUN
        auto operator<=>(const RealKey&) const = default;
        // Its Maglev identity: the address, with the port for NAT.
        std::string name() const;
        // As logs name it: "[10.213.0.13]", or keepalived's service name for NAT.
        std::string display() const;
    };
    struct Real {
        uint32_t index = 0;
        RealKey key;
        std::optional<net::NextHop> hop;
    };
    struct Vip {
        uint32_t id = 0;
        lbd_vip_meta meta{};
        std::vector<std::pair<RealKey, uint32_t>> weights;  // ring input
        bool adopted = false;  // from a previous run's maps, its ring not yet rebuilt
        std::optional<RingMap> ring;  // what `rings` holds for it; none while no real is picked
        uint64_t inputs = 0;          // ring_inputs: the fingerprint of what the ring was built from
    };
    // What an apply() does, worked out before any map is written. Services
    // that go free their VIP ids first, and reals no ring will use after
    // that free theirs, before any new one takes an id; a real that leaves
    // a service that stays keeps its id until that service's ring no longer
    // picks it, so the reals' peak is the new ones and those.
    struct Plan {
        struct Service {
            const config::VirtualServer* vs = nullptr;
            uint32_t id = 0;
            bool fresh = false;
            lbd_vip_meta meta{};
            std::vector<std::pair<RealKey, uint32_t>> weights;
            bool ring_changed = false;
            uint64_t inputs = 0;              // the fingerprint of the ring's inputs (ring_inputs)
            bool picks = false;               // some real has weight > 0: the service has a ring
            bool in_place = false;            // ring_changed, and the running ring is rewritten
            std::optional<RingMap> new_ring;  // ring_changed without a running ring of its size: made, filled
            RingMap::Written written;         // of the ring rewritten in place
            std::optional<lbd_lc_set> lc;
        };
        IdPool vip_ids;
        IdPool real_ids;
        std::set<RealKey> per_flow;
        std::vector<VipKey> removed;
        std::vector<RealKey> freed_early;
        std::map<RealKey, uint32_t> added;
        std::vector<Service> services;
    };
    struct Attachment {
        int ifindex = 0;
        std::string name;
        int mode = 0;           // enum xdp_attach_mode
        bool replaced = false;  // took a previous lbd's place (bpf_xdp_attach, not libxdp)
    };

    void load();
    void teardown() noexcept;
    void attach(const std::string& ifname);
    bool replace_stale(int ifindex, const std::string& ifname);
    void adopt();
    void write_fence();
    const lbd_iface& add_iface(int ifindex);
    void add_real(const RealKey& key, uint32_t index);
    static RealKey real_key(const config::VirtualServer& vs, const config::RealServer& rs);
    void remove_real(const Real& r);
    void write_real(const Real& r, bool up);
    Plan plan(const std::vector<config::VirtualServer>& services, bool build) const;
    void plan_reals(Plan& p, const std::vector<config::VirtualServer>& services) const;
    Plan::Service plan_service(const Plan& p, const config::VirtualServer& vs, bool build) const;
    void commit(Plan& p, const std::vector<config::VirtualServer>& services);
    void write_rings(Plan& p);
    void wait_for_readers();
    void commit_service(Plan::Service& s);
    void remove_vip(const VipKey& key, const Vip& vip);
    void make_new_rings(Plan& p) const;
    std::vector<uint32_t> ring_table(const Plan& p, const Plan::Service& s) const;
    uint32_t planned_index(const Plan& p, const RealKey& key) const;
    void write_ring_inputs(uint32_t vip_id, uint64_t inputs);
    void apply_locked(const std::vector<config::VirtualServer>& services);
    void refresh_locked();
    void purge_flows_of_real(uint32_t index);
    void purge_flows(uint32_t vip_id, const std::set<uint32_t>& real_indexes);
    bool serving(const IpAddr& addr) const;
    void write_vip_active(uint32_t vip_id, const IpAddr& addr);
    void write_vip_addr(const IpAddr& addr, bool present);
    void write_vip_key(const lbd_vip_key& k, const lbd_vip_meta& meta, const std::string& name);
    void write_nat(const std::vector<config::VirtualServer>& services);
    void write_nat_reverse(const config::NatReplyKey& key, const lbd_nat_service* value);
    void delete_vip_key(const lbd_vip_key& k);
    void zero_counters(int map_fd, uint32_t index);

    Options options_;
    std::string pin_dir_;
    lbd_lb* skel_ = nullptr;
    xdp_program* prog_ = nullptr;
    bool adopted_ = false;
    std::vector<Attachment> attachments_;
    std::unique_ptr<FlowCensus> census_;
    net::Neighbours neighbours_;
    IdPool vip_ids_{LBD_MAX_VIPS};
    IdPool real_ids_{LBD_MAX_REALS};
    std::map<VipKey, Vip> vips_;
    std::map<RealKey, Real> reals_;
    // NAT: reals whose replies need the flow (LBD_REAL_F_NAT_PER_FLOW), and
    // what nat_reverse4/6 hold.
    std::set<RealKey> nat_per_flow_;
    static int on_unresolved(void* ctx, void* data, size_t size);
    ring_buffer* unresolved_ = nullptr;
    std::vector<IpAddr> unresolved_hops_;  // of one resolve_unresolved()
    std::map<IpAddr, std::chrono::steady_clock::time_point> kicked_;  // last resolve asked, by address
    std::map<config::NatReplyKey, lbd_nat_service> nat_reverse_;
    std::map<int, lbd_iface> ifaces_;  // as written to ifaces (and tx_ports)
    // apply() and refresh_next_hops() (main thread) against update_service()
    // (checkers' thread): services_, vips_, reals_.
    mutable std::mutex apply_mutex_;
    std::vector<config::VirtualServer> services_;
    // The VRRP thread's set_owned() against apply(): held only around a
    // vip_active write, never while a ring is built, so a takeover does not
    // wait for a reload.
    std::mutex owned_mutex_;
    Managed managed_;
    std::set<IpAddr> owned_;
    std::map<IpAddr, std::set<uint32_t>> vip_ids_by_addr_;
};

}  // namespace lbd::dataplane
