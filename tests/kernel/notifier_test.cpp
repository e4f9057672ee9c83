// Notifier with real scripts, fifos and an SMTP listener: the script of each
// state, `notify` with keepalived's arguments, fifo lines exactly as
// keepalived writes them, a fifo nobody reads, failing scripts, mails.
#include "kernel_test.h"
#include "temp_dir.h"
#include "notify/smtp.h"
#include "vrrp/notifier.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
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

using lbd::test::slurp;

config::Script script(std::string command) { return {std::move(command), {}, {}, {}}; }

bool readable(int fd, milliseconds limit) {
    pollfd p{fd, POLLIN, 0};
    return poll(&p, 1, static_cast<int>(limit.count())) == 1;
}

// Until every script ended; false when `limit` passes first.
bool finish(ChildProcesses& children, milliseconds limit = 5s) {
    const auto until = Clock::now() + limit;
    while (children.running() > 0) {
        const auto left = std::chrono::ceil<milliseconds>(until - Clock::now());
        if (left <= 0ms) return false;
        readable(children.fd(), left);
        children.dispatch();
    }
    return true;
}

// A script that writes its arguments, one a line, to the file named first.
class Recorder {
public:
    explicit Recorder(const TempDir& dir) : dir_(dir), path_(dir / "record.sh") {
        std::ofstream(path_) << "#!/bin/sh\nout=$1\nshift\nprintf '%s\\n' \"$@\" > \"$out\"\n";
        chmod(path_.c_str(), 0755);
    }
    config::Script to(const std::string& name) const { return script(path_ + " " + dir_ / name); }
    std::string take(const std::string& name) const {
        std::string text = slurp(dir_ / name);
        std::filesystem::remove(dir_ / name);
        return text;
    }
    bool wrote(const std::string& name) const { return std::filesystem::exists(dir_ / name); }

private:
    const TempDir& dir_;
    std::string path_;
};

config::VrrpInstance instance_with(const Recorder& rec) {
    config::VrrpInstance inst;
    inst.name = "VI_1";
    inst.notify.master = rec.to("master");
    inst.notify.backup = rec.to("backup");
    inst.notify.fault = rec.to("fault");
    inst.notify.stop = rec.to("stop");
    inst.notify.any = rec.to("any");
    return inst;
}

// The lines waiting in a fifo, read without blocking.
std::string drain(const std::string& fifo) {
    const int fd = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return "(cannot open)";
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) text.append(buf, size_t(n));
    close(fd);
    return text;
}

TEST(Notifier, RunsTheScriptOfEachStateAndNotifyWithKeepalivedArguments) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    Recorder rec(dir);
    const auto inst = instance_with(rec);
    ChildProcesses children;
    Notifier notifier(children, {}, nullptr);

    const std::pair<State, std::string> states[] = {
        {State::MASTER, "master"}, {State::BACKUP, "backup"}, {State::FAULT, "fault"}, {State::INIT, "stop"}};
    const std::string words[] = {"MASTER", "BACKUP", "FAULT", "STOP"};
    int priority = 100;
    for (size_t i = 0; i < std::size(states); ++i) {
        const auto& [state, file] = states[i];
        notifier.instance_state(inst, state, priority);
        ASSERT_TRUE(finish(children));
        EXPECT_EQ(rec.take(file), "\n") << file << ": run as written, no argument";
        EXPECT_EQ(rec.take("any"), fmt::format("INSTANCE\nVI_1\n{}\n{}\n", words[i], priority));
        for (const auto& [other_state, other] : states) EXPECT_FALSE(rec.wrote(other)) << other;
        priority -= 10;
    }

    config::VrrpSyncGroup group;
    group.name = "G1";
    group.notify.master = rec.to("group-master");
    group.notify.any = rec.to("group-any");
    notifier.group_state(group, State::MASTER);
    ASSERT_TRUE(finish(children));
    EXPECT_EQ(rec.take("group-master"), "\n");
    EXPECT_EQ(rec.take("group-any"), "GROUP\nG1\nMASTER\n0\n");
}

TEST(Notifier, WritesKeepalivedLinesToTheFifos) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    config::GlobalDefs global;
    global.notify_fifo = script(dir / "all");
    global.vrrp_notify_fifo = config::Script{dir / "vrrp", "nobody", {}, {}};
    config::VrrpInstance vi1;
    vi1.name = "VI_1";
    config::VrrpInstance vi2;
    vi2.name = "VI_2";
    vi2.notify_fifo = script(dir / "own");
    config::VrrpSyncGroup group;
    group.name = "G1";
    ChildProcesses children;
    {
        Notifier notifier(children, global, nullptr);
        notifier.instance_state(vi1, State::MASTER, 100);
        notifier.group_state(group, State::BACKUP);
        notifier.instance_state(vi2, State::FAULT, 90);
        notifier.instance_state(vi1, State::INIT, 100);

        const std::string expected =
            "INSTANCE \"VI_1\" MASTER 100\nGROUP \"G1\" BACKUP 0\nINSTANCE \"VI_1\" STOP 100\n";
        EXPECT_EQ(drain(dir / "all"), expected);
        EXPECT_EQ(drain(dir / "vrrp"), expected);
        EXPECT_EQ(drain(dir / "own"), "INSTANCE \"VI_2\" FAULT 90\n")
            << "an instance's own fifo replaces the global ones";
        struct stat st{};
        ASSERT_EQ(stat((dir / "all").c_str(), &st), 0);
        EXPECT_TRUE(S_ISFIFO(st.st_mode));
        ASSERT_EQ(stat((dir / "vrrp").c_str(), &st), 0);
        EXPECT_EQ(st.st_uid, getpwnam("nobody")->pw_uid) << "notify_fifo FILE USER: the user owns the fifo made";
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "all")) << "the fifo it made goes with it";
    EXPECT_FALSE(std::filesystem::exists(dir / "own"));
}

TEST(Notifier, AFifoNobodyReadsNeverBlocks) {
    LBD_REQUIRE_NETNS();
    TempDir dir;
    config::GlobalDefs global;
    global.notify_fifo = script(dir / "fifo");
    config::VrrpInstance inst;
    inst.name = "VI_1";
    ChildProcesses children;
    Notifier notifier(children, global, nullptr);
    testing::internal::CaptureStderr();
    const auto started = Clock::now();
    for (int i = 0; i < 4000; ++i) notifier.instance_state(inst, i % 2 ? State::BACKUP : State::MASTER, 100);
    const auto took = Clock::now() - started;
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_LT(took, 2s);
    EXPECT_NE(log.find("lines are dropped until its reader catches up"), std::string::npos) << log;
    EXPECT_EQ(log.find("lines are dropped", log.find("lines are dropped") + 1), std::string::npos) << "logged once";
    EXPECT_EQ(drain(dir / "fifo").substr(0, 54), "INSTANCE \"VI_1\" MASTER 100\nINSTANCE \"VI_1\" BACKUP 100\n")
        << "the first lines wait for a reader";
}

TEST(Notifier, FailingScriptsAreLoggedAndStopNothing) {
    LBD_REQUIRE_NETNS();
    config::VrrpInstance inst;
    inst.name = "VI_1";
    inst.notify.master = script("/nonexistent/lbd-notify");
    inst.notify.any = script("/bin/sh -c 'exit 2'");
    inst.notify.stop = script("/bin/sleep 5");
    ChildProcesses children;
    Notifier notifier(children, {}, nullptr);
    testing::internal::CaptureStderr();
    EXPECT_NO_THROW(notifier.instance_state(inst, State::MASTER, 100));
    ASSERT_TRUE(finish(children));
    const auto stopping = Clock::now();
    EXPECT_NO_THROW(notifier.instance_state(inst, State::INIT, 100));
    ASSERT_TRUE(finish(children, 3s));
    const auto took = Clock::now() - stopping;
    const std::string log = testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("Cannot run notify script /nonexistent/lbd-notify: cannot execute"), std::string::npos) << log;
    EXPECT_NE(log.find("Notify script /bin/sh -c 'exit 2' exited with status 2"), std::string::npos) << log;
    EXPECT_NE(log.find("Notify script /bin/sleep 5 timed out and was killed"), std::string::npos) << log;
    EXPECT_GE(took, 1s);
    EXPECT_LT(took, 2s) << "a STOP script has a second";
}

// Answers one SMTP session at a time, from the test's thread.
class SmtpListener {
public:
    SmtpListener() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(sa);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) < 0 || listen(fd_, 4) < 0 ||
            getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) < 0)
            throw std::runtime_error("SMTP listener");
        port_ = ntohs(sa.sin_port);
    }
    ~SmtpListener() { close(fd_); }
    uint16_t port() const { return port_; }

    // The message of the next session (headers and body), "" if none came.
    std::string next_message() {
        if (!readable(fd_, 5000ms)) return {};
        const int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        std::string message, buffer, line;
        bool in_data = false;
        say(conn, "220 fake");
        while (read_line(conn, buffer, line)) {
            if (in_data) {
                if (line == ".") {
                    in_data = false;
                    say(conn, "250 queued");
                } else {
                    message += line + "\n";
                }
            } else if (line == "DATA") {
                in_data = true;
                say(conn, "354 go ahead");
            } else if (line == "QUIT") {
                say(conn, "221 bye");
                break;
            } else {
                say(conn, "250 ok");
            }
        }
        close(conn);
        return message;
    }

private:
    static void say(int fd, const std::string& reply) {
        const std::string text = reply + "\r\n";
        if (send(fd, text.data(), text.size(), MSG_NOSIGNAL) < 0) return;
    }
    static bool read_line(int fd, std::string& buffer, std::string& line) {
        for (;;) {
            if (auto end = buffer.find("\r\n"); end != std::string::npos) {
                line = buffer.substr(0, end);
                buffer.erase(0, end + 2);
                return true;
            }
            char chunk[1024];
            const ssize_t n = readable(fd, 5000ms) ? recv(fd, chunk, sizeof(chunk), 0) : -1;
            if (n <= 0) return false;
            buffer.append(chunk, size_t(n));
        }
    }

    int fd_;
    uint16_t port_ = 0;
};

TEST(Notifier, MailsEachStateOnceWhenSmtpAlertIsOn) {
    LBD_REQUIRE_NETNS();
    SmtpListener listener;
    notify::SmtpSettings settings;
    settings.server = "127.0.0.1";
    settings.port = listener.port();
    settings.timeout = 5000ms;
    settings.helo_name = "lbd.test";
    settings.from = "lbd@lbd.test";
    settings.to = {"ops@lbd.test"};
    notify::SmtpNotifier smtp(settings);
    config::GlobalDefs global;
    global.router_id = "lb1";
    global.smtp_alert = true;
    config::VrrpInstance inst;
    inst.name = "VI_1";
    config::VrrpInstance quiet;
    quiet.name = "VI_2";
    quiet.smtp_alert = false;
    config::VrrpSyncGroup group;
    group.name = "G1";
    ChildProcesses children;
    Notifier notifier(children, global, &smtp);

    notifier.instance_state(inst, State::MASTER, 100);
    notifier.instance_state(inst, State::MASTER, 100);  // the same state: no second mail
    notifier.instance_state(quiet, State::MASTER, 100);
    notifier.instance_state(inst, State::INIT, 100);
    notifier.group_state(group, State::FAULT);

    const std::string master = listener.next_message();
    EXPECT_NE(master.find("Subject: [lb1] VRRP Instance VI_1 - Entering MASTER state"), std::string::npos) << master;
    EXPECT_NE(master.find("=> VRRP Instance is now owning VRRP VIPs <="), std::string::npos) << master;
    const std::string stop = listener.next_message();
    EXPECT_NE(stop.find("Subject: [lb1] VRRP Instance VI_1 - Stopping"), std::string::npos) << stop;
    EXPECT_NE(stop.find("=> VRRP Instance stopping <="), std::string::npos) << stop;
    const std::string fault = listener.next_message();
    EXPECT_NE(fault.find("Subject: [lb1] VRRP Group G1 - Entering FAULT state"), std::string::npos) << fault;
    EXPECT_NE(fault.find("=> All VRRP group instances are now in FAULT state <="), std::string::npos) << fault;
}

}  // namespace
}  // namespace lbd::vrrp
