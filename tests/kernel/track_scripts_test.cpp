// TrackScripts with real scripts: rise and fall counting over exit statuses
// read from a file, a timeout counted as a failure, never two runs of one
// script at once, and a script that cannot start.
#include "kernel_test.h"
#include "temp_dir.h"
#include "vrrp/track_scripts.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

namespace lbd::vrrp {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using lbd::test::TempDir;

std::vector<std::string> lines_of(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// Replaced whole, so that a script never reads half of it.
void put(const std::string& path, const std::string& text) {
    std::ofstream(path + ".tmp") << text;
    std::rename((path + ".tmp").c_str(), path.c_str());
}

config::VrrpScript vrrp_script(std::string name, std::string command, milliseconds interval, milliseconds timeout,
                               uint32_t rise = 1, uint32_t fall = 1) {
    config::VrrpScript s;
    s.name = std::move(name);
    s.command = std::move(command);
    s.interval = interval;
    s.timeout = timeout;
    s.rise = rise;
    s.fall = fall;
    return s;
}

// The owner's loop: the schedule and the children; false when `limit`
// passes before `done` holds.
bool pump(ChildProcesses& children, TrackScripts& scripts, const std::function<bool()>& done,
          milliseconds limit = 5s) {
    const auto until = Clock::now() + limit;
    while (!done()) {
        const auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
        if (left <= 0ms) return false;
        pollfd fds[] = {{scripts.fd(), POLLIN, 0}, {children.fd(), POLLIN, 0}};
        poll(fds, 2, static_cast<int>(left.count()));
        if (fds[0].revents & POLLIN) scripts.dispatch();
        if (fds[1].revents & POLLIN) children.dispatch();
    }
    return true;
}

// How many of the last lines read `value`.
size_t trailing(const std::vector<std::string>& lines, const std::string& value) {
    auto last = std::find_if(lines.rbegin(), lines.rend(), [&](const std::string& l) { return l != value; });
    return size_t(last - lines.rbegin());
}

TEST(TrackScripts, RiseAndFallCountConsecutiveResults) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    put(dir / "code", "0\n");
    const std::string command = "/bin/sh -c 'c=$(cat " + dir / "code" + "); echo $c >> " + dir / "runs" +
                                "; exit $c'";
    struct Event {
        Status status;
        std::vector<std::string> runs;  // the results seen when it came
    };
    std::vector<Event> events;
    ChildProcesses children;
    TrackScripts scripts(children, {vrrp_script("chk", command, 50ms, 1s, 2, 2)},
                         [&](const std::string& name, Status s) {
                             EXPECT_EQ(name, "chk");
                             events.push_back({s, lines_of(dir / "runs")});
                         });
    EXPECT_EQ(scripts.status("chk"), Status::unknown);

    ASSERT_TRUE(pump(children, scripts, [&] { return events.size() == 1; }));
    EXPECT_EQ(events[0].status, Status::up) << "the first result decides";
    EXPECT_EQ(events[0].runs.size(), 1u);

    put(dir / "code", "1\n");
    ASSERT_TRUE(pump(children, scripts, [&] { return events.size() == 2; }));
    EXPECT_EQ(events[1].status, Status::down);
    EXPECT_EQ(trailing(events[1].runs, "1"), 2u) << "fall 2: down at the second failure in a row";
    EXPECT_EQ(scripts.status("chk"), Status::down);

    put(dir / "code", "0\n");
    ASSERT_TRUE(pump(children, scripts, [&] { return events.size() == 3; }));
    EXPECT_EQ(events[2].status, Status::up);
    EXPECT_EQ(trailing(events[2].runs, "0"), 2u) << "rise 2: up at the second success in a row";
}

// A reload: the next TrackScripts goes on from the trackers of the running
// one for a block that did not change, from unknown for one that did.
TEST(TrackScripts, AReloadKeepsAnUnchangedScriptsStatus) {
    LBD_REQUIRE_NETNS();
    ChildProcesses children;
    const auto failing = vrrp_script("chk", "/bin/false", 50ms, 1s);
    Status seen = Status::unknown;
    TrackScripts before(children, {failing}, [&](const std::string&, Status s) { seen = s; });
    ASSERT_TRUE(pump(children, before, [&] { return seen == Status::down; }));

    auto noop = [](const std::string&, Status) {};
    TrackScripts same(children, {failing}, noop, {}, before.trackers());
    EXPECT_EQ(same.status("chk"), Status::down) << "before any run of its own";

    auto changed = failing;
    changed.fall = 3;
    TrackScripts other(children, {changed}, noop, {}, before.trackers());
    EXPECT_EQ(other.status("chk"), Status::unknown);
}

TEST(TrackScripts, TimeoutIsAFailure) {
    LBD_REQUIRE_NETNS();
    std::vector<Status> events;
    ChildProcesses children;
    testing::internal::CaptureStderr();
    TrackScripts scripts(children, {vrrp_script("slow", "/bin/sleep 5", 1s, 100ms)},
                         [&](const std::string&, Status s) { events.push_back(s); });
    const auto started = Clock::now();
    const bool changed = pump(children, scripts, [&] { return !events.empty(); });
    const auto took = Clock::now() - started;
    const std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(changed);
    EXPECT_EQ(events[0], Status::down);
    EXPECT_LT(took, 1s);
    EXPECT_NE(log.find("VRRP_Script(slow) timed_out"), std::string::npos) << log;
}

TEST(TrackScripts, NeverRunsOneScriptTwiceAtOnce) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    const std::string log_file = dir / "log";
    const std::string command =
        "/bin/sh -c 'echo start >> " + log_file + "; sleep 0.2; echo end >> " + log_file + "'";
    ChildProcesses children;
    testing::internal::CaptureStderr();
    TrackScripts scripts(children, {vrrp_script("overlap", command, 50ms, 2s)}, [](const std::string&, Status) {});
    size_t most = 0;
    pump(children, scripts, [&] {
        most = std::max(most, children.running());
        return false;
    }, 500ms);
    while (children.running() > 0) {  // let the last run end, starting no other
        pollfd p{children.fd(), POLLIN, 0};
        ASSERT_EQ(poll(&p, 1, 2000), 1);
        children.dispatch();
    }
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(most, 1u);
    const auto lines = lines_of(log_file);
    ASSERT_GE(lines.size(), 4u);
    for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], i % 2 == 0 ? "start" : "end") << i;
    EXPECT_NE(log.find("Track script overlap is already running, expect idle - skipping run"), std::string::npos)
        << log;
}

TEST(TrackScripts, AScriptThatCannotStartFails) {
    LBD_REQUIRE_NETNS();
    std::vector<Status> events;
    ChildProcesses children;
    testing::internal::CaptureStderr();
    TrackScripts scripts(children, {vrrp_script("gone", "/nonexistent/lbd-check", 1s, 1s)},
                         [&](const std::string&, Status s) { events.push_back(s); });
    ASSERT_TRUE(pump(children, scripts, [&] { return !events.empty(); }));
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_EQ(events[0], Status::down);
    EXPECT_NE(log.find("VRRP_Script(gone) cannot run: cannot execute '/nonexistent/lbd-check'"), std::string::npos)
        << log;
    EXPECT_NE(log.find("VRRP_Script(gone) failed (exited with status 127)"), std::string::npos) << log;
}

TEST(TrackScripts, InitFailStartsDown) {
    LBD_REQUIRE_NETNS();
    ChildProcesses children;
    auto failing = vrrp_script("init", "/bin/true", 1s, 1s);
    failing.init_fail = true;
    TrackScripts scripts(children, {failing, vrrp_script("plain", "/bin/true", 1s, 1s)},
                         [](const std::string&, Status) {});
    EXPECT_EQ(scripts.status("init"), Status::down);
    EXPECT_EQ(scripts.status("plain"), Status::unknown);
    EXPECT_THROW(scripts.status("other"), std::out_of_range);
}

}  // namespace
}  // namespace lbd::vrrp
