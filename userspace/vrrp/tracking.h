// Which tracked objects move each VRRP instance, resolved from the config as
// keepalived resolves them: an instance's track_script / track_interface /
// track_file entries, those of its sync group, and its own interface
// (unless dont_track_primary). Pure: the engine feeds what scripts, links
// and files report, and reads back which instances to re-evaluate.
//
// Choices:
// - An entry without `weight` takes the vrrp_script's or track_file's own
//   weight and reverse flag (a `reverse` on the entry flips it again); with
//   `weight`, the entry's reverse alone counts. Interfaces weigh 0 (FAULT)
//   unless the entry says otherwise.
// - A sync group's entries apply to every member, with weight 0 (a failure
//   is FAULT for the whole group) unless sync_group_tracking_weight is set,
//   as keepalived has it.
// - The instance's own interface (for use_vmac, its parent) is tracked with
//   weight 0: link down is FAULT.
#pragma once

#include "config/model.h"
#include "vrrp/state_machine.h"

#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace lbd::vrrp {

class Tracking {
public:
    // Scripts start unknown (down with init_fail), interfaces up, files 0:
    // the engine reports the real values before the instances start.
    explicit Tracking(const config::Config& cfg);

    // Each returns the instances (indices into cfg.vrrp_instances) whose
    // tracked state changed.
    std::vector<size_t> set_script(const std::string& name, Status status);
    std::vector<size_t> set_interface(const std::string& name, bool up);
    std::vector<size_t> set_file(const std::string& name, int64_t value);

    std::span<const TrackedState> tracked(size_t instance) const { return instances_[instance]; }
    // What the instance's priority and fault are now.
    int effective_priority(size_t instance, int base) const;
    bool fault(size_t instance) const;

    // Every interface name some instance tracks.
    const std::set<std::string>& interfaces() const { return interfaces_; }

private:
    struct Binding {
        size_t instance;
        size_t entry;  // in instances_[instance]
        TrackedState::Kind kind;
        std::string name;
    };

    void bind(size_t instance, TrackedState::Kind kind, const std::string& name, TrackedState state);
    template <class Apply>
    std::vector<size_t> update(TrackedState::Kind kind, const std::string& name, Apply apply);

    std::vector<std::vector<TrackedState>> instances_;
    std::vector<Binding> bindings_;
    std::set<std::string> interfaces_;
};

}  // namespace lbd::vrrp
