#include "lb_rows.h"

#include <cstring>

namespace lbd::test {

void PrintTo(const Row& row, std::ostream* os) { *os << row.name; }

void LbBpf::SetUp() {
    std::string why = bpf_skip_reason();
    if (!why.empty()) GTEST_SKIP() << why;
    ASSERT_OK(enter_test_netns());
}

void expect_row(const Row& row, const std::function<void(LbFixture&)>& world) {
    LbFixture fx(row.options);
    ASSERT_OK(fx.status());
    ASSERT_NO_FATAL_FAILURE(world(fx));
    if (row.setup) {
        ASSERT_NO_FATAL_FAILURE(row.setup(fx)) << "setup of " << row.name;
    }

    ReasonCounts before = fx.reasons();
    RunResult r = fx.run(row.input);
    ASSERT_EQ(r.err, 0) << "BPF_PROG_TEST_RUN: " << std::strerror(-r.err);
    EXPECT_EQ(r.verdict, row.verdict)
        << "verdict " << xdp_verdict_name(r.verdict) << ", expected " << xdp_verdict_name(row.verdict);
    const Bytes& want = row.output ? *row.output : row.input;
    if (row.check_output) {
        EXPECT_TRUE(r.out == want) << (row.output ? "" : "(frame should be unchanged) ") << diff(want, r.out);
    }
    ReasonCounts after = fx.reasons();
    for (uint32_t i = 0; i < LBD_REASON_MAX; ++i)
        EXPECT_EQ(after[i] - before[i], i == static_cast<uint32_t>(row.reason) ? 1u : 0u)
            << "reason " << reason_name(i) << " (expected exactly one: " << reason_name(row.reason) << ")";
    if (row.check) row.check(fx);
}

}  // namespace lbd::test
