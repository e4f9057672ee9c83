// Table-driven fixtures of the lb program: one row per case, a frame in, the
// verdict and frame expected back (built with frame.h, never with the
// datapath's own code), and the one reason counter that must move. Shared
// by every table (lb_fixtures_test.cpp, lb_nat_fixtures_test.cpp).
#pragma once

#include "frame.h"
#include "lb_fixture.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#define ASSERT_OK(expr)                                       \
    do {                                                      \
        const ::lbd::test::Status st_ = (expr);               \
        ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.what;   \
    } while (0)

namespace lbd::test {

struct Row {
    std::string name;
    Bytes input;
    uint32_t verdict;
    std::optional<Bytes> output;  // nullopt: the frame comes back unchanged
    lbd_reason reason;
    std::function<void(LbFixture&)> setup = {};
    LbOptions options = {};
    bool check_output = true;  // false: a dropped frame whose bytes do not matter
    // Runs after the frame: what it must (not) have left in the maps.
    std::function<void(const LbFixture&)> check = {};
};

void PrintTo(const Row& row, std::ostream* os);

// Skips without root; moves the process into its own network namespace.
class LbBpf : public ::testing::Test {
protected:
    void SetUp() override;
};

// An LbBpf test with a fixture of its own, World(fx) built into it before
// each test (a test file's build_world).
template <void (*World)(LbFixture&)>
class LbBpfWorld : public LbBpf {
protected:
    void SetUp() override {
        LbBpf::SetUp();
        if (IsSkipped()) return;
        fx = std::make_unique<LbFixture>();
        ASSERT_OK(fx->status());
        ASSERT_NO_FATAL_FAILURE(World(*fx));
    }
    std::unique_ptr<LbFixture> fx;
};

// A fresh fixture with `world` built and the row's setup done, then the row
// run and checked: verdict, output frame, exactly one reason, row.check.
void expect_row(const Row& row, const std::function<void(LbFixture&)>& world);

}  // namespace lbd::test
