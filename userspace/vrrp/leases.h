// Self-fencing's userspace half (bpf/lbd_abi.h, "Self-fencing"): the VRRP
// loop renews each instance's lease in vrrp_leases, good for one
// Master_Down_Interval; the lb program stops serving an instance's
// addresses once its lease runs out. A restarted daemon reads the leases its
// predecessor left to know how each instance is to start.
#pragma once

#include "lbd_abi.h"
#include "vrrp/state_machine.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace lbd::vrrp {

// Where the leases are kept: vrrp_leases, one slot per instance id
// (0..LBD_VRRP_MAX_INSTANCES-1). BpfLeaseMap is the real one.
class LeaseMap {
public:
    virtual ~LeaseMap() = default;
    // The slot's lease; an empty one has expires_ns 0.
    virtual lbd_vrrp_lease read(uint32_t id) const = 0;
    // Throws std::runtime_error when the map refuses.
    virtual void write(uint32_t id, const lbd_vrrp_lease& lease) = 0;
};

// vrrp_leases of the loaded lb object; the map belongs to its owner.
class BpfLeaseMap : public LeaseMap {
public:
    explicit BpfLeaseMap(int map_fd) : fd_(map_fd) {}
    lbd_vrrp_lease read(uint32_t id) const override;
    void write(uint32_t id, const lbd_vrrp_lease& lease) override;

private:
    int fd_;
};

class Leases {
public:
    // Reads the leases in the map (a previous run's, when its maps were
    // adopted). `map` outlives this.
    explicit Leases(LeaseMap& map);

    struct Previous {
        State state = State::INIT;
        bool current = false;           // not yet expired at `now`
        std::chrono::milliseconds left{};  // until expiry; negative: since
    };
    // The lease a previous run held for the instance of `key`, if any.
    std::optional<Previous> previous(const lbd_vrrp_key& key, TimePoint now) const;
    // How an instance starts, given what previous() says: resume_master for
    // a current MASTER lease, backup after an expired one.
    static Start start_for(const std::optional<Previous>& previous);

    // Moves the previous run's leases to the ids of this run's instances
    // (keys[id]), before anything serves by those ids: a current one as it
    // was, an expired or missing one as none; every other slot is cleared.
    void carry_over(const std::vector<lbd_vrrp_key>& keys, TimePoint now);

    // Writes instance `id`'s lease: `state`, current until `expires`, with
    // `flags` (enum lbd_lease_flags). Throws std::runtime_error when the map
    // refuses.
    void renew(uint32_t id, const lbd_vrrp_key& key, State state, TimePoint expires, uint8_t flags = 0);
    // Instance `id` stopped for good (a reload removed it): no lease, so a
    // next engine starts its successor as configured, not as a resumed MASTER.
    void clear(uint32_t id) { map_.write(id, lbd_vrrp_lease{}); }

private:
    LeaseMap& map_;
    std::vector<std::pair<uint32_t, lbd_vrrp_lease>> found_;  // by id
};

}  // namespace lbd::vrrp
