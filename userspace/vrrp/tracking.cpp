#include "vrrp/tracking.h"

#include <algorithm>
#include <utility>

namespace lbd::vrrp {
namespace {

using Kind = TrackedState::Kind;

template <class T>
const T* find(const std::vector<T>& list, const std::string& name) {
    auto it = std::find_if(list.begin(), list.end(), [&](const T& x) { return x.name == name; });
    return it == list.end() ? nullptr : &*it;
}

// The entry's weight and reverse flag over the object's own (see tracking.h).
TrackedState resolve(Kind kind, const config::Tracked& entry, int32_t own_weight, bool own_reverse) {
    TrackedState t;
    t.kind = kind;
    if (entry.weight) {
        t.weight = *entry.weight;
        t.reverse = entry.reverse;
    } else {
        t.weight = own_weight;
        t.reverse = own_reverse != entry.reverse;
    }
    return t;
}

}  // namespace

Tracking::Tracking(const config::Config& cfg) : instances_(cfg.vrrp_instances.size()) {
    auto add_entries = [&](size_t i, const std::vector<config::Tracked>& scripts,
                           const std::vector<config::Tracked>& interfaces, const std::vector<config::Tracked>& files,
                           bool weighted) {
        for (const config::Tracked& e : scripts) {
            const config::VrrpScript* s = find(cfg.vrrp_scripts, e.name);
            TrackedState t = resolve(Kind::script, e, s ? s->weight : 0, s && s->reverse);
            t.status = s && s->init_fail ? Status::down : Status::unknown;
            if (!weighted) t.weight = 0;
            bind(i, Kind::script, e.name, t);
        }
        for (const config::Tracked& e : interfaces) {
            TrackedState t = resolve(Kind::interface, e, 0, false);
            if (!weighted) t.weight = 0;
            bind(i, Kind::interface, e.name, t);
        }
        for (const config::Tracked& e : files) {
            const config::TrackFile* f = find(cfg.track_files, e.name);
            TrackedState t = resolve(Kind::file, e, f ? f->weight : 1, f && f->reverse);
            if (!weighted) t.weight = 0;
            bind(i, Kind::file, e.name, t);
        }
    };
    for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i) {
        const config::VrrpInstance& v = cfg.vrrp_instances[i];
        add_entries(i, v.track_scripts, v.track_interfaces, v.track_files, true);
        if (!v.dont_track_primary && !v.interface.empty()) {
            TrackedState own;
            own.kind = Kind::interface;
            bind(i, Kind::interface, v.interface, own);
        }
    }
    for (const config::VrrpSyncGroup& g : cfg.vrrp_sync_groups)
        for (const auto& m : g.members)
            for (size_t i = 0; i < cfg.vrrp_instances.size(); ++i)
                if (cfg.vrrp_instances[i].name == m.instance)
                    add_entries(i, g.track_scripts, g.track_interfaces, g.track_files, g.sync_group_tracking_weight);
}

void Tracking::bind(size_t instance, Kind kind, const std::string& name, TrackedState state) {
    bindings_.push_back({instance, instances_[instance].size(), kind, name});
    instances_[instance].push_back(state);
    if (kind == Kind::interface) interfaces_.insert(name);
}

template <class Apply>
std::vector<size_t> Tracking::update(Kind kind, const std::string& name, Apply apply) {
    std::vector<size_t> changed;
    for (const Binding& b : bindings_) {
        if (b.kind != kind || b.name != name) continue;
        if (!apply(instances_[b.instance][b.entry])) continue;
        if (std::find(changed.begin(), changed.end(), b.instance) == changed.end()) changed.push_back(b.instance);
    }
    return changed;
}

std::vector<size_t> Tracking::set_script(const std::string& name, Status status) {
    return update(Kind::script, name, [&](TrackedState& t) { return std::exchange(t.status, status) != status; });
}

std::vector<size_t> Tracking::set_interface(const std::string& name, bool up) {
    const Status status = up ? Status::up : Status::down;
    return update(Kind::interface, name, [&](TrackedState& t) { return std::exchange(t.status, status) != status; });
}

std::vector<size_t> Tracking::set_file(const std::string& name, int64_t value) {
    return update(Kind::file, name, [&](TrackedState& t) { return std::exchange(t.value, value) != value; });
}

int Tracking::effective_priority(size_t instance, int base) const {
    return vrrp::effective_priority(base, instances_[instance]);
}

bool Tracking::fault(size_t instance) const { return tracking_fault(instances_[instance]); }

}  // namespace lbd::vrrp
