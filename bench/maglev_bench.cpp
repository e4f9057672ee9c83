#include "dataplane/maglev.h"
#include "lbd_abi.h"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

using lbd::maglev::Backend;

// Weights 1..100 make the credit loop do uneven work per round, which equal
// weights never exercise.
std::vector<Backend> make_backends(int64_t n, bool weighted) {
    std::vector<Backend> out;
    for (int64_t i = 0; i < n; ++i)
        out.push_back({"10.213." + std::to_string(i / 256) + "." + std::to_string(i % 256),
                       weighted ? static_cast<uint32_t>(i * 37 % 100 + 1) : 1u});
    return out;
}

void BM_Build(benchmark::State& state) {
    const auto backends = make_backends(state.range(0), state.range(1) != 0);
    for (auto _ : state)
        benchmark::DoNotOptimize(lbd::maglev::build(backends, LBD_RING_SIZE_DEFAULT));
}

BENCHMARK(BM_Build)
    ->ArgNames({"reals", "weighted"})
    ->ArgsProduct({{10, 100, 1000, 5000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
