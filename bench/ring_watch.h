// What the control-plane benchmarks (lbd-bench-weight, lbd-bench-verdict)
// read of lbd's pinned maps: a VIP's entry, a real's index, the VIP's ring
// whole through system calls, and one of its slots through a mapping of the
// ring (lbd's rings are BPF_F_MMAPABLE), cheap enough to watch in a loop.
// The pins live in lbd's mount namespace: run the tools under nsenter.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/unique_fd.h"
#include "lbd_abi.h"

namespace lbd::bench {

[[noreturn]] inline void fail(const std::string& what, int err = errno) {
    throw std::runtime_error(fmt::format("{}: {}", what, strerror(err)));
}

using Fd = lbd::UniqueFd;

inline uint32_t ipv4(const std::string& s, const char* what) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1)
        throw std::runtime_error(fmt::format("{}: not an IPv4 address: {}", what, s));
    return a.s_addr;
}

inline Fd open_pin(const std::string& dir, const char* name) {
    const std::string path = dir + "/" + name;
    Fd fd(bpf_obj_get(path.c_str()));
    if (fd.get() < 0)
        fail("open pinned map " + path + " (run in lbd's mount namespace)");
    return fd;
}

inline lbd_vip_meta vip_meta(const std::string& pin_dir, const std::string& vip, uint16_t port,
                             const std::string& proto) {
    lbd_vip_key4 key{};
    key.addr = ipv4(vip, "--vip");
    key.port = htons(port);
    key.proto = proto == "udp" ? IPPROTO_UDP : IPPROTO_TCP;
    lbd_vip_meta meta{};
    Fd vips = open_pin(pin_dir, LBD_PIN_VIPS4);
    if (bpf_map_lookup_elem(vips.get(), &key, &meta) < 0)
        fail(fmt::format("virtual service {}:{} {} in {}", vip, port, proto, LBD_PIN_VIPS4));
    return meta;
}

// The real's index in `reals`, which its ring slots hold, while it is up.
inline std::optional<uint32_t> find_real(const std::string& pin_dir, const std::string& real) {
    const uint32_t addr = ipv4(real, "--real");
    Fd reals = open_pin(pin_dir, LBD_PIN_REALS);
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(reals.get(), &info, &len) < 0)
        fail("info of the reals map");
    for (uint32_t i = 0; i < info.max_entries; ++i) {
        lbd_real r{};
        if (bpf_map_lookup_elem(reals.get(), &i, &r) < 0)
            fail(fmt::format("reals[{}]", i));
        if (r.family == LBD_AF_INET && r.addr.v4 == addr && (r.flags & LBD_REAL_F_UP))
            return i;
    }
    return std::nullopt;
}

inline uint32_t real_index(const std::string& pin_dir, const std::string& real) {
    if (auto index = find_real(pin_dir, real))
        return *index;
    throw std::runtime_error(fmt::format("real server {} is not in the reals map, or not up", real));
}

struct Ring {
    uint32_t map_id = 0;  // the inner map `rings` holds for the VIP
    std::vector<uint32_t> slots;
};

class RingReader {
public:
    RingReader(const std::string& pin_dir, const lbd_vip_meta& meta)
        : rings_(open_pin(pin_dir, LBD_PIN_RINGS)), vip_id_(meta.vip_id), size_(meta.ring_size) {}

    Ring read() const {
        Ring ring;
        // From userspace, an array of maps yields the inner map's id.
        if (bpf_map_lookup_elem(rings_.get(), &vip_id_, &ring.map_id) < 0)
            fail(fmt::format("rings[{}]: the VIP has no ring", vip_id_));
        Fd inner(bpf_map_get_fd_by_id(ring.map_id));
        if (inner.get() < 0)
            fail(fmt::format("ring map id {} (replaced while being read?)", ring.map_id));
        ring.slots.resize(size_);
        std::vector<uint32_t> keys(size_);
        uint32_t done = 0, next = 0;
        // An array yields all its entries over a few batches, then ENOENT.
        while (done < size_) {
            uint32_t count = size_ - done;
            int rc = bpf_map_lookup_batch(inner.get(), done ? &next : nullptr, &next, keys.data() + done,
                                          ring.slots.data() + done, &count, nullptr);
            if (rc < 0 && errno != ENOENT)
                fail(fmt::format("read ring map id {}", ring.map_id));
            done += count;
            if (rc < 0)
                break;
        }
        if (done != size_)
            throw std::runtime_error(fmt::format("ring map id {}: {} of {} slots", ring.map_id, done, size_));
        return ring;
    }

    uint32_t size() const { return size_; }
    uint32_t vip_id() const { return vip_id_; }
    int rings_fd() const { return rings_.get(); }

private:
    Fd rings_;
    uint32_t vip_id_;
    uint32_t size_;
};

// One slot of a ring's inner map as the program reads it, through a mapping
// of the map (lbd's rings are BPF_F_MMAPABLE): no system call per look.
class SlotWatch {
public:
    SlotWatch(const RingReader& reader, uint32_t map_id, uint32_t slot) : slot_(slot) {
        fd_ = Fd(bpf_map_get_fd_by_id(map_id));
        if (fd_.get() < 0)
            fail(fmt::format("ring map id {}", map_id));
        // Values lie 8 bytes apart in an array's mapping.
        len_ = (size_t{reader.size()} * 8 + 4095) / 4096 * 4096;
        mem_ = mmap(nullptr, len_, PROT_READ, MAP_SHARED, fd_.get(), 0);
        if (mem_ == MAP_FAILED)
            fail(fmt::format("map ring map id {} (not BPF_F_MMAPABLE?)", map_id));
    }
    ~SlotWatch() { munmap(mem_, len_); }
    SlotWatch(const SlotWatch&) = delete;
    SlotWatch& operator=(const SlotWatch&) = delete;

    uint32_t value() const {
        return __atomic_load_n(reinterpret_cast<const uint32_t*>(static_cast<const char*>(mem_) + size_t{slot_} * 8),
                               __ATOMIC_ACQUIRE);
    }
    uint32_t slot() const { return slot_; }

private:
    Fd fd_;
    uint32_t slot_;
    void* mem_ = nullptr;
    size_t len_ = 0;
};

struct Stats {
    double min_us, median_us, p90_us, max_us;
};

inline Stats stats_of(std::vector<double> us) {
    std::sort(us.begin(), us.end());
    const size_t n = us.size();
    const double median = n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
    // Nearest rank: the smallest value at or above 90 % of the samples.
    const size_t p90 = static_cast<size_t>(std::ceil(0.9 * double(n))) - 1;
    return {us.front(), median, us[p90], us.back()};
}

inline double round1(double x) { return std::round(x * 10) / 10; }

// Stats as the tools print them: PREFIX + median_us, p90_us, min_us, max_us.
inline void put_stats(nlohmann::json& out, const std::string& prefix, const Stats& s) {
    out[prefix + "median_us"] = round1(s.median_us);
    out[prefix + "p90_us"] = round1(s.p90_us);
    out[prefix + "min_us"] = round1(s.min_us);
    out[prefix + "max_us"] = round1(s.max_us);
}

// The options that name lbd's pins and the virtual service.
inline void add_service_options(CLI::App& app, std::string& pin_dir, std::string& vip, uint16_t& port,
                                std::string& proto) {
    app.add_option("--pin-dir", pin_dir, "lbd's pinned maps (/sys/fs/bpf/lbd/NAME)")->required();
    app.add_option("--vip", vip, "the virtual service's IPv4 address")->required();
    app.add_option("--port", port, "the virtual service's port")->required();
    app.add_option("--proto", proto, "the virtual service's protocol")
        ->capture_default_str()
        ->check(CLI::IsMember({"tcp", "udp"}));
}

}  // namespace lbd::bench
