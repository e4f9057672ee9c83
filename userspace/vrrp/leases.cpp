#include "vrrp/leases.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace lbd::vrrp {
namespace {

bool same(const lbd_vrrp_key& a, const lbd_vrrp_key& b) {
    return a.ifindex == b.ifindex && a.vrid == b.vrid && a.family == b.family;
}

static_assert(static_cast<int>(State::INIT) == LBD_VRRP_INIT && static_cast<int>(State::BACKUP) == LBD_VRRP_BACKUP &&
              static_cast<int>(State::MASTER) == LBD_VRRP_MASTER && static_cast<int>(State::FAULT) == LBD_VRRP_FAULT);

int64_t ns_of(TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

lbd_vrrp_lease BpfLeaseMap::read(uint32_t id) const {
    lbd_vrrp_lease l{};
    if (bpf_map_lookup_elem(fd_, &id, &l) != 0) return lbd_vrrp_lease{};
    return l;
}

void BpfLeaseMap::write(uint32_t id, const lbd_vrrp_lease& lease) {
    if (bpf_map_update_elem(fd_, &id, &lease, BPF_ANY) < 0)
        throw std::runtime_error(fmt::format("vrrp_leases[{}]: {}", id, strerror(errno)));
}

Leases::Leases(LeaseMap& map) : map_(map) {
    for (uint32_t id = 0; id < LBD_VRRP_MAX_INSTANCES; ++id)
        if (const lbd_vrrp_lease l = map_.read(id); l.expires_ns != 0) found_.emplace_back(id, l);
}

std::optional<Leases::Previous> Leases::previous(const lbd_vrrp_key& key, TimePoint now) const {
    for (const auto& [id, l] : found_) {
        if (!same(l.key, key)) continue;
        Previous p;
        p.state = static_cast<State>(l.state);
        const int64_t left_ns = static_cast<int64_t>(l.expires_ns) - ns_of(now);
        p.current = left_ns > 0;
        p.left = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds(left_ns));
        return p;
    }
    return std::nullopt;
}

Start Leases::start_for(const std::optional<Previous>& previous) {
    if (!previous) return Start::fresh;
    if (!previous->current) return Start::backup;
    return previous->state == State::MASTER ? Start::resume_master : Start::fresh;
}

// A config that gained or lost instances numbers them anew: an id may have
// held another instance's lease, which must not fence this one's addresses.
void Leases::carry_over(const std::vector<lbd_vrrp_key>& keys, TimePoint now) {
    const int64_t now_ns = ns_of(now);
    for (uint32_t id = 0; id < keys.size(); ++id) {
        lbd_vrrp_lease l{};
        l.key = keys[id];
        for (const auto& [old_id, old] : found_)
            if (same(old.key, keys[id]) && static_cast<int64_t>(old.expires_ns) > now_ns) l = old;
        map_.write(id, l);
    }
    for (const auto& [id, old] : found_)
        if (id >= keys.size()) map_.write(id, lbd_vrrp_lease{});
}

void Leases::renew(uint32_t id, const lbd_vrrp_key& key, State state, TimePoint expires, uint8_t flags) {
    lbd_vrrp_lease l{};
    l.expires_ns = static_cast<uint64_t>(ns_of(expires));
    l.key = key;
    l.state = static_cast<uint8_t>(state);
    l.flags = flags;
    map_.write(id, l);
}

}  // namespace lbd::vrrp
