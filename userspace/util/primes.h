// Primality, for Maglev ring sizes (the config checks lb_ring_size with it,
// the ring builder refuses anything else).
#pragma once

#include <cstdint>

namespace lbd {

constexpr bool is_prime(uint32_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2)
        if (n % d == 0) return false;
    return true;
}

}  // namespace lbd
