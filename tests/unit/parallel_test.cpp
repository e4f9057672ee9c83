// parallel_for calls every index exactly once, on more than one thread when
// there is work for more, and hands back the first exception only after
// every call has returned.
#include "util/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace lbd {
namespace {

TEST(ParallelFor, EveryIndexOnce) {
    std::vector<std::atomic<int>> calls(1000);
    parallel_for(calls.size(), [&](size_t i) { calls[i].fetch_add(1); });
    for (const auto& c : calls) EXPECT_EQ(c.load(), 1);
}

TEST(ParallelFor, NothingToDo) {
    bool called = false;
    parallel_for(0, [&](size_t) { called = true; });
    EXPECT_FALSE(called);
}

TEST(ParallelFor, OneCallStaysOnTheCallersThread) {
    std::thread::id seen;
    parallel_for(1, [&](size_t) { seen = std::this_thread::get_id(); });
    EXPECT_EQ(seen, std::this_thread::get_id());
}

TEST(ParallelFor, UsesTheCpus) {
    if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU";
    std::mutex m;
    std::set<std::thread::id> threads;
    std::atomic<int> waiting{0};
    // Each of the first two calls waits (bounded) until the other has begun:
    // only two threads can get both going.
    parallel_for(2, [&](size_t) {
        {
            std::lock_guard lock(m);
            threads.insert(std::this_thread::get_id());
        }
        waiting.fetch_add(1);
        for (int spin = 0; spin < 20000000 && waiting.load() < 2; ++spin) std::this_thread::yield();
    });
    EXPECT_EQ(threads.size(), 2u);
}

TEST(ParallelFor, FirstErrorAfterEveryCall) {
    std::atomic<int> done{0};
    EXPECT_THROW(parallel_for(100,
                              [&](size_t i) {
                                  done.fetch_add(1);
                                  if (i % 10 == 3) throw std::runtime_error("bad index");
                              }),
                 std::runtime_error);
    EXPECT_EQ(done.load(), 100);
}

}  // namespace
}  // namespace lbd
