// The VRRP state machine through every transition and timer of RFC 5798 6.4
// (Initialize, Backup, Master) and RFC 3768's v2 differences, plus keepalived's
// FAULT, nopreempt, preempt_delay and log lines. Time is fake: microseconds
// from t0, asserted exactly.
#include "vrrp/state_machine.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

namespace lbd::vrrp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const TimePoint t0{};
TimePoint at(int64_t us) { return t0 + Micros(us); }
config::IpAddr ip(const char* text) { return *config::IpAddr::parse(text); }

// Records every output, in order; lines also on their own.
struct Recorder : Actions {
    std::vector<std::string> events;
    std::vector<std::string> logs;
    std::vector<int> adverts;
    void send_advert(uint8_t p) override {
        adverts.push_back(p);
        events.push_back("advert " + std::to_string(p));
    }
    void take_addresses() override { events.push_back("take"); }
    void release_addresses() override { events.push_back("release"); }
    void notify(State s) override { events.push_back("notify " + std::string(to_string(s))); }
    void log(std::string line) override {
        events.push_back(line);
        logs.push_back(std::move(line));
    }
    void clear() { events.clear(), logs.clear(), adverts.clear(); }
};

Settings settings(int priority, int version = 3, uint32_t advert_int_cs = 100, const char* primary = "10.0.0.1") {
    Settings s;
    s.name = "VI_1";
    s.version = version;
    s.priority = static_cast<uint8_t>(priority);
    s.advert_int_cs = advert_int_cs;
    s.primary_address = ip(primary);
    return s;
}

ReceivedAdvert advert(int priority, const char* from = "10.0.0.2", uint16_t cs = 100) {
    return {static_cast<uint8_t>(priority), cs, ip(from)};
}

struct Fixture : ::testing::Test {
    Recorder rec;
    std::unique_ptr<Instance> vi;
    Instance& make(Settings s) {
        vi = std::make_unique<Instance>(std::move(s), rec);
        return *vi;
    }
    // A started BACKUP (or MASTER) with the start's outputs forgotten.
    Instance& started(Settings s) {
        make(std::move(s)).start(t0);
        rec.clear();
        return *vi;
    }
    Instance& master(Settings s) {
        started(std::move(s));
        vi->on_timer(*vi->next_deadline());
        rec.clear();
        return *vi;
    }
};

// ---- timers (RFC 5798 6.1; RFC 3768 6.1) ------------------------------------

TEST(Timers, SkewAndMasterDownIntervalV3) {
    // {priority, Master_Adver_Interval cs, Skew_Time us, Master_Down_Interval us}
    const std::tuple<int, uint32_t, int64_t, int64_t> cases[] = {
        {100, 100, 609'375, 3'609'375},   {200, 100, 218'750, 3'218'750},      {1, 100, 996'093, 3'996'093},
        {255, 100, 3'906, 3'003'906},     {254, 1, 78, 30'078},                {150, 50, 207'031, 1'707'031},
        {100, 300, 1'828'125, 10'828'125}, {100, 4095, 24'953'906, 147'803'906},
    };
    for (const auto& [prio, cs, skew, mdi] : cases) {
        EXPECT_EQ(skew_time(3, prio, cs).count(), skew) << prio << " " << cs;
        EXPECT_EQ(master_down_interval(3, prio, cs).count(), mdi) << prio << " " << cs;
    }
}

TEST(Timers, V2SkewIsFractionOfASecondWhateverTheInterval) {
    EXPECT_EQ(skew_time(2, 100, 100).count(), 609'375);
    EXPECT_EQ(skew_time(2, 100, 300).count(), 609'375);
    EXPECT_EQ(master_down_interval(2, 100, 300).count(), 9'609'375);
    EXPECT_EQ(master_down_interval(2, 200, 100).count(), 3'218'750);
    EXPECT_EQ(master_down_interval(2, 1, 500).count(), 15'996'093);
}

// ---- Initialize (6.4.1) -------------------------------------------------------

TEST_F(Fixture, StartAsBackupWaitsMasterDownInterval) {
    make(settings(100)).start(t0);
    EXPECT_EQ(vi->state(), State::BACKUP);
    EXPECT_THAT(rec.events, ElementsAre("VRRP_Instance(VI_1) Entering BACKUP STATE (init)", "release", "notify BACKUP"));
    EXPECT_EQ(vi->next_deadline(), at(3'609'375));
    vi->on_timer(at(3'609'374));
    EXPECT_EQ(vi->state(), State::BACKUP);
    vi->on_timer(at(3'609'375));
    EXPECT_EQ(vi->state(), State::MASTER);
}

TEST_F(Fixture, AddressOwnerStartsAsMaster) {
    make(settings(255)).start(t0);
    EXPECT_EQ(vi->state(), State::MASTER);
    EXPECT_THAT(rec.events, ElementsAre("VRRP_Instance(VI_1) Transition to MASTER STATE", "advert 255",
                                        "VRRP_Instance(VI_1) Entering MASTER STATE", "take", "notify MASTER"));
    EXPECT_EQ(vi->next_deadline(), at(1'000'000));
}

TEST_F(Fixture, StateMasterIsOnlyAHint) {
    Settings s = settings(100);
    s.start_as_master = true;
    make(s).start(t0);
    EXPECT_EQ(vi->state(), State::MASTER);
    vi->on_advert(at(200'000), advert(150));  // the election decides
    EXPECT_EQ(vi->state(), State::BACKUP);
}

// ---- after a restart (vrrp/leases.h) -----------------------------------------

TEST_F(Fixture, ResumedMasterAdvertisesAtOnceWithoutATransition) {
    make(settings(100)).start(t0, Start::resume_master);
    EXPECT_EQ(vi->state(), State::MASTER);
    EXPECT_THAT(rec.events,
                ElementsAre("VRRP_Instance(VI_1) Resuming MASTER STATE (its lease is current)",
                            "advert 100", "take", "notify MASTER"));
    EXPECT_EQ(vi->next_deadline(), at(1'000'000));
    vi->on_advert(at(200'000), advert(150));  // and the election still decides
    EXPECT_EQ(vi->state(), State::BACKUP);
}

TEST_F(Fixture, ExpiredLeaseStartsEvenTheOwnerAsBackup) {
    Settings s = settings(255);
    s.start_as_master = true;
    make(s).start(t0, Start::backup);
    EXPECT_EQ(vi->state(), State::BACKUP);
    EXPECT_THAT(rec.events, ElementsAre("VRRP_Instance(VI_1) Entering BACKUP STATE (init)", "release", "notify BACKUP"));
    vi->on_advert(at(100'000), advert(100));  // a lower master is discarded: preempted at the timer
    EXPECT_EQ(vi->state(), State::BACKUP);
    vi->on_timer(*vi->next_deadline());
    EXPECT_EQ(vi->state(), State::MASTER);
}

TEST_F(Fixture, ABackupKeptByAReloadStaysSilentlyBackup) {
    Settings s = settings(255);
    s.start_as_master = true;  // neither the owner's priority nor `state MASTER` win at once
    make(s).start(t0, Start::resume_backup);
    EXPECT_EQ(vi->state(), State::BACKUP);
    EXPECT_THAT(rec.events, ElementsAre("notify BACKUP"));
    EXPECT_EQ(vi->next_deadline(), t0 + vi->master_down_interval());
    vi->on_timer(*vi->next_deadline());  // a silent master is still taken over
    EXPECT_EQ(vi->state(), State::MASTER);
}

TEST_F(Fixture, FaultComesBeforeAResume) {
    make(settings(100));
    vi->set_fault(t0, true);
    vi->start(t0, Start::resume_master);
    EXPECT_EQ(vi->state(), State::FAULT);
}

// ---- Backup (6.4.2) -------------------------------------------------------------

TEST_F(Fixture, BackupBecomesMasterWhenMasterDownTimerFires) {
    started(settings(100));
    vi->on_timer(at(3'609'375));
    EXPECT_THAT(rec.events, ElementsAre("VRRP_Instance(VI_1) Receive advertisement timeout",
                                        "VRRP_Instance(VI_1) Transition to MASTER STATE", "advert 100",
                                        "VRRP_Instance(VI_1) Entering MASTER STATE", "take", "notify MASTER"));
    EXPECT_EQ(vi->next_deadline(), at(4'609'375));  // Adver_Timer
}

TEST_F(Fixture, BackupResetsMasterDownTimerOnHigherOrEqualAdvert) {
    started(settings(100));
    vi->on_advert(at(1'000'000), advert(200));
    EXPECT_EQ(vi->next_deadline(), at(4'609'375));
    vi->on_advert(at(2'000'000), advert(100));  // equal counts as a live master
    EXPECT_EQ(vi->next_deadline(), at(5'609'375));
    EXPECT_THAT(rec.events, IsEmpty());
}

TEST_F(Fixture, BackupPriorityZeroSetsTimerToSkewTime) {
    started(settings(100));
    vi->on_advert(at(1'000'000), advert(0));
    EXPECT_THAT(rec.logs, ElementsAre("VRRP_Instance(VI_1) Backup received priority 0 advertisement"));
    EXPECT_EQ(vi->next_deadline(), at(1'609'375));
    vi->on_timer(at(1'609'375));
    EXPECT_EQ(vi->state(), State::MASTER);
}

TEST_F(Fixture, BackupWithPreemptDiscardsLowerAdvert) {
    started(settings(100));
    vi->on_advert(at(1'000'000), advert(50));
    EXPECT_THAT(rec.logs, ElementsAre("VRRP_Instance(VI_1) received lower priority (50) advert from 10.0.0.2 - discarding"));
    EXPECT_EQ(vi->next_deadline(), at(3'609'375));  // unchanged: we preempt when it fires
}

TEST_F(Fixture, NopreemptKeepsAHigherBackupBehindALiveMaster) {
    Settings s = settings(150);
    s.preempt = false;
    started(s);
    for (int64_t t = 500'000; t < 20'000'000; t += 1'000'000) {
        vi->on_timer(at(t));
        vi->on_advert(at(t), advert(100));
    }
    EXPECT_EQ(vi->state(), State::BACKUP);
    EXPECT_EQ(vi->next_deadline(), at(19'500'000 + 3'414'062));  // the master gone: it takes over
}

TEST_F(Fixture, PreemptDelayCountsFromStart) {
    Settings s = settings(150);
    s.preempt_delay = std::chrono::seconds(10);
    started(s);
    for (int64_t t = 500'000; t < 12'900'000; t += 1'000'000) {
        vi->on_timer(at(t));
        vi->on_advert(at(t), advert(100));
    }
    // Lower adverts count as a live master until 10 s (the last at 9.5 s);
    // those at 10.5, 11.5 and 12.5 s are discarded.
    EXPECT_EQ(vi->state(), State::BACKUP);
    EXPECT_EQ(rec.logs.size(), 3u);
    EXPECT_EQ(vi->next_deadline(), at(9'500'000 + 3'414'062));
    vi->on_timer(at(12'914'062));
    EXPECT_EQ(vi->state(), State::MASTER);
}

TEST_F(Fixture, PreemptDelayStartsAtFirstLowerAdvert) {
    Settings s = settings(150);
    s.preempt_delay = std::chrono::seconds(10);
    started(s);
    vi->on_advert(at(500'000), advert(200));
    vi->on_advert(at(1'000'000), advert(100));
    EXPECT_THAT(rec.logs, ElementsAre("VRRP_Instance(VI_1) stop preempt delay", "VRRP_Instance(VI_1) start preempt delay (10.000000)"));
    for (int64_t t = 2'000'000; t <= 11'000'000; t += 1'000'000) vi->on_advert(at(t), advert(100));
    EXPECT_EQ(rec.logs.back(), "VRRP_Instance(VI_1) received lower priority (100) advert from 10.0.0.2 - discarding");
    EXPECT_EQ(vi->next_deadline(), at(10'000'000 + 3'414'062));
}

TEST_F(Fixture, V3BackupLearnsMasterAdverInterval) {
    started(settings(100));
    vi->on_advert(at(1'000'000), advert(200, "10.0.0.2", 200));
    EXPECT_EQ(vi->master_adver_int_cs(), 200u);
    EXPECT_EQ(vi->master_down_interval().count(), 7'218'750);
    EXPECT_EQ(vi->next_deadline(), at(8'218'750));
    EXPECT_THAT(rec.logs, ElementsAre("VRRP_Instance(VI_1) advertisement interval updated from 1000ms to 2000ms by master"));
    vi->on_timer(at(8'218'750));  // as master it advertises its own interval
    EXPECT_EQ(vi->master_adver_int_cs(), 100u);
    EXPECT_EQ(vi->next_deadline(), at(9'218'750));
}

TEST_F(Fixture, V2DoesNotLearnAndDiscardsAnotherInterval) {
    started(settings(100, 2));
    vi->on_advert(at(1'000'000), advert(200, "10.0.0.2", 200));
    EXPECT_THAT(rec.logs, ElementsAre("VRRP_Instance(VI_1) advertisement interval mismatch mine=1 sec rcv'd=2 sec"));
    EXPECT_EQ(vi->master_adver_int_cs(), 100u);
    EXPECT_EQ(vi->next_deadline(), at(3'609'375));
    vi->on_advert(at(2'000'000), advert(200));
    EXPECT_EQ(vi->next_deadline(), at(5'609'375));
}

// ---- Master (6.4.3) -------------------------------------------------------------

TEST_F(Fixture, MasterSendsAdvertEachInterval) {
    master(settings(100));  // master since 3'609'375
    vi->on_timer(at(4'609'374));
    EXPECT_THAT(rec.adverts, IsEmpty());
    vi->on_timer(at(4'609'375));
    vi->on_timer(at(5'700'000));  // late: the next counts from now
    EXPECT_EQ(rec.adverts, (std::vector<int>{100, 100}));
    EXPECT_EQ(vi->next_deadline(), at(6'700'000));
}

TEST_F(Fixture, MasterYieldsToHigherPriorityAndLearnsInterval) {
    master(settings(100));
    vi->on_advert(at(4'000'000), advert(150, "10.0.0.2", 50));
    EXPECT_EQ(vi->state(), State::BACKUP);
    EXPECT_THAT(rec.events,
                ElementsAre("VRRP_Instance(VI_1) Master received advert from 10.0.0.2 with higher priority 150, ours 100",
                            "VRRP_Instance(VI_1) advertisement interval updated from 1000ms to 500ms by new master",
                            "VRRP_Instance(VI_1) Entering BACKUP STATE", "release", "notify BACKUP"));
    EXPECT_EQ(vi->next_deadline(), at(4'000'000 + 1'804'687));
}

TEST_F(Fixture, MasterPriorityZeroAdvertIsAnsweredAtOnce) {
    master(settings(100));
    vi->on_advert(at(4'000'000), advert(0));
    EXPECT_THAT(rec.events, ElementsAre("VRRP_Instance(VI_1) Master received priority 0 message", "advert 100"));
    EXPECT_EQ(vi->next_deadline(), at(5'000'000));
}

TEST_F(Fixture, MasterKeepsRoleOnLowerPriorityAndAnswers) {
    master(settings(100));
    vi->on_advert(at(4'000'000), advert(90));
    EXPECT_EQ(vi->state(), State::MASTER);
    EXPECT_THAT(rec.events,
                ElementsAre("VRRP_Instance(VI_1) Received advert from 10.0.0.2 with lower priority 90, ours 100, forcing new election",
                            "advert 100"));
}

// Equal priority: the higher primary address wins (6.4.3), compared as numbers.
struct Tie {
    const char* ours;
    const char* theirs;
    bool yields;
    friend std::ostream& operator<<(std::ostream& os, const Tie& t) { return os << t.ours << " vs " << t.theirs; }
};
struct TieBreak : Fixture, ::testing::WithParamInterface<Tie> {};

TEST_P(TieBreak, HigherPrimaryAddressWins) {
    const Tie& t = GetParam();
    master(settings(100, 3, 100, t.ours));
    vi->on_advert(at(4'000'000), advert(100, t.theirs));
    EXPECT_EQ(vi->state(), t.yields ? State::BACKUP : State::MASTER);
    EXPECT_EQ(rec.logs[0], t.yields ? fmt::format("VRRP_Instance(VI_1) Master received advert from {} with same priority 100 "
                                                  "but higher IP address than ours", t.theirs)
                                    : fmt::format("VRRP_Instance(VI_1) Received advert from {} with lower priority 100, "
                                                  "ours 100, forcing new election", t.theirs));
}

INSTANTIATE_TEST_SUITE_P(V4AndV6, TieBreak,
                         ::testing::Values(Tie{"10.0.0.5", "10.0.0.9", true}, Tie{"10.0.0.5", "10.0.0.1", false},
                                           Tie{"10.0.0.200", "10.0.1.1", true}, Tie{"fe80::5", "fe80::9", true},
                                           Tie{"fe80::5", "fe80::1", false}, Tie{"2001:db8::ff", "2001:db8::1:0", true},
                                           Tie{"2001:db8::1:0", "2001:db8::ff", false}));

TEST_F(Fixture, EqualPriorityFromOurOwnAddressIsIgnored) {
    master(settings(100));
    vi->on_advert(at(4'000'000), advert(100, "10.0.0.1"));
    EXPECT_EQ(vi->state(), State::MASTER);
    EXPECT_THAT(rec.logs,
                ElementsAre("VRRP_Instance(VI_1) WARNING - equal priority advert received from remote host with our IP address."));
}

// ---- shutdown, failover ---------------------------------------------------------

TEST_F(Fixture, MasterShutdownSendsPriorityZero) {
    master(settings(100));
    vi->shutdown(at(5'000'000));
    EXPECT_THAT(rec.events, ElementsAre("advert 0", "VRRP_Instance(VI_1) sent 0 priority", "release", "notify INIT"));
    EXPECT_EQ(vi->state(), State::INIT);
    EXPECT_EQ(vi->next_deadline(), std::nullopt);
    vi->on_advert(at(5'100'000), advert(200));
    EXPECT_THAT(rec.adverts, ElementsAre(0));
}

TEST_F(Fixture, BackupShutdownIsSilent) {
    started(settings(100));
    vi->shutdown(at(1'000'000));
    EXPECT_THAT(rec.events, ElementsAre("notify INIT"));
}

TEST_F(Fixture, FailoverHandsOverWithPriorityZero) {
    master(settings(100));
    vi->failover(at(5'000'000));
    EXPECT_THAT(rec.events, ElementsAre("advert 0", "VRRP_Instance(VI_1) sent 0 priority", "VRRP_Instance(VI_1) Entering BACKUP STATE",
                                        "release", "notify BACKUP"));
    EXPECT_EQ(vi->next_deadline(), at(5'000'000 + 3'609'375));
}

// ---- FAULT (keepalived) ---------------------------------------------------------

TEST_F(Fixture, FaultFromBackupAndBack) {
    started(settings(100));
    vi->set_fault(at(1'000'000), true);
    EXPECT_THAT(rec.events, ElementsAre("VRRP_Instance(VI_1) Entering FAULT STATE", "release", "notify FAULT"));
    EXPECT_EQ(vi->next_deadline(), std::nullopt);
    vi->on_advert(at(1'500'000), advert(0));  // not listening
    vi->set_fault(at(2'000'000), false);
    EXPECT_EQ(rec.logs.back(), "VRRP_Instance(VI_1) Entering BACKUP STATE");
    EXPECT_EQ(vi->state(), State::BACKUP);
    EXPECT_EQ(vi->next_deadline(), at(2'000'000 + 3'609'375));  // nothing heard: MASTER then
    vi->on_timer(at(5'609'375));
    EXPECT_EQ(vi->state(), State::MASTER);
}

TEST_F(Fixture, FaultFromMasterSendsPriorityZero) {
    master(settings(100));
    vi->set_fault(at(5'000'000), true);
    EXPECT_THAT(rec.events, ElementsAre("VRRP_Instance(VI_1) Entering FAULT STATE", "advert 0", "VRRP_Instance(VI_1) sent 0 priority",
                                        "release", "notify FAULT"));
}

TEST_F(Fixture, FaultBeforeStartAndOwnerLeavingFault) {
    make(settings(255)).set_fault(t0, true);
    vi->start(t0);
    EXPECT_EQ(vi->state(), State::FAULT);
    vi->set_fault(at(1'000'000), false);
    EXPECT_EQ(vi->state(), State::MASTER);
}

// ---- effective priority -----------------------------------------------------------

TEST_F(Fixture, EffectivePriorityIsClampedAndLogged) {
    started(settings(100));
    vi->set_effective_priority(t0, 90);
    vi->set_effective_priority(t0, 90);
    vi->set_effective_priority(t0, 300);
    vi->set_effective_priority(t0, -5);
    EXPECT_THAT(rec.logs, ElementsAre("VRRP_Instance(VI_1) Changing effective priority from 100 to 90",
                                      "VRRP_Instance(VI_1) Changing effective priority from 90 to 254",
                                      "VRRP_Instance(VI_1) Changing effective priority from 254 to 1"));
    EXPECT_EQ(vi->priority(), 1);
    EXPECT_EQ(vi->master_down_interval().count(), 3'996'093);  // skew from the effective priority
}

TEST_F(Fixture, OwnerPriorityNeverChanges) {
    started(settings(255));
    vi->set_effective_priority(t0, 100);
    EXPECT_EQ(vi->priority(), 255);
    EXPECT_THAT(rec.logs, IsEmpty());
}

}  // namespace
}  // namespace lbd::vrrp
