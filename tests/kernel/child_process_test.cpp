// ChildProcesses with real processes: exit statuses and signals, a timeout
// that takes the script's own children too, argv exactly as keepalived
// splits it, another user, what a child inherits, many children at once,
// and the destructor's cleanup.
#include "kernel_test.h"
#include "temp_dir.h"
#include "util/child_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <thread>

namespace lbd {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using lbd::test::TempDir;

using lbd::test::slurp;

void put(const std::string& path, const std::string& text, mode_t mode = 0644) {
    std::ofstream(path) << text;
    chmod(path.c_str(), mode);
}

Command script(std::string command, std::string user = {}, std::string group = {}) {
    return {std::move(command), std::move(user), std::move(group)};
}

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

bool readable(int fd, milliseconds limit) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(limit.count())) == 1;
}

// Dispatches until `done` holds; false when `limit` passes first.
bool pump(ChildProcesses& children, const std::function<bool()>& done, milliseconds limit = 5s) {
    const auto until = Clock::now() + limit;
    while (!done()) {
        const auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
        if (left <= 0ms) return false;
        readable(children.fd(), left);
        children.dispatch();
    }
    return true;
}

// Runs one script to its end.
std::optional<ChildResult> run(ChildProcesses& children, const Command& s, milliseconds timeout = 0ms,
                               const std::vector<std::string>& extra = {}) {
    std::optional<ChildResult> result;
    const auto error = children.start(s, extra, timeout, [&](const ChildResult& r) { result = r; });
    EXPECT_EQ(error, std::nullopt);
    EXPECT_TRUE(pump(children, [&] { return result.has_value(); }));
    return result;
}

// A pid a script sends through the fifo at `path` (made here, read without
// blocking: the script's open waits for this reader).
class PidFifo {
public:
    explicit PidFifo(std::string path) : path_(std::move(path)) {
        if (mkfifo(path_.c_str(), 0600) < 0) throw std::runtime_error("mkfifo");
        fd_ = open(path_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
    ~PidFifo() { close(fd_); }
    pid_t read_pid() const {
        if (!readable(fd_, 5000ms)) return -1;
        char buf[32] = {};
        return read(fd_, buf, sizeof(buf) - 1) > 0 ? std::atoi(buf) : -1;
    }

private:
    std::string path_;
    int fd_ = -1;
};

TEST(ChildProcesses, ReportsExitStatusesAndSignals) {
    LBD_REQUIRE_NETNS();
    ChildProcesses children;
    auto ok = run(children, script("/bin/true"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->exit_status, 0);
    EXPECT_EQ(ok->signal, 0);
    EXPECT_FALSE(ok->timed_out);

    auto three = run(children, script("/bin/sh -c 'exit 3'"));
    ASSERT_TRUE(three);
    EXPECT_EQ(three->exit_status, 3);

    auto killed = run(children, script("/bin/sh -c 'kill -TERM $$'"));
    ASSERT_TRUE(killed);
    EXPECT_EQ(killed->signal, SIGTERM);
    EXPECT_FALSE(killed->timed_out);
    EXPECT_EQ(children.running(), 0u);
}

// The VRRP engine's and the checkers' threads end at every reload; the
// scripts they started must not end with them (PR_SET_PDEATHSIG follows the
// thread that forked).
TEST(ChildProcesses, AChildOutlivesTheThreadThatStartedIt) {
    LBD_REQUIRE_NETNS();
    ChildProcesses children;
    std::optional<ChildResult> result;
    std::thread starter([&] {
        EXPECT_EQ(children.start(script("/bin/sh -c 'sleep 0.3; exit 3'"), {}, 0ms,
                                 [&](const ChildResult& r) { result = r; }),
                  std::nullopt);
    });
    starter.join();
    ASSERT_TRUE(pump(children, [&] { return result.has_value(); }));
    EXPECT_EQ(result->signal, 0) << "killed when the thread that started it ended";
    EXPECT_EQ(result->exit_status, 3);
}

TEST(ChildProcesses, TimeoutKillsTheWholeProcessGroup) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    PidFifo fifo(dir / "pid");
    ChildProcesses children;
    const auto started = Clock::now();
    std::optional<ChildResult> result;
    ASSERT_EQ(children.start(script("/bin/sh -c 'sleep 30 & echo $! > " + dir / "pid" + "; wait'"), {}, 300ms,
                             [&](const ChildResult& r) { result = r; }),
              std::nullopt);
    const pid_t grandchild = fifo.read_pid();
    ASSERT_GT(grandchild, 0);
    const int grandchild_fd = pidfd_open(grandchild);
    ASSERT_GE(grandchild_fd, 0) << "the script's own child runs";

    ASSERT_TRUE(pump(children, [&] { return result.has_value(); }));
    const auto took = Clock::now() - started;
    EXPECT_TRUE(result->timed_out);
    EXPECT_EQ(result->signal, SIGKILL);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 300ms + 700ms);
    EXPECT_TRUE(readable(grandchild_fd, 2000ms)) << "sleep 30, in the script's process group, was killed too";
    close(grandchild_fd);
}

TEST(ChildProcesses, ArgumentsReachArgvAsKeepalivedSplitsThem) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    put(dir / "record.sh", "#!/bin/sh\nout=$1\nshift\nfor a in \"$@\"; do printf '[%s]\\n' \"$a\"; done > \"$out\"\n",
        0755);
    const std::string command = dir / "record.sh" + " " + dir / "args" +
                                R"( plain 'a b' "c  d" x"y z"w e\ f "q\"q" 's\'s' t\tu \x41\102 "")";
    ChildProcesses children;
    auto result = run(children, script(command), 0ms, {"extra one", "$HOME"});
    ASSERT_TRUE(result);
    EXPECT_EQ(result->exit_status, 0);
    EXPECT_EQ(slurp(dir / "args"),
              "[plain]\n[a b]\n[c  d]\n[xy zw]\n[e f]\n[q\"q]\n[s's]\n[t\tu]\n[AB]\n[]\n[extra one]\n[$HOME]\n");
}

TEST(ChildProcesses, SplitRefusesBrokenQuoting) {
    LBD_REQUIRE_NETNS();
    EXPECT_THROW(split_command("/bin/echo 'open"), std::invalid_argument);
    EXPECT_THROW(split_command("/bin/echo trailing\\"), std::invalid_argument);
    EXPECT_THROW(split_command(" \t "), std::invalid_argument);
    EXPECT_EQ(split_command("  /bin/echo\ta  "), (std::vector<std::string>{"/bin/echo", "a"}));
}

TEST(ChildProcesses, ReportsWhatCannotStart) {
    LBD_REQUIRE_NETNS();
    ChildProcesses children;
    bool called = false;
    auto done = [&](const ChildResult&) { called = true; };
    auto missing = children.start(script("/nonexistent/lbd-check arg"), {}, 0ms, done);
    ASSERT_TRUE(missing);
    EXPECT_NE(missing->find("cannot execute '/nonexistent/lbd-check': No such file or directory"),
              std::string::npos)
        << *missing;
    auto not_in_path = children.start(script("lbd-no-such-command"), {}, 0ms, done);
    ASSERT_TRUE(not_in_path);
    EXPECT_NE(not_in_path->find("not found in PATH"), std::string::npos) << *not_in_path;
    auto quoting = children.start(script("/bin/true 'open"), {}, 0ms, done);
    ASSERT_TRUE(quoting);
    auto user = children.start(script("/bin/true", "lbd-no-such-user"), {}, 0ms, done);
    ASSERT_TRUE(user);
    EXPECT_NE(user->find("'lbd-no-such-user' does not exist"), std::string::npos) << *user;
    EXPECT_EQ(children.running(), 0u);
    children.dispatch();
    EXPECT_FALSE(called);
}

TEST(ChildProcesses, RunsAsTheScriptUserAndGroup) {
    LBD_REQUIRE_NETNS();
    const passwd* nobody = getpwnam("nobody");
    if (nobody == nullptr) GTEST_SKIP() << "no user nobody";
    const uid_t uid = nobody->pw_uid;
    const gid_t gid = nobody->pw_gid;
    TempDir dir;
    chmod(dir.path().c_str(), 0755);
    put(dir / "ids", "", 0666);
    const std::string ids = "/bin/sh -c 'id -u > " + dir / "ids" + "; id -g >> " + dir / "ids" + "; id -G >> " +
                            dir / "ids" + "'";
    // As in the daemon, another thread runs while the child changes identity.
    std::jthread other([](std::stop_token stop) {
        std::mutex m;
        std::condition_variable_any cv;
        std::unique_lock lock(m);
        cv.wait(lock, stop, [] { return false; });
    });
    ChildProcesses children;
    auto as_nobody = run(children, script(ids, "nobody"));
    ASSERT_TRUE(as_nobody);
    EXPECT_EQ(as_nobody->exit_status, 0);
    EXPECT_EQ(slurp(dir / "ids"), fmt::format("{}\n{}\n{}\n", uid, gid, gid)) << "no supplementary group of root";

    auto with_group = run(children, script(ids, "nobody", "daemon"));
    ASSERT_TRUE(with_group);
    const gid_t daemon_gid = resolve_identity(script("", "nobody", "daemon"))->gid;
    EXPECT_EQ(slurp(dir / "ids"), fmt::format("{}\n{}\n{}\n", uid, daemon_gid, daemon_gid));
}

TEST(ChildProcesses, ChildStartsClean) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    // As the daemon: signals blocked for its signalfd, some ignored, an
    // inheritable descriptor lying around, variables the loader reads.
    sigset_t blocked, saved;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &blocked, &saved);
    auto old_pipe = signal(SIGPIPE, SIG_IGN);
    auto old_usr1 = signal(SIGUSR1, SIG_IGN);
    const int leak = open("/dev/null", O_RDONLY);  // no O_CLOEXEC
    setenv("LD_LIBRARY_PATH", "/nonexistent-lbd", 1);
    setenv("LBD_TEST_KEEP", "kept", 1);

    const std::string out = dir / "env";
    ChildProcesses children;
    auto result = run(children, script("/bin/sh -c 'grep -E \"^Sig(Blk|Ign)\" /proc/self/status > " + out +
                                       "; ls /proc/self/fd >> " + out + "; readlink /proc/$$/fd/0 /proc/$$/fd/2 >> " +
                                       out + "; echo \"$LD_LIBRARY_PATH|$LBD_TEST_KEEP\" >> " + out +
                                       "; echo $$ $(cut -d\" \" -f5 /proc/$$/stat) >> " + out + "'"));

    unsetenv("LD_LIBRARY_PATH");
    unsetenv("LBD_TEST_KEEP");
    close(leak);
    signal(SIGUSR1, old_usr1);
    signal(SIGPIPE, old_pipe);
    pthread_sigmask(SIG_SETMASK, &saved, nullptr);

    ASSERT_TRUE(result);
    EXPECT_EQ(result->exit_status, 0);
    std::istringstream lines(slurp(out));
    std::string line;
    std::getline(lines, line);
    EXPECT_EQ(line, "SigBlk:\t0000000000000000");
    std::getline(lines, line);
    EXPECT_EQ(line, "SigIgn:\t0000000000000000");
    std::string fds;
    for (int i = 0; i < 4 && std::getline(lines, line); ++i) fds += line + " ";
    EXPECT_EQ(fds, "0 1 2 3 ") << "stdin, stdout, stderr and ls's own directory";
    std::getline(lines, line);
    EXPECT_EQ(line, "/dev/null");
    std::getline(lines, line);
    EXPECT_EQ(line, "/dev/null");
    std::getline(lines, line);
    EXPECT_EQ(line, "|kept");
    std::getline(lines, line);
    std::istringstream ids(line);
    pid_t pid = 0, pgid = -1;
    ids >> pid >> pgid;
    EXPECT_EQ(pid, pgid) << "a process group of its own";
}

TEST(ChildProcesses, ManyChildrenAtOnce) {
    LBD_REQUIRE_NETNS();
    constexpr int kChildren = 40;
    ChildProcesses children;
    std::vector<int> calls(kChildren, 0);
    std::vector<int> statuses(kChildren, -1);
    for (int i = 0; i < kChildren; ++i) {
        ASSERT_EQ(children.start(script(fmt::format("/bin/sh -c 'exit {}'", i)), {}, 5s,
                                 [&, i](const ChildResult& r) {
                                     ++calls[size_t(i)];
                                     statuses[size_t(i)] = r.exit_status;
                                 }),
                  std::nullopt);
    }
    EXPECT_LE(children.running(), size_t(kChildren));
    ASSERT_TRUE(pump(children, [&] { return children.running() == 0; }));
    for (int i = 0; i < kChildren; ++i) {
        EXPECT_EQ(calls[size_t(i)], 1) << i;
        EXPECT_EQ(statuses[size_t(i)], i) << i;
    }
}

TEST(ChildProcesses, DestructorKillsWhatStillRuns) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    PidFifo fifo(dir / "pid");
    int child_fd = -1;
    bool called = false;
    {
        ChildProcesses children;
        ASSERT_EQ(children.start(script("/bin/sh -c 'echo $$ > " + dir / "pid" + "; exec sleep 30'"), {}, 0ms,
                                 [&](const ChildResult&) { called = true; }),
                  std::nullopt);
        const pid_t pid = fifo.read_pid();
        ASSERT_GT(pid, 0);
        child_fd = pidfd_open(pid);
        ASSERT_GE(child_fd, 0);
        EXPECT_FALSE(readable(child_fd, 0ms));
    }
    EXPECT_TRUE(readable(child_fd, 0ms)) << "killed and reaped by the destructor";
    EXPECT_FALSE(called);
    close(child_fd);
}

TEST(ChildProcesses, ScriptSecurityRefusesWhatOthersCanReplace) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    chmod(dir.path().c_str(), 0755);
    put(dir / "check.sh", "#!/bin/sh\nexit 0\n", 0757);  // world-writable
    ChildProcesses secure(true);
    auto refused = secure.start(script(dir / "check.sh"), {}, 0ms, [](const ChildResult&) {});
    ASSERT_TRUE(refused);
    EXPECT_NE(refused->find("unsafe permissions on '" + dir / "check.sh" + "'"), std::string::npos) << *refused;

    chmod((dir / "check.sh").c_str(), 0755);
    auto safe = run(secure, script(dir / "check.sh"));
    ASSERT_TRUE(safe);
    EXPECT_EQ(safe->exit_status, 0);

    ChildProcesses lax;
    chmod((dir / "check.sh").c_str(), 0757);
    auto allowed = run(lax, script(dir / "check.sh"));
    ASSERT_TRUE(allowed) << "without enable_script_security the script runs";
    EXPECT_EQ(allowed->exit_status, 0);
}

}  // namespace
}  // namespace lbd
