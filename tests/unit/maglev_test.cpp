#include "dataplane/maglev.h"
#include "lbd_abi.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace lbd::maglev {
namespace {

constexpr uint32_t kSize = LBD_RING_SIZE_DEFAULT;

std::vector<Backend> equal_backends(size_t n) {
    std::vector<Backend> out;
    for (size_t i = 0; i < n; ++i)
        out.push_back({"10.213." + std::to_string(i / 256) + "." + std::to_string(i % 256), 1});
    return out;
}

std::vector<Backend> weighted_backends(const std::vector<uint32_t>& weights) {
    std::vector<Backend> out;
    for (size_t i = 0; i < weights.size(); ++i)
        out.push_back({"fd00:213::" + std::to_string(i + 1), weights[i]});
    return out;
}

std::vector<size_t> slot_counts(const std::vector<uint32_t>& table, size_t n) {
    std::vector<size_t> counts(n);
    for (uint32_t idx : table) ++counts.at(idx);
    return counts;
}

// Tables are compared by key because indices follow each caller's order.
std::vector<std::string> keys_of(const std::vector<uint32_t>& table,
                                 const std::vector<Backend>& backends) {
    std::vector<std::string> out;
    out.reserve(table.size());
    for (uint32_t idx : table) out.push_back(backends.at(idx).key);
    return out;
}

double moved_fraction(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    size_t moved = 0;
    for (size_t i = 0; i < a.size(); ++i) moved += a[i] != b[i];
    return static_cast<double>(moved) / static_cast<double>(a.size());
}

TEST(MaglevPrime, KnownValues) {
    for (uint32_t p : {2u, 3u, 5u, 7u, 13u, 251u, 65521u, 65537u, 4294967291u})
        EXPECT_TRUE(is_prime(p)) << p;
    // 4293001441 = 65521^2 checks the trial-division bound is inclusive.
    for (uint32_t n : {0u, 1u, 4u, 9u, 25u, 65535u, 65536u, 4293001441u, 4294967295u})
        EXPECT_FALSE(is_prime(n)) << n;
}

TEST(MaglevBuild, RejectsNonPrimeSize) {
    const auto backends = equal_backends(3);
    for (uint32_t size : {0u, 1u, 100u, 65536u})
        EXPECT_THROW(build(backends, size), std::invalid_argument) << size;
}

TEST(MaglevBuild, RejectsDuplicateKeys) {
    // A drained duplicate is still a configuration error, not something to skip.
    const std::vector<Backend> backends = {{"10.0.0.1", 1}, {"10.0.0.2", 1}, {"10.0.0.1", 0}};
    EXPECT_THROW(build(backends, kSize), std::invalid_argument);
}

TEST(MaglevBuild, NoWeightGivesEmptyTable) {
    EXPECT_TRUE(build({}, kSize).empty());
    const std::vector<Backend> drained = {{"10.0.0.1", 0}, {"10.0.0.2", 0}};
    EXPECT_TRUE(build(drained, kSize).empty());
}

TEST(MaglevBuild, EverySlotHoldsAWeightedBackend) {
    const auto backends = weighted_backends({3, 0, 1, 5, 0, 2});
    for (uint32_t size : {2u, 7u, 251u, kSize}) {
        const auto table = build(backends, size);
        ASSERT_EQ(table.size(), size);
        for (uint32_t idx : table) {
            ASSERT_LT(idx, backends.size());
            EXPECT_GT(backends[idx].weight, 0u);
        }
    }
}

TEST(MaglevBuild, ZeroWeightBackendGetsNoSlotsAndEqualsRemoval) {
    auto backends = equal_backends(10);
    backends[4].weight = 0;
    const auto table = build(backends, kSize);
    EXPECT_EQ(slot_counts(table, backends.size())[4], 0u);

    auto removed = backends;
    removed.erase(removed.begin() + 4);
    EXPECT_EQ(keys_of(table, backends), keys_of(build(removed, kSize), removed));
}

class MaglevEqualShares : public testing::TestWithParam<size_t> {};

TEST_P(MaglevEqualShares, EachWithinOnePercentOfIdeal) {
    const size_t n = GetParam();
    const auto counts = slot_counts(build(equal_backends(n), kSize), n);
    const double ideal = static_cast<double>(kSize) / static_cast<double>(n);
    for (size_t i = 0; i < n; ++i)
        EXPECT_NEAR(static_cast<double>(counts[i]), ideal, 0.01 * ideal) << "backend " << i;
}

INSTANTIATE_TEST_SUITE_P(Reals, MaglevEqualShares, testing::Values(3, 10, 100));

class MaglevWeightedShares : public testing::TestWithParam<std::vector<uint32_t>> {};

TEST_P(MaglevWeightedShares, EachWithinOnePercentOfIdeal) {
    const auto& weights = GetParam();
    const auto counts = slot_counts(build(weighted_backends(weights), kSize), weights.size());
    double sum = 0;
    for (uint32_t w : weights) sum += w;
    for (size_t i = 0; i < weights.size(); ++i) {
        const double ideal = kSize * weights[i] / sum;
        EXPECT_NEAR(static_cast<double>(counts[i]), ideal, 0.01 * ideal) << "backend " << i;
    }
}

INSTANTIATE_TEST_SUITE_P(Mixes, MaglevWeightedShares,
                         testing::Values(std::vector<uint32_t>{1, 2, 3, 4},
                                         std::vector<uint32_t>{1, 1, 1, 10},
                                         std::vector<uint32_t>{100, 1, 50},
                                         std::vector<uint32_t>{5, 7, 11, 13, 17},
                                         std::vector<uint32_t>{1000, 3000, 65535}));

TEST(MaglevBuild, OrderDoesNotMatter) {
    auto backends = weighted_backends({4, 1, 3, 3, 2, 7, 1, 5});
    auto more = equal_backends(40);
    backends.insert(backends.end(), more.begin(), more.end());
    const auto expected = keys_of(build(backends, kSize), backends);

    std::mt19937 rng(213);
    for (int round = 0; round < 5; ++round) {
        std::shuffle(backends.begin(), backends.end(), rng);
        EXPECT_EQ(keys_of(build(backends, kSize), backends), expected) << "round " << round;
    }
}

// Pins the hash and fill order: a change here means LB nodes on different
// builds would disagree, so it must be deliberate.
TEST(MaglevBuild, GoldenTable) {
    const std::vector<Backend> backends = {{"10.213.0.11", 1}, {"10.213.0.12", 2}, {"fd00:213::13", 1}};
    const auto table = build(backends, 13);
    EXPECT_EQ(table, (std::vector<uint32_t>{0, 1, 2, 1, 2, 1, 1, 0, 2, 0, 1, 1, 1}));
}

class MaglevDisruption : public testing::TestWithParam<size_t> {};

TEST_P(MaglevDisruption, RemovingOneMovesAboutItsShare) {
    const size_t n = GetParam();
    const auto all = equal_backends(n);
    const auto before = keys_of(build(all, kSize), all);
    for (size_t r = 0; r < n; r += std::max<size_t>(1, n / 10)) {
        auto rest = all;
        rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(r));
        const auto after = keys_of(build(rest, kSize), rest);

        EXPECT_LE(moved_fraction(before, after), 1.0 / static_cast<double>(n) + 0.015)
            << "removed " << all[r].key;
        size_t kept = 0, survivors = 0;
        for (size_t s = 0; s < before.size(); ++s) {
            if (before[s] == all[r].key) continue;
            ++survivors;
            kept += before[s] == after[s];
        }
        EXPECT_GE(static_cast<double>(kept) / static_cast<double>(survivors), 0.985)
            << "removed " << all[r].key;
    }
}

TEST_P(MaglevDisruption, AddingOneMovesAboutItsShare) {
    const size_t n = GetParam();
    auto all = equal_backends(n + 1);
    const Backend added = all.back();
    all.pop_back();
    const auto before = keys_of(build(all, kSize), all);
    all.push_back(added);
    const auto after = keys_of(build(all, kSize), all);
    EXPECT_LE(moved_fraction(before, after), 1.0 / static_cast<double>(n + 1) + 0.015);
}

INSTANTIATE_TEST_SUITE_P(Reals, MaglevDisruption, testing::Values(3, 10, 50));

}  // namespace
}  // namespace lbd::maglev
