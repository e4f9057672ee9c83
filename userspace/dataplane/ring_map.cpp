#include "dataplane/ring_map.h"

#include <bpf/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include "lbd_abi.h"

namespace lbd::dataplane {
namespace {

// The kernel lays an array's values out 8 bytes apart whatever their size,
// and its mapping starts at the first value.
constexpr size_t kStride = 8;

size_t mapping_length(uint32_t slots) {
    const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return (size_t{slots} * kStride + page - 1) / page * page;
}

}  // namespace

RingMap::RingMap(UniqueFd fd, uint32_t slots) : fd_(std::move(fd)), slots_(slots), len_(mapping_length(slots)) {
    mem_ = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (mem_ == MAP_FAILED) {
        mem_ = nullptr;
        throw std::runtime_error(fmt::format("cannot map a ring map: {}", strerror(errno)));
    }
}

RingMap RingMap::create(uint32_t slots) {
    // Flags must equal the template's in bpf/lb_maps.h for `rings` to take it.
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = LBD_RING_MAP_FLAGS);
    UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "lbd_ring", sizeof(uint32_t), sizeof(uint32_t), slots, &opts));
    if (!fd)
        throw std::runtime_error(fmt::format("cannot create a ring map: {}", strerror(errno)));
    return RingMap(std::move(fd), slots);
}

std::optional<RingMap> RingMap::adopt(int rings_fd, uint32_t vip_id, uint32_t slots) {
    __u32 inner_id = 0;
    if (bpf_map_lookup_elem(rings_fd, &vip_id, &inner_id) != 0)
        return std::nullopt;
    UniqueFd fd(bpf_map_get_fd_by_id(inner_id));
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0 || info.max_entries != slots ||
        info.value_size != sizeof(uint32_t) || info.map_flags != LBD_RING_MAP_FLAGS)
        return std::nullopt;
    try {
        return RingMap(std::move(fd), slots);
    } catch (const std::runtime_error&) {
        return std::nullopt;
    }
}

RingMap::RingMap(RingMap&& o) noexcept
    : fd_(std::move(o.fd_)), slots_(o.slots_), mem_(std::exchange(o.mem_, nullptr)), len_(o.len_) {}

RingMap& RingMap::operator=(RingMap&& o) noexcept {
    if (this != &o) {
        if (mem_)
            munmap(mem_, len_);
        fd_ = std::move(o.fd_);
        slots_ = o.slots_;
        mem_ = std::exchange(o.mem_, nullptr);
        len_ = o.len_;
    }
    return *this;
}

RingMap::~RingMap() {
    if (mem_)
        munmap(mem_, len_);
}

uint32_t RingMap::at(uint32_t slot) const {
    auto* p = reinterpret_cast<uint32_t*>(static_cast<char*>(mem_) + size_t{slot} * kStride);
    return std::atomic_ref<uint32_t>(*p).load(std::memory_order_relaxed);
}

RingMap::Written RingMap::write(std::span<const uint32_t> table) {
    if (table.size() != slots_)
        throw std::logic_error(fmt::format("a table of {} slots for a ring of {}", table.size(), slots_));
    Written w;
    // Values are indexes into `reals`, so a bitmap of them is small.
    std::vector<bool> before, after;
    auto mark = [](std::vector<bool>& set, uint32_t v) {
        if (v >= set.size())
            set.resize(size_t{v} + 1);
        set[v] = true;
    };
    auto* base = static_cast<char*>(mem_);
    for (uint32_t slot = 0; slot < slots_; ++slot) {
        std::atomic_ref<uint32_t> cell(*reinterpret_cast<uint32_t*>(base + size_t{slot} * kStride));
        const uint32_t old = cell.load(std::memory_order_relaxed);
        mark(after, table[slot]);
        if (old == table[slot])
            continue;
        mark(before, old);
        // Release: the real a slot names was written to `reals` before it.
        cell.store(table[slot], std::memory_order_release);
        ++w.changed;
    }
    for (size_t v = 0; v < before.size() && !w.dropped; ++v)
        w.dropped = before[v] && (v >= after.size() || !after[v]);
    return w;
}

}  // namespace lbd::dataplane
