#include "dataplane/flow_tables.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include <fmt/format.h>

#include "util/bpffs.h"

namespace lbd::dataplane {
namespace {

constexpr uint32_t kBatch = 4096;

lbd_flow_key from_key4(const lbd_flow_key4& k4) {
    lbd_flow_key k{};
    k.src.v4 = k4.src;
    k.dst.v4 = k4.dst;
    k.sport = k4.sport;
    k.dport = k4.dport;
    k.proto = k4.proto;
    k.family = LBD_AF_INET;
    return k;
}

lbd_flow_key4 to_key4(const lbd_flow_key& k) {
    lbd_flow_key4 k4{};
    k4.src = k.src.v4;
    k4.dst = k.dst.v4;
    k4.sport = k.sport;
    k4.dport = k.dport;
    k4.proto = k.proto;
    return k4;
}

template <class Key>
size_t walk(int fd, size_t max, const std::function<void(const lbd_flow_key&, const lbd_flow&)>& fn) {
    std::vector<Key> keys(kBatch);
    std::vector<lbd_flow> values(kBatch);
    // The hash maps' batch position is a bucket number (a __u32).
    uint32_t in = 0, out = 0;
    bool first = true;
    size_t visited = 0;
    while (visited < max) {
        uint32_t count = kBatch;
        int err = bpf_map_lookup_batch(fd, first ? nullptr : &in, &out, keys.data(), values.data(), &count, nullptr);
        const bool done = err < 0 && errno == ENOENT;
        if (err < 0 && !done)
            throw std::runtime_error(fmt::format("flow table walk: {}", strerror(errno)));
        for (uint32_t i = 0; i < count && visited < max; ++i, ++visited) {
            if constexpr (std::is_same_v<Key, lbd_flow_key4>)
                fn(from_key4(keys[i]), values[i]);
            else
                fn(keys[i], values[i]);
        }
        if (done)
            break;
        in = out;
        first = false;
    }
    return visited;
}

}  // namespace

FlowTableFds::FlowTableFds(const std::string& pin_dir) {
    for (size_t i = 0; i < std::size(kFlowTables); ++i)
        fds[i] = open_pinned(pin_dir + "/" + kFlowTables[i].pin);
}

size_t walk_flows(int fd, const FlowTable& table, size_t max,
                  const std::function<void(const lbd_flow_key&, const lbd_flow&)>& fn) {
    return table.family == LBD_AF_INET ? walk<lbd_flow_key4>(fd, max, fn) : walk<lbd_flow_key>(fd, max, fn);
}

void delete_flows(int fd, const FlowTable& table, const std::vector<lbd_flow_key>& keys) {
    // One by one rather than batched: a batch stops at the first key that
    // is gone, and entries come and go under us.
    for (const auto& k : keys) {
        if (table.family == LBD_AF_INET) {
            const lbd_flow_key4 k4 = to_key4(k);
            bpf_map_delete_elem(fd, &k4);
        } else {
            bpf_map_delete_elem(fd, &k);
        }
    }
}

size_t flow_table_capacity(int fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
        return 0;
    return info.max_entries;
}

}  // namespace lbd::dataplane
