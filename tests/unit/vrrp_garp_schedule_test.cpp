#include "vrrp/garp_schedule.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

using namespace lbd::vrrp;
using namespace std::chrono_literals;

namespace {

const TimePoint t0 = TimePoint{} + 1000s;

GarpSettings keepalived_defaults() {
    GarpSettings s;
    s.delay = 5s;
    s.repeat = 5;
    return s;
}

}  // namespace

TEST(GarpSchedule, BurstOnStartAndAgainAfterTheDelay) {
    GarpSchedule g(keepalived_defaults());
    g.start(t0);
    EXPECT_EQ(g.due(t0), 5u);
    ASSERT_TRUE(g.next_deadline());
    EXPECT_EQ(*g.next_deadline(), t0 + 5s);
    EXPECT_EQ(g.due(t0 + 4999ms), 0u);
    EXPECT_EQ(g.due(t0 + 5s), 5u);
    EXPECT_FALSE(g.next_deadline()) << "no refresh configured: nothing more";
}

TEST(GarpSchedule, IntervalSpacesTheAnnouncementsOfABurst) {
    GarpSettings s = keepalived_defaults();
    s.delay = 0s;
    s.repeat = 3;
    s.interval = 10ms;
    GarpSchedule g(s);
    g.start(t0);
    EXPECT_EQ(g.due(t0), 1u);
    EXPECT_EQ(*g.next_deadline(), t0 + 10ms);
    EXPECT_EQ(g.due(t0 + 25ms), 2u) << "a late caller gets what it missed";
    EXPECT_FALSE(g.next_deadline());
}

TEST(GarpSchedule, RefreshRepeatsWhileMaster) {
    GarpSettings s = keepalived_defaults();
    s.delay = 0s;
    s.repeat = 1;
    s.refresh = 60s;
    s.refresh_repeat = 2;
    GarpSchedule g(s);
    g.start(t0);
    EXPECT_EQ(g.due(t0), 1u);
    EXPECT_EQ(*g.next_deadline(), t0 + 60s);
    EXPECT_EQ(g.due(t0 + 60s), 2u);
    EXPECT_EQ(*g.next_deadline(), t0 + 120s);
    EXPECT_EQ(g.due(t0 + 180s), 4u) << "two missed refreshes of two each";
}

TEST(GarpSchedule, StopCancelsEverythingPending) {
    GarpSettings s = keepalived_defaults();
    s.refresh = 10s;
    GarpSchedule g(s);
    g.start(t0);
    g.stop();
    EXPECT_FALSE(g.next_deadline());
    EXPECT_EQ(g.due(t0 + 100s), 0u);
}

TEST(GarpSchedule, RestartReplacesTheOldSchedule) {
    GarpSchedule g(keepalived_defaults());
    g.start(t0);
    g.start(t0 + 1s);
    EXPECT_EQ(g.due(t0 + 1s), 5u);
    EXPECT_EQ(*g.next_deadline(), t0 + 6s);
}

TEST(GarpSettings, FromConfigPicksTheFamilysInterval) {
    lbd::config::VrrpInstance cfg;
    cfg.garp_master_delay = 5s;
    cfg.garp_master_repeat = 2;
    cfg.garp_interval = 1ms;
    cfg.gna_interval = 2ms;
    cfg.family = AF_INET6;
    EXPECT_EQ(GarpSettings::from(cfg).interval, 2ms);
    cfg.family = AF_INET;
    EXPECT_EQ(GarpSettings::from(cfg).interval, 1ms);
    EXPECT_EQ(GarpSettings::from(cfg).repeat, 2u);
}
