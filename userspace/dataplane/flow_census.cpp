#include "dataplane/flow_census.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "util/bpffs.h"
#include "util/log.h"

namespace lbd::dataplane {
namespace {

uint64_t coarse_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

FlowCensus::FlowCensus(Options options) : options_(std::move(options)), tables_(options_.pin_dir) {
    UniqueFd conns = open_pinned(options_.pin_dir + "/" LBD_PIN_REAL_CONNS);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    conns_bytes_ = (LBD_MAX_REALS * sizeof(int64_t) + page - 1) / page * page;
    void* p = mmap(nullptr, conns_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED, conns.get(), 0);
    if (p == MAP_FAILED)
        throw std::runtime_error(fmt::format("cannot map real_conns: {}", strerror(errno)));
    conns_ = static_cast<int64_t*>(p);
    for (const auto& fd : tables_.fds)
        counts_.capacity += flow_table_capacity(fd.get());
    thread_ = std::thread([this] { run(); });
}

FlowCensus::~FlowCensus() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    munmap(conns_, conns_bytes_);
}

FlowCounts FlowCensus::counts() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

void FlowCensus::purge_reals(const std::set<uint32_t>& indexes) {
    if (indexes.empty())
        return;
    {
        std::lock_guard lock(mutex_);
        purge_reals_.insert(indexes.begin(), indexes.end());
    }
    wake_.notify_all();
}

void FlowCensus::purge(uint32_t vip_id, const std::set<uint32_t>& indexes) {
    if (indexes.empty())
        return;
    {
        std::lock_guard lock(mutex_);
        purge_by_vip_[vip_id].insert(indexes.begin(), indexes.end());
    }
    wake_.notify_all();
}

void FlowCensus::run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        lock.unlock();
        try {
            walk_once();
        } catch (const std::exception& e) {
            log::warn("counting flows: {}", e.what());
        }
        lock.lock();
        wake_.wait_for(lock, options_.period,
                       [this] { return stop_ || !purge_reals_.empty() || !purge_by_vip_.empty(); });
    }
}

// One pass over the four tables: counts, the purges asked for, and the
// lc / wlc counts set right.
void FlowCensus::walk_once() {
    std::set<uint32_t> purge_reals;
    std::map<uint32_t, std::set<uint32_t>> purge_by_vip;
    {
        std::lock_guard lock(mutex_);
        purge_reals.swap(purge_reals_);
        purge_by_vip.swap(purge_by_vip_);
    }
    auto doomed = [&](const lbd_flow& f) {
        if (purge_reals.contains(f.real))
            return true;
        auto it = purge_by_vip.find(f.vip_id);
        return it != purge_by_vip.end() && it->second.contains(f.real);
    };
    const auto start = std::chrono::steady_clock::now();
    const uint64_t now = coarse_now_ns();
    FlowCounts c;
    std::vector<int64_t> active(LBD_MAX_REALS, 0);
    for (size_t t = 0; t < std::size(kFlowTables); ++t) {
        const FlowTable& table = kFlowTables[t];
        const int fd = tables_.fds[t].get();
        const size_t capacity = flow_table_capacity(fd);
        c.capacity += capacity;
        const uint64_t idle = table.proto == 6 ? options_.idle_tcp_ns : options_.idle_udp_ns;
        std::vector<lbd_flow_key> gone;
        c.entries += walk_flows(fd, table, capacity, [&](const lbd_flow_key& k, const lbd_flow& f) {
            if (doomed(f)) {
                gone.push_back(k);
                return;
            }
            if (now > f.last_ns && now - f.last_ns >= idle)
                return;
            ++c.live;
            ++c.by_real[f.real];
            ++c.by_vip[f.vip_id];
            if ((f.flags & LBD_FLOW_F_COUNTED) && f.real < LBD_MAX_REALS)
                ++active[f.real];
        });
        delete_flows(fd, table, gone);
    }
    // What the program counts minus what the tables hold: flows it never
    // saw end. Flows that began during the walk and were missed by it are
    // taken off too, and put back by the next walk.
    for (uint32_t i = 0; i < LBD_MAX_REALS; ++i) {
        const int64_t now_counted = __atomic_load_n(&conns_[i], __ATOMIC_RELAXED);
        if (now_counted != active[i])
            __atomic_fetch_add(&conns_[i], active[i] - now_counted, __ATOMIC_RELAXED);
    }
    c.counted = true;
    c.walk_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard lock(mutex_);
    counts_ = std::move(c);
}

}  // namespace lbd::dataplane
