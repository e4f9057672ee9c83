// Health-check arithmetic: a checker's retries (check::CheckerState) and a
// virtual server's pool, quorum and sorry server (check::Pool), from real
// keepalived.conf text.
#include "check/checker_state.h"
#include "check/pool.h"
#include "config/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = Pool::Change::Kind;

config::CheckTiming timing(uint32_t retry, bool alpha = false) {
    config::CheckTiming t;
    t.delay_loop = 6s;
    t.delay_before_retry = 2s;
    t.connect_timeout = 1s;
    t.retry = retry;
    t.alpha = alpha;
    return t;
}

// ---- CheckerState -------------------------------------------------------------

TEST(CheckerState, FailuresAreRetriedThenTakeItDown) {
    CheckerState c(timing(2));
    ASSERT_TRUE(c.up());
    auto o = c.on_result(false);
    EXPECT_TRUE(o.retrying);
    EXPECT_FALSE(o.changed);
    EXPECT_EQ(o.next, 2s);
    o = c.on_result(false);
    EXPECT_TRUE(o.retrying);
    EXPECT_EQ(c.retries(), 2u);
    o = c.on_result(false);  // the third failure in a row: down
    EXPECT_TRUE(o.changed);
    EXPECT_FALSE(o.retrying);
    EXPECT_FALSE(c.up());
    EXPECT_EQ(o.next, 6s);
    o = c.on_result(false);  // while down nothing is retried
    EXPECT_FALSE(o.changed);
    EXPECT_FALSE(o.retrying);
    EXPECT_EQ(o.next, 6s);
}

TEST(CheckerState, ASuccessBetweenFailuresStartsTheCountAgain) {
    CheckerState c(timing(1));
    c.on_result(false);
    EXPECT_EQ(c.retries(), 1u);
    auto o = c.on_result(true);
    EXPECT_FALSE(o.changed);
    EXPECT_EQ(c.retries(), 0u);
    EXPECT_EQ(o.next, 6s);
    c.on_result(false);
    EXPECT_TRUE(c.up());  // retrying again, not down
}

TEST(CheckerState, RetryZeroTakesItDownAtTheFirstFailure) {
    CheckerState c(timing(0));
    auto o = c.on_result(false);
    EXPECT_TRUE(o.changed);
    EXPECT_FALSE(c.up());
}

TEST(CheckerState, OneSuccessBringsItUpAndAlphaStartsDown) {
    CheckerState c(timing(3, true));
    EXPECT_FALSE(c.up());
    auto o = c.on_result(true);
    EXPECT_TRUE(o.changed);
    EXPECT_TRUE(c.up());
}

TEST(CheckerState, FlappingServerNeverGoesDownWithRetries) {
    CheckerState c(timing(1));
    for (int i = 0; i < 10; ++i) {
        c.on_result(false);
        c.on_result(true);
    }
    EXPECT_TRUE(c.up());
}

// ---- Pool -----------------------------------------------------------------------

config::VirtualServer service(const std::string& body) {
    const std::string text = "virtual_server 10.0.0.100 80 {\n    lb_kind DR\n    protocol TCP\n" + body + "}\n";
    return config::parse_string(text, "p.conf").virtual_servers.at(0);
}

const char* kThree = R"(
    real_server 10.0.0.1 80 { weight 1 }
    real_server 10.0.0.2 80 { weight 2 }
    real_server 10.0.0.3 80 {
        weight 3
        inhibit_on_failure
    }
)";

std::vector<std::pair<std::string, uint32_t>> served(const Pool& p) {
    std::vector<std::pair<std::string, uint32_t>> out;
    for (const auto& r : p.service().reals) out.emplace_back(r.addr.str(), r.weight);
    return out;
}

TEST(Pool, FailedRealsLeaveOrStayAtWeightZeroWithInhibit) {
    Pool p(service(kThree), {true, true, true});
    EXPECT_THAT(served(p), ElementsAre(std::pair{"10.0.0.1", 1u}, std::pair{"10.0.0.2", 2u}, std::pair{"10.0.0.3", 3u}));
    auto changes = p.set(1, false);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].kind, Kind::real_down);
    EXPECT_EQ(changes[0].line, "Removing service [10.0.0.2]:tcp:80 from VS [10.0.0.100]:tcp:80");
    changes = p.set(2, false);
    EXPECT_EQ(changes.at(0).line, "Disabling service [10.0.0.3]:tcp:80 from VS [10.0.0.100]:tcp:80");
    EXPECT_THAT(served(p), ElementsAre(std::pair{"10.0.0.1", 1u}, std::pair{"10.0.0.3", 0u}));
    EXPECT_THAT(p.failed(), ElementsAre(*config::IpAddr::parse("10.0.0.2"), *config::IpAddr::parse("10.0.0.3")));
    EXPECT_THAT(p.set(2, false), IsEmpty());  // no change, nothing said
    changes = p.set(1, true);
    EXPECT_EQ(changes.at(0).line, "Adding service [10.0.0.2]:tcp:80 to VS [10.0.0.100]:tcp:80");
}

TEST(Pool, DynamicWeightReplacesTheConfiguredOne) {
    Pool p(service(kThree), {true, true, true});
    auto changes = p.set(0, true, 7);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].kind, Kind::weight);
    EXPECT_EQ(changes[0].line, "Changing weight from 1 to 7 for service [10.0.0.1]:tcp:80 of VS [10.0.0.100]:tcp:80");
    EXPECT_EQ(p.weight(0), 7u);
    p.set(0, true);
    EXPECT_EQ(p.weight(0), 1u);
}

TEST(Pool, SorryServerServesAloneWhileTheQuorumIsLost) {
    Pool p(service(std::string(kThree) + "    sorry_server 10.0.0.9 8080\n"), {true, true, true});
    p.set(0, false);
    p.set(1, false);
    auto changes = p.set(2, false);
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[1].kind, Kind::quorum_lost);
    EXPECT_EQ(changes[1].line, "Lost quorum 1-0=1 > 0 for VS [10.0.0.100]:tcp:80; removing alive servers, adding "
                               "sorry server [10.0.0.9]:tcp:8080");
    // The inhibited real stays at weight 0 beside the sorry server.
    EXPECT_THAT(served(p), ElementsAre(std::pair{"10.0.0.3", 0u}, std::pair{"10.0.0.9", 1u}));
    changes = p.set(0, true);
    EXPECT_EQ(changes.back().kind, Kind::quorum_gained);
    EXPECT_THAT(served(p), ElementsAre(std::pair{"10.0.0.1", 1u}, std::pair{"10.0.0.3", 0u}));
}

TEST(Pool, QuorumWithHysteresis) {
    Pool p(service(std::string(kThree) + "    quorum 4\n    hysteresis 1\n"), {true, true, true});
    EXPECT_TRUE(p.quorum());  // 6
    p.set(2, false);          // 3: still >= 4 - 1
    EXPECT_TRUE(p.quorum());
    auto changes = p.set(0, false);  // 2 < 3: lost
    EXPECT_EQ(changes.back().kind, Kind::quorum_lost);
    EXPECT_FALSE(p.quorum());
    p.set(0, true);  // 3: not yet 4 + 1
    EXPECT_FALSE(p.quorum());
    changes = p.set(2, true);  // 6
    EXPECT_EQ(changes.back().kind, Kind::quorum_gained);
    // Without a sorry server a lost quorum leaves the live reals serving.
    p.set(2, false);
    p.set(0, false);
    EXPECT_THAT(served(p), ElementsAre(std::pair{"10.0.0.2", 2u}, std::pair{"10.0.0.3", 0u}));
}

TEST(Pool, DrainKeepsFlowsAndTheOperatorsWeightWins) {
    Pool p(service(kThree), {true, true, true});
    auto changes = p.set_override(0, {std::nullopt, true});
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].line,
              "Draining service [10.0.0.1]:tcp:80 of VS [10.0.0.100]:tcp:80: weight 0, established flows kept");
    EXPECT_THAT(served(p), ElementsAre(std::pair{"10.0.0.1", 0u}, std::pair{"10.0.0.2", 2u}, std::pair{"10.0.0.3", 3u}));
    EXPECT_THAT(p.failed(), IsEmpty());  // drained is not failed: its flows stay
    EXPECT_THAT(p.set_override(0, {std::nullopt, true}), IsEmpty());
    p.set_override(0, {});
    changes = p.set_override(1, {9, false});
    EXPECT_EQ(changes.at(0).line,
              "Changing weight from 2 to 9 for service [10.0.0.2]:tcp:80 of VS [10.0.0.100]:tcp:80 (lbctl)");
    p.set(1, true, 4);  // a dynamic weight does not beat the operator's
    EXPECT_EQ(p.weight(1), 9u);
    p.set_override(1, {});
    EXPECT_EQ(p.weight(1), 4u);
}

TEST(Pool, DrainingTheLastRealsLosesTheQuorum) {
    Pool p(service("    real_server 10.0.0.1 80 { weight 1 }\n"), {true});
    auto changes = p.set_override(0, {std::nullopt, true});
    EXPECT_EQ(changes.back().kind, Kind::quorum_lost);
}

TEST(Pool, AlphaRealsStartDownAndTheSorryServerWithThem) {
    Pool p(service("    sorry_server 10.0.0.9 80\n    real_server 10.0.0.1 80 { weight 1 }\n"), {false});
    EXPECT_FALSE(p.quorum());
    EXPECT_THAT(served(p), ElementsAre(std::pair{"10.0.0.9", 1u}));
}

}  // namespace
}  // namespace lbd::check
