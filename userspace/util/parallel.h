// fn(0) .. fn(n - 1) on as many threads as there are CPUs (none for n == 1),
// for pure work of some milliseconds each, such as Maglev tables. The first
// exception any call throws is rethrown once all have returned.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace lbd {

template <class Fn>
void parallel_for(size_t n, Fn&& fn) {
    const size_t workers = std::min<size_t>(n, std::max(1u, std::thread::hardware_concurrency()));
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&] {
        for (size_t i; (i = next.fetch_add(1)) < n;) {
            try {
                fn(i);
            } catch (...) {
                std::lock_guard lock(error_mutex);
                if (!error)
                    error = std::current_exception();
            }
        }
    };
    {
        std::vector<std::jthread> threads;
        for (size_t t = 1; t < workers; ++t)
            threads.emplace_back(work);
        work();
    }
    if (error)
        std::rethrow_exception(error);
}

}  // namespace lbd
