// MISC_CHECK with real scripts from a temporary directory, their children's
// ends served by the probe's loop as the engine serves them: exit 0 and 1,
// misc_dynamic's weights, a script killed at its timeout (misc_timeout, else
// delay_loop), one killed by a signal, one that flaps, one that cannot start,
// and attempts cancelled or abandoned before their script ends.
#include "check/probe_types.h"
#include "check_probe_harness.h"
#include "kernel_test.h"
#include "temp_dir.h"

#include <sys/epoll.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>

namespace lbd::check {
namespace {

using namespace test;

constexpr milliseconds kLimit = 5s;  // attempt()'s bound: past misc_checker's 2 s, so the script's own timeout comes first

using lbd::test::TempDir;

// The engine's wiring: the children's fd on the checkers' loop.
struct ScriptHarness : Harness {
    ScriptHarness() { loop.watch(children.fd(), EPOLLIN, [this](uint32_t) { children.dispatch(); }); }
    ~ScriptHarness() { loop.unwatch(children.fd()); }
};

config::Checker misc_checker(std::string command, bool dynamic = false, milliseconds timeout = 2s) {
    config::Checker c;
    c.type = config::CheckerType::MISC_CHECK;
    c.timing.delay_loop = 60s;
    config::MiscCheck m;
    m.command = std::move(command);
    m.timeout = timeout;
    m.dynamic = dynamic;
    c.detail = m;
    return c;
}

// Serves the loop until no child is left (at most `limit`).
bool until_no_child(ScriptHarness& h, milliseconds limit = 5s) {
    const auto until = Clock::now() + limit;
    while (h.children.running() > 0 && Clock::now() < until) h.loop.run_once(10ms);
    return h.children.running() == 0;
}

TEST(MiscProbe, ExitZeroIsUp) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    auto probe = make_misc_probe(misc_checker(dir.script("ok", "exit 0")), h.context());
    const Outcome out = attempt(h.loop, *probe, kLimit);
    ASSERT_TRUE(out.result);
    EXPECT_TRUE(out.result->ok) << out.result->detail;
    EXPECT_EQ(out.result->detail, "exited with status 0");
    EXPECT_EQ(out.result->weight, std::nullopt);
}

TEST(MiscProbe, OtherExitIsDown) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    for (int status : {1, 3}) {
        auto probe = make_misc_probe(misc_checker(dir.script("fail", "exit " + std::to_string(status))), h.context());
        const Outcome out = attempt(h.loop, *probe, kLimit);
        ASSERT_TRUE(out.result) << status;
        EXPECT_FALSE(out.result->ok) << status << ": without misc_dynamic, only 0 passes";
        EXPECT_EQ(out.result->detail, "exited with status " + std::to_string(status));
        EXPECT_EQ(out.result->weight, std::nullopt);
    }
}

TEST(MiscProbe, DynamicStatusSetsTheWeight) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    struct Case {
        int status;
        bool ok;
        std::optional<uint32_t> weight;
    };
    for (const Case& c : {Case{3, true, 1u}, Case{2, true, 0u}, Case{255, true, 253u}, Case{1, false, std::nullopt},
                          Case{0, true, std::nullopt}}) {
        const std::string path = dir.script("dyn" + std::to_string(c.status), "exit " + std::to_string(c.status));
        auto probe = make_misc_probe(misc_checker(path, true), h.context());
        const Outcome out = attempt(h.loop, *probe, kLimit);
        ASSERT_TRUE(out.result) << c.status;
        EXPECT_EQ(out.result->ok, c.ok) << c.status << ": " << out.result->detail;
        EXPECT_EQ(out.result->weight, c.weight) << c.status;
    }
}

TEST(MiscProbe, HangingScriptIsKilledAtItsTimeout) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    const std::string path = dir.script("hang", "sleep 30");
    auto probe = make_misc_probe(misc_checker(path, false, 300ms), h.context());
    const Outcome out = attempt(h.loop, *probe, kLimit);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "timed out");
    EXPECT_GE(out.took, 290ms);
    EXPECT_LT(out.took, 300ms + kMargin);
    EXPECT_EQ(h.children.running(), 0u);
}

TEST(MiscProbe, TimeoutDefaultsToDelayLoop) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    config::Checker c = misc_checker(dir.script("hang", "sleep 30"), false, 0ms);
    c.timing.delay_loop = 300ms;
    auto probe = make_misc_probe(c, h.context());
    const Outcome out = attempt(h.loop, *probe, kLimit);
    ASSERT_TRUE(out.result);
    EXPECT_EQ(out.result->detail, "timed out");
    EXPECT_LT(out.took, 300ms + kMargin);
}

TEST(MiscProbe, SignalIsDown) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    auto probe = make_misc_probe(misc_checker(dir.script("killed", "kill -9 $$"), true), h.context());
    const Outcome out = attempt(h.loop, *probe, kLimit);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_EQ(out.result->detail, "killed by signal 9");
}

TEST(MiscProbe, FlappingScriptGivesAlternatingResults) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    const std::string state = dir / "state";
    // Fails when the state file is there, and flips it each run.
    const std::string path =
        dir.script("flap", "if [ -e " + state + " ]; then rm " + state + "; exit 1; fi; touch " + state + "; exit 0");
    auto probe = make_misc_probe(misc_checker(path), h.context());
    for (int i = 0; i < 4; ++i) {
        const Outcome out = attempt(h.loop, *probe, kLimit);  // one probe, reused
        ASSERT_TRUE(out.result) << i;
        EXPECT_EQ(out.result->ok, i % 2 == 0) << i << ": " << out.result->detail;
    }
}

TEST(MiscProbe, ScriptThatCannotStartIsDownFromTheLoop) {
    LBD_REQUIRE_NETNS();
    ScriptHarness h;
    auto probe = make_misc_probe(misc_checker("/nonexistent/lbd-check --flag"), h.context());
    const Outcome out = attempt(h.loop, *probe, kLimit);
    ASSERT_TRUE(out.result);
    EXPECT_FALSE(out.result->ok);
    EXPECT_NE(out.result->detail.find("cannot execute '/nonexistent/lbd-check'"), std::string::npos)
        << out.result->detail;
    EXPECT_EQ(h.loop.timers(), 0u);
}

TEST(MiscProbe, CancelledOrAbandonedAttemptNeverReports) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    ScriptHarness h;
    const std::string path = dir.script("slow", "sleep 0.2; exit 0");
    bool called = false;
    auto probe = make_misc_probe(misc_checker(path), h.context());
    probe->start([&](ProbeResult) { called = true; });
    probe->cancel();
    ASSERT_EQ(h.children.running(), 1u) << "the script is left to end or time out";
    ASSERT_TRUE(until_no_child(h));
    EXPECT_FALSE(called);

    probe->start([&](ProbeResult) { called = true; });
    probe.reset();  // the child ends after its probe is gone
    ASSERT_TRUE(until_no_child(h));
    EXPECT_FALSE(called);

    // The end of a cancelled run, failing at 0.1 s, does not complete the
    // next attempt, whose run passes at 0.4 s.
    const std::string state = dir / "state";
    const std::string twice = dir.script(
        "twice", "if [ ! -e " + state + " ]; then touch " + state + "; sleep 0.1; exit 1; fi; sleep 0.4; exit 0");
    probe = make_misc_probe(misc_checker(twice), h.context());
    probe->start([&](ProbeResult) { called = true; });
    probe->cancel();
    const auto touched = Clock::now() + 2s;  // the first run has taken the failing branch
    while (!std::filesystem::exists(state) && Clock::now() < touched) h.loop.run_once(5ms);
    ASSERT_TRUE(std::filesystem::exists(state));
    int calls = 0;
    std::optional<ProbeResult> second;
    const auto started = Clock::now();
    probe->start([&](ProbeResult r) {
        ++calls;
        second = std::move(r);
    });
    ASSERT_EQ(h.children.running(), 2u);
    ASSERT_TRUE(until_no_child(h));
    EXPECT_FALSE(called);
    EXPECT_EQ(calls, 1);
    ASSERT_TRUE(second);
    EXPECT_TRUE(second->ok) << second->detail;
    EXPECT_GE(Clock::now() - started, 400ms);
}

}  // namespace
}  // namespace lbd::check
