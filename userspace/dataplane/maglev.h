// Weighted Maglev consistent hashing (Eisenbud et al., NSDI'16).
//
// The table is a pure function of the backends' keys and weights, never of
// their order or of the process that builds it: both LB nodes of a pair must
// build the same table so that a failover keeps every flow on its real.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/primes.h"

namespace lbd::maglev {

struct Backend {
    std::string key;  // stable identity of the real, e.g. "10.213.0.11"; unique
    uint32_t weight;  // 0 = takes no slots (drained)
};

// Returns `size` slots, each an index into `backends` (the caller's order).
// Empty when no backend has weight > 0. Throws std::invalid_argument if
// `size` is not prime or two backends share a key.
std::vector<uint32_t> build(std::span<const Backend> backends, uint32_t size);
// Throws what build() would for these arguments, without building.
void check(std::span<const Backend> backends, uint32_t size);

}  // namespace lbd::maglev
