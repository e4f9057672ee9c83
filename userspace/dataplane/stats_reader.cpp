#include "dataplane/stats_reader.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "dataplane/flow_tables.h"
#include "util/bpffs.h"

namespace lbd::dataplane {
namespace {

#define LBD_REASON_NAME(id, name) name,
constexpr const char* kReasonNames[] = {LBD_REASONS(LBD_REASON_NAME)};
constexpr const char* kVrrpReasonNames[] = {LBD_VRRP_REASONS(LBD_REASON_NAME)};
constexpr const char* kFlowEventNames[] = {LBD_FLOW_EVENTS(LBD_REASON_NAME)};
#undef LBD_REASON_NAME
static_assert(std::size(kReasonNames) == LBD_REASON_MAX);
static_assert(std::size(kVrrpReasonNames) == LBD_VRRP_REASON_MAX);
static_assert(std::size(kFlowEventNames) == LBD_FE_MAX);

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

const char* flow_event_name(unsigned event) { return event < LBD_FE_MAX ? kFlowEventNames[event] : "unknown"; }

const char* vrrp_reason_name(unsigned reason) {
    return reason < LBD_VRRP_REASON_MAX ? kVrrpReasonNames[reason] : "unknown";
}

std::string mac_str(const __u8* m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

std::string addr_str(const lbd_addr& addr, unsigned family) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(static_cast<int>(family), addr.bytes, buf, sizeof(buf));
    return buf;
}

std::string vip_name(const lbd_vip_key& key) {
    const std::string addr = addr_str(key.addr, key.family);
    return fmt::format("{}:{}:{}", key.family == LBD_AF_INET6 ? "[" + addr + "]" : addr,
                       key.proto == IPPROTO_TCP ? "tcp" : "udp", ntohs(key.port));
}

const char* mode_name(unsigned mode) {
    switch (mode) {
    case LBD_MODE_DR: return "DR";
    case LBD_MODE_TUN: return "TUN";
    case LBD_MODE_NAT: return "NAT";
    default: return "unknown";
    }
}

namespace {

// Calls fn(key) for every key of a hash map.
template <class Key>
void for_each_key(int fd, auto&& fn) {
    Key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        fn(next);
        key = next;
        prev = &key;
    }
}

// A per-CPU array of counters, summed over CPUs.
std::vector<uint64_t> sum_reasons(int fd, uint32_t count, const char* name) {
    std::vector<uint64_t> total(count, 0);
    std::vector<uint64_t> per_cpu(cpus());
    for (uint32_t r = 0; r < count; ++r) {
        if (bpf_map_lookup_elem(fd, &r, per_cpu.data()) < 0)
            throw std::runtime_error(fmt::format("cannot read {}[{}]: {}", name, r, strerror(errno)));
        for (uint64_t n : per_cpu)
            total[r] += n;
    }
    return total;
}

lbd_vip_key from_key4(const lbd_vip_key4& k4) {
    lbd_vip_key k{};
    k.addr.v4 = k4.addr;
    k.port = k4.port;
    k.proto = k4.proto;
    k.family = LBD_AF_INET;
    return k;
}

}  // namespace

Snapshot read_snapshot(const std::string& dir) {
    auto pin = [&](const char* name) { return open_pinned(dir + "/" + name); };
    UniqueFd vips4 = pin(LBD_PIN_VIPS4), vips6 = pin(LBD_PIN_VIPS6),
                  active = pin(LBD_PIN_VIP_ACTIVE), reals = pin(LBD_PIN_REALS),
                  vip_stats = pin(LBD_PIN_VIP_STATS), real_stats = pin(LBD_PIN_REAL_STATS),
                  reasons = pin(LBD_PIN_REASONS), flow_events = pin(LBD_PIN_FLOW_EVENTS),
                  vrrp_reasons = pin(LBD_PIN_VRRP_RX_STATS);
    Snapshot s;

    auto add_vip = [&](const lbd_vip_key& key, int map_fd, const void* map_key) {
        VipView v;
        v.key = key;
        if (bpf_map_lookup_elem(map_fd, map_key, &v.meta) < 0)
            return;
        lbd_vip_active a{};
        bpf_map_lookup_elem(active.get(), &v.meta.vip_id, &a);
        v.active = a.active != 0;
        v.counters = sum_counters(vip_stats.get(), v.meta.vip_id);
        s.vips.push_back(v);
    };
    for_each_key<lbd_vip_key4>(vips4.get(), [&](const lbd_vip_key4& k) {
        add_vip(from_key4(k), vips4.get(), &k);
    });
    for_each_key<lbd_vip_key>(vips6.get(), [&](const lbd_vip_key& k) {
        add_vip(k, vips6.get(), &k);
    });

    for (uint32_t i = 0; i < LBD_MAX_REALS; ++i) {
        RealView r;
        r.index = i;
        if (bpf_map_lookup_elem(reals.get(), &i, &r.real) < 0 || r.real.family == 0)
            continue;
        r.counters = sum_counters(real_stats.get(), i);
        s.reals.push_back(r);
    }

    s.reasons = sum_reasons(reasons.get(), LBD_REASON_MAX, LBD_PIN_REASONS);
    s.vrrp_reasons = sum_reasons(vrrp_reasons.get(), LBD_VRRP_REASON_MAX, LBD_PIN_VRRP_RX_STATS);
    s.flow_events = sum_reasons(flow_events.get(), LBD_FE_MAX, LBD_PIN_FLOW_EVENTS);
    return s;
}

std::vector<FlowView> read_flows(const std::string& dir, const std::function<bool(const FlowView&)>& keep,
                                 size_t limit, size_t& total) {
    FlowTableFds tables(dir);
    std::vector<FlowView> out;
    total = 0;
    for (size_t t = 0; t < std::size(kFlowTables); ++t) {
        const int fd = tables.fds[t].get();
        walk_flows(fd, kFlowTables[t], flow_table_capacity(fd), [&](const lbd_flow_key& k, const lbd_flow& flow) {
            const FlowView f{k, flow};
            if (!keep(f)) return;
            ++total;
            if (out.size() < limit) out.push_back(f);
        });
    }
    return out;
}

}  // namespace lbd::dataplane
