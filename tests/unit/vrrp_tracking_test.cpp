// Tracking (keepalived's vrrp_script / track_interface / track_file weights,
// rise and fall), the election it moves between two routers, and sync groups.
#include "vrrp/state_machine.h"
#include "vrrp/sync_group.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace lbd::vrrp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Kind = TrackedState::Kind;

const TimePoint t0{};
TimePoint at(int64_t us) { return t0 + Micros(us); }
config::IpAddr ip(const char* text) { return *config::IpAddr::parse(text); }

struct Recorder : Actions {
    std::vector<std::string> logs;
    std::vector<int> adverts;  // sent, not yet delivered
    void send_advert(uint8_t p) override { adverts.push_back(p); }
    void take_addresses() override {}
    void release_addresses() override {}
    void notify(State) override {}
    void log(std::string line) override { logs.push_back(std::move(line)); }
};

Settings settings(const char* name, int priority, const char* primary = "10.0.0.1") {
    Settings s;
    s.name = name;
    s.priority = static_cast<uint8_t>(priority);
    s.primary_address = ip(primary);
    return s;
}

TrackedState script(int weight, Status status, bool reverse = false) {
    return {Kind::script, weight, reverse, status, 0};
}
TrackedState interface(int weight, bool up) {
    return {Kind::interface, weight, false, up ? Status::up : Status::down, 0};
}
TrackedState file(int weight, int64_t value, bool reverse = false) { return {Kind::file, weight, reverse, {}, value}; }

// ---- effective priority ------------------------------------------------------

TEST(EffectivePriority, WeightsOfScriptsInterfacesAndFiles) {
    EXPECT_EQ(effective_priority(100, {}), 100);
    const std::vector<TrackedState> t = {
        script(10, Status::up),     // +10: positive weights count while up
        script(20, Status::down),   // 0
        script(-15, Status::down),  // -15: negative weights count while down
        script(-40, Status::up),    // 0
        interface(-30, false),      // -30
        interface(5, true),         // +5
        file(3, 4),                 // +12: value * weight
    };
    EXPECT_EQ(effective_priority(100, t), 100 + 10 - 15 - 30 + 5 + 12);
    EXPECT_FALSE(tracking_fault(t));
}

TEST(EffectivePriority, ReverseTurnsTheWeightsSign) {
    EXPECT_EQ(effective_priority(100, std::vector{script(10, Status::up, true)}), 90);
    EXPECT_EQ(effective_priority(100, std::vector{script(10, Status::down, true)}), 100);
    EXPECT_EQ(effective_priority(100, std::vector{script(-10, Status::down, true)}), 110);
    EXPECT_EQ(effective_priority(100, std::vector{file(5, 2, true)}), 90);
}

TEST(EffectivePriority, ClampedTo1And254AndOwnerUnaffected) {
    const std::vector high = {script(100, Status::up), script(100, Status::up)};
    const std::vector low = {script(-100, Status::down), interface(-100, false)};
    EXPECT_EQ(effective_priority(100, high), 254);
    EXPECT_EQ(effective_priority(100, low), 1);
    EXPECT_EQ(effective_priority(255, low), 255);
    EXPECT_EQ(effective_priority(255, high), 255);
    EXPECT_EQ(effective_priority(200, std::vector{file(1000, 1000)}), 254);
}

TEST(EffectivePriority, UnknownScriptCountsForNothing) {
    const std::vector t = {script(10, Status::unknown), script(-10, Status::unknown), script(0, Status::unknown)};
    EXPECT_EQ(effective_priority(100, t), 100);
    EXPECT_FALSE(tracking_fault(t));
}

TEST(TrackingFault, WeightZeroFailureMeansFault) {
    EXPECT_TRUE(tracking_fault(std::vector{script(0, Status::down)}));
    EXPECT_FALSE(tracking_fault(std::vector{script(0, Status::up)}));
    EXPECT_TRUE(tracking_fault(std::vector{script(0, Status::up, true)}));  // reverse: up is the failure
    EXPECT_TRUE(tracking_fault(std::vector{interface(0, false)}));         // a tracked link down
    EXPECT_FALSE(tracking_fault(std::vector{interface(-50, false)}));      // ... or a weight, if given
    EXPECT_TRUE(tracking_fault(std::vector{file(0, 1)}));
    EXPECT_FALSE(tracking_fault(std::vector{file(0, 0)}));
    EXPECT_TRUE(tracking_fault(std::vector{file(0, 0, true)}));
    EXPECT_TRUE(tracking_fault(std::vector{file(-2, 127)}));  // value * weight <= -254
    EXPECT_FALSE(tracking_fault(std::vector{file(-2, 126)}));
    EXPECT_EQ(effective_priority(100, std::vector{file(-2, 126)}), 1);
}

// ---- rise / fall -------------------------------------------------------------

TEST(ScriptTracker, FirstResultDecidesThenRiseAndFallCount) {
    ScriptTracker s("chk", 2, 3);
    EXPECT_EQ(s.status(), Status::unknown);
    EXPECT_EQ(s.on_result(0), "VRRP_Script(chk) succeeded");
    EXPECT_EQ(s.on_result(1), std::nullopt);
    EXPECT_EQ(s.on_result(1), std::nullopt);
    EXPECT_EQ(s.on_result(0), std::nullopt);  // a success refills the count
    EXPECT_EQ(s.on_result(1), std::nullopt);
    EXPECT_EQ(s.on_result(1), std::nullopt);
    EXPECT_EQ(s.status(), Status::up);
    EXPECT_EQ(s.on_result(2), "VRRP_Script(chk) failed (exited with status 2)");  // third in a row
    EXPECT_EQ(s.status(), Status::down);
    EXPECT_EQ(s.on_result(0), std::nullopt);
    EXPECT_EQ(s.on_result(1), std::nullopt);  // a failure starts the rise again
    EXPECT_EQ(s.on_result(0), std::nullopt);
    EXPECT_EQ(s.on_result(0), "VRRP_Script(chk) succeeded");
}

TEST(ScriptTracker, FirstFailureDecidesToo) {
    ScriptTracker s("chk", 5, 5);
    EXPECT_EQ(s.on_result(1), "VRRP_Script(chk) failed (exited with status 1)");
    EXPECT_EQ(s.status(), Status::down);
}

TEST(ScriptTracker, InitFailNeedsRiseSuccesses) {
    ScriptTracker s("chk", 3, 1, true);
    EXPECT_EQ(s.status(), Status::down);
    EXPECT_EQ(s.on_result(0), std::nullopt);
    EXPECT_EQ(s.on_result(0), std::nullopt);
    EXPECT_EQ(s.on_result(0), "VRRP_Script(chk) succeeded");
    EXPECT_EQ(s.on_result(1), "VRRP_Script(chk) failed (exited with status 1)");  // fall 1
}

// ---- the election tracking moves ------------------------------------------------

// Two routers on one link: each advert reaches the other at once.
struct Link {
    Recorder ra, rb;
    Instance a, b;
    Link(Settings sa, Settings sb) : a(sa, ra), b(sb, rb) {}
    void deliver(TimePoint now) {
        while (!ra.adverts.empty() || !rb.adverts.empty()) {
            for (auto [from, to, rec] : {std::tuple{&a, &b, &ra}, std::tuple{&b, &a, &rb}}) {
                const std::vector<int> sent = std::exchange(rec->adverts, {});
                for (int p : sent)
                    to->on_advert(now, {static_cast<uint8_t>(p), 100, ip(from == &a ? "10.0.0.1" : "10.0.0.2")});
            }
        }
    }
    // Fires timers in order until `end`.
    void run(TimePoint end) {
        for (;;) {
            const TimePoint next = std::min(a.next_deadline().value_or(TimePoint::max()),
                                            b.next_deadline().value_or(TimePoint::max()));
            if (next > end) return;
            a.on_timer(next);
            b.on_timer(next);
            deliver(next);
        }
    }
};

TEST(Election, MasterWhosePriorityFallsBelowTheBackupsLoses) {
    Link l(settings("A", 100, "10.0.0.1"), settings("B", 90, "10.0.0.2"));
    l.a.start(t0);
    l.b.start(t0);
    l.run(at(10'000'000));
    ASSERT_EQ(l.a.state(), State::MASTER);  // at 3'609'375
    ASSERT_EQ(l.b.state(), State::BACKUP);
    const std::vector failing = {script(-30, Status::down)};
    l.a.set_effective_priority(at(10'000'000), effective_priority(100, failing));
    // A's adverts now say 70: B discards them and takes over Master_Down_Interval
    // after the last one it accepted (9'609'375 + 3'648'437); A then hears 90.
    l.run(at(13'257'811));
    EXPECT_EQ(l.b.state(), State::BACKUP);
    l.run(at(13'257'812));
    EXPECT_EQ(l.b.state(), State::MASTER);
    EXPECT_EQ(l.a.state(), State::BACKUP);
    EXPECT_THAT(l.ra.logs, testing::Contains("VRRP_Instance(A) Master received advert from 10.0.0.2 with higher priority 90, ours 70"));
}

TEST(Election, PriorityZeroShutdownHandsOverAfterSkewTime) {
    Link l(settings("A", 200, "10.0.0.1"), settings("B", 100, "10.0.0.2"));
    l.a.start(t0);
    l.b.start(t0);
    l.run(at(5'000'000));
    ASSERT_EQ(l.a.state(), State::MASTER);
    l.a.shutdown(at(5'000'000));
    l.deliver(at(5'000'000));
    EXPECT_EQ(l.b.next_deadline(), at(5'000'000 + 609'375));
}

// ---- sync groups -----------------------------------------------------------------

struct Group : ::testing::Test {
    std::vector<std::string> group_log;
    Recorder r1, r2, r3;
    Instance v1{settings("VI_1", 100), r1}, v2{settings("VI_2", 100), r2}, v3{settings("VI_3", 100), r3};
    SyncGroup g{"G1", [this](std::string line) { group_log.push_back(std::move(line)); }};
    void SetUp() override {
        for (Instance* m : {&v1, &v2, &v3}) {
            g.add(*m);
            m->start(t0);
        }
    }
    std::vector<State> states() const { return {v1.state(), v2.state(), v3.state()}; }
};

TEST_F(Group, OneMemberInFaultTakesAllToFaultAndBack) {
    v2.set_fault(at(1'000'000), true);
    EXPECT_THAT(states(), ElementsAre(State::FAULT, State::FAULT, State::FAULT));
    EXPECT_THAT(group_log, ElementsAre("VRRP_Group(G1) Syncing instances to FAULT state"));
    EXPECT_EQ(r1.logs.back(), "VRRP_Instance(VI_1) Entering FAULT STATE");
    v2.set_fault(at(2'000'000), false);
    EXPECT_THAT(states(), ElementsAre(State::BACKUP, State::BACKUP, State::BACKUP));
    EXPECT_EQ(v1.next_deadline(), at(2'000'000 + 3'609'375));
}

TEST_F(Group, AllLeaveFaultOnlyWhenNoMemberHasItsOwn) {
    v1.set_fault(at(1'000'000), true);
    v3.set_fault(at(1'000'000), true);
    v1.set_fault(at(2'000'000), false);
    EXPECT_THAT(states(), ElementsAre(State::FAULT, State::FAULT, State::FAULT));
    v3.set_fault(at(3'000'000), false);
    EXPECT_THAT(states(), ElementsAre(State::BACKUP, State::BACKUP, State::BACKUP));
}

TEST_F(Group, MasterAndBackupPropagateWithoutLoops) {
    v1.on_advert(at(1'000'000), {150, 100, ip("10.0.0.9")});  // VI_1 hears a live master; the others time out
    v2.on_timer(at(3'609'375));
    EXPECT_THAT(states(), ElementsAre(State::MASTER, State::MASTER, State::MASTER));
    EXPECT_THAT(group_log, ElementsAre("VRRP_Group(G1) Syncing instances to MASTER state"));
    for (Recorder* r : {&r1, &r2, &r3})
        EXPECT_EQ(std::count(r->logs.begin(), r->logs.end(), r->logs.back()), 1) << r->logs.back();
    EXPECT_EQ(r1.logs.back(), "VRRP_Instance(VI_1) Entering MASTER STATE");
    v3.on_advert(at(4'000'000), {200, 100, ip("10.0.0.9")});
    EXPECT_THAT(states(), ElementsAre(State::BACKUP, State::BACKUP, State::BACKUP));
    EXPECT_EQ(group_log.back(), "VRRP_Group(G1) Syncing instances to BACKUP state");
    EXPECT_EQ(group_log.size(), 2u);
}

TEST(SyncGroup, LateMemberJoinsAMasterGroup) {
    Recorder r1, r2;
    Instance owner(settings("VI_1", 255), r1), late(settings("VI_2", 100), r2);
    SyncGroup g("G1", [](std::string) {});
    g.add(owner);
    g.add(late);
    owner.start(t0);
    EXPECT_THAT(r2.logs, IsEmpty());
    late.start(at(1'000));
    EXPECT_EQ(late.state(), State::MASTER);
}

}  // namespace
}  // namespace lbd::vrrp
