// The flow tables counted on a thread of their own, every few seconds and
// at once when flows are to be purged, so that nothing the daemon answers
// or does on its main loop (lbctl stats, vips, reals, a metrics scrape, the
// 1 s tick, a real's removal) walks them. Each count also corrects the lc /
// wlc active-flow counts (real_conns) for flows that ended unseen: idle past
// their timeout, evicted, or UDP.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/flow_tables.h"

namespace lbd::dataplane {

struct FlowCounts {
    // Entries that still pin their flow (not idle past their timeout).
    std::map<uint32_t, uint64_t> by_real;  // real index -> flows
    std::map<uint32_t, uint64_t> by_vip;   // vip id -> flows
    uint64_t live = 0;
    uint64_t entries = 0;   // live or idle, in all four tables
    uint64_t capacity = 0;  // entries the four tables hold at most
    bool counted = false;   // false until the first walk ended
    double walk_ms = 0;     // how long the last walk took
};

class FlowCensus {
public:
    struct Options {
        std::string pin_dir;
        std::chrono::milliseconds period{2000};
        uint64_t idle_tcp_ns = 0;  // the lb program's ct_idle_*_ns
        uint64_t idle_udp_ns = 0;
    };
    // Opens the pinned tables and real_conns; throws naming what failed.
    explicit FlowCensus(Options options);
    ~FlowCensus();
    FlowCensus(const FlowCensus&) = delete;
    FlowCensus& operator=(const FlowCensus&) = delete;

    FlowCounts counts() const;
    // The entries of these reals (of every service), or of these reals
    // through one service, are deleted by the next walk, which starts now.
    void purge_reals(const std::set<uint32_t>& indexes);
    void purge(uint32_t vip_id, const std::set<uint32_t>& indexes);

private:
    void run();
    void walk_once();

    Options options_;
    FlowTableFds tables_;
    int64_t* conns_ = nullptr;  // real_conns, mapped
    size_t conns_bytes_ = 0;

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    FlowCounts counts_;
    std::set<uint32_t> purge_reals_;
    std::map<uint32_t, std::set<uint32_t>> purge_by_vip_;
    std::thread thread_;
};

}  // namespace lbd::dataplane
