#include "dataplane/maglev.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string_view>

namespace lbd::maglev {
namespace {

// Spelled out rather than std::hash, which may differ between builds: nodes
// running different builds must still agree on every table. Changing this
// function (or its seeds) moves flows on upgrade.
uint64_t hash(std::string_view key, uint64_t seed) {
    uint64_t h = 0xcbf29ce484222325ULL ^ seed;  // FNV-1a
    for (unsigned char c : key) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    // FNV-1a leaves the final bytes poorly spread, and keys such as
    // "10.0.0.11" and "10.0.0.12" differ only there; murmur3's finaliser
    // avalanches them over all 64 bits before we take a modulus.
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

constexpr uint64_t kOffsetSeed = 0x6c62642d6f666673ULL;
constexpr uint64_t kSkipSeed = 0x6c62642d736b6970ULL;
constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();

// One backend's walk through its permutation offset, offset + skip, ... mod
// size. Because size is prime and 0 < skip < size, the walk visits every slot.
// 64-bit positions so next + skip cannot wrap for sizes near 2^32.
struct Cursor {
    uint32_t index;
    uint64_t next;
    uint64_t skip;
    uint64_t weight;
    uint64_t credit;
};

// The backends' positions in key order, which, not the caller's, decides
// who claims a contested slot first; throws for a bad size or a duplicate.
std::vector<uint32_t> key_order(std::span<const Backend> backends, uint32_t size) {
    if (!is_prime(size))
        throw std::invalid_argument("maglev: table size " + std::to_string(size) + " is not prime");
    std::vector<uint32_t> order(backends.size());
    std::iota(order.begin(), order.end(), 0u);
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return backends[a].key < backends[b].key; });
    auto dup = std::adjacent_find(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        return backends[a].key == backends[b].key;
    });
    if (dup != order.end())
        throw std::invalid_argument("maglev: duplicate backend key " + backends[*dup].key);
    return order;
}

}  // namespace

void check(std::span<const Backend> backends, uint32_t size) { key_order(backends, size); }

std::vector<uint32_t> build(std::span<const Backend> backends, uint32_t size) {
    const std::vector<uint32_t> order = key_order(backends, size);

    std::vector<Cursor> cursors;
    cursors.reserve(order.size());
    uint64_t max_weight = 0;
    for (uint32_t i : order) {
        const Backend& b = backends[i];
        if (b.weight == 0) continue;
        cursors.push_back({i, hash(b.key, kOffsetSeed) % size,
                           hash(b.key, kSkipSeed) % (size - 1) + 1, b.weight, 0});
        max_weight = std::max<uint64_t>(max_weight, b.weight);
    }
    if (cursors.empty()) return {};

    // Each round every backend earns weight / max_weight of a slot and claims
    // one slot per whole unit earned, so counts stay proportional to weight
    // to within one slot. Credit is kept in units of 1 / max_weight so the
    // arithmetic is exact and identical on every node.
    std::vector<uint32_t> table(size, kEmpty);
    uint32_t filled = 0;
    for (;;) {
        for (Cursor& c : cursors) {
            for (c.credit += c.weight; c.credit >= max_weight; c.credit -= max_weight) {
                while (table[c.next] != kEmpty) {
                    c.next += c.skip;
                    if (c.next >= size) c.next -= size;
                }
                table[c.next] = c.index;
                if (++filled == size) return table;
            }
        }
    }
}

}  // namespace lbd::maglev
