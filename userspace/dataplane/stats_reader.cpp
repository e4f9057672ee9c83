#include "dataplane/stats_reader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "dataplane/bpf_object.h"

namespace lbd::dataplane {
namespace {

#define LBD_REASON_NAME(id, name) name,
constexpr const char* kReasonNames[] = {LBD_REASONS(LBD_REASON_NAME)};
#undef LBD_REASON_NAME
static_assert(std::size(kReasonNames) == LBD_REASON_MAX);

size_t cpus() { return static_cast<size_t>(libbpf_num_possible_cpus()); }

lbd_counters sum_counters(int fd, uint32_t index) {
    std::vector<lbd_counters> per_cpu(cpus());
    lbd_counters total{};
    if (bpf_map_lookup_elem(fd, &index, per_cpu.data()) < 0)
        return total;
    for (const auto& c : per_cpu) {
        total.packets += c.packets;
        total.bytes += c.bytes;
        total.new_flows += c.new_flows;
    }
    return total;
}

}  // namespace

const char* reason_name(unsigned reason) {
    return reason < LBD_REASON_MAX ? kReasonNames[reason] : "unknown";
}

std::string addr_str(const lbd_addr& addr, unsigned family) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(static_cast<int>(family), addr.bytes, buf, sizeof(buf));
    return buf;
}

Snapshot read_snapshot(const std::string& dir) {
    auto pin = [&](const char* name) { return bpf::open_pinned(dir + "/" + name); };
    bpf::UniqueFd vips = pin(LBD_PIN_VIPS), active = pin(LBD_PIN_VIP_ACTIVE),
                  reals = pin(LBD_PIN_REALS), vip_stats = pin(LBD_PIN_VIP_STATS),
                  real_stats = pin(LBD_PIN_REAL_STATS), reasons = pin(LBD_PIN_REASONS),
                  conntrack = pin(LBD_PIN_CONNTRACK);
    Snapshot s;

    lbd_vip_key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(vips.get(), prev, &next) == 0) {
        VipView v;
        v.key = next;
        if (bpf_map_lookup_elem(vips.get(), &next, &v.meta) == 0) {
            lbd_vip_active a{};
            bpf_map_lookup_elem(active.get(), &v.meta.vip_id, &a);
            v.active = a.active != 0;
            v.counters = sum_counters(vip_stats.get(), v.meta.vip_id);
            s.vips.push_back(v);
        }
        key = next;
        prev = &key;
    }

    for (uint32_t i = 0; i < LBD_MAX_REALS; ++i) {
        RealView r;
        r.index = i;
        if (bpf_map_lookup_elem(reals.get(), &i, &r.real) < 0 || r.real.family == 0)
            continue;
        r.counters = sum_counters(real_stats.get(), i);
        s.reals.push_back(r);
    }

    s.reasons.assign(LBD_REASON_MAX, 0);
    std::vector<uint64_t> per_cpu(cpus());
    for (uint32_t r = 0; r < LBD_REASON_MAX; ++r) {
        if (bpf_map_lookup_elem(reasons.get(), &r, per_cpu.data()) < 0)
            throw std::runtime_error(fmt::format("cannot read reasons[{}]: {}", r, strerror(errno)));
        for (uint64_t n : per_cpu)
            s.reasons[r] += n;
    }

    lbd_flow_key fk{}, fnext{};
    const void* fprev = nullptr;
    while (bpf_map_get_next_key(conntrack.get(), fprev, &fnext) == 0) {
        ++s.flows;
        fk = fnext;
        fprev = &fk;
    }
    return s;
}

}  // namespace lbd::dataplane
