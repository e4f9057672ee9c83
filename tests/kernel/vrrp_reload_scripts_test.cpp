// A reload hands the VRRP engine's instances to a new engine
// (Engine::hand_over), and with them the notify and track scripts still
// running: each runs to its end, or is killed at its own timeout by the
// engine that now holds it, not when the old engine's thread ends. Real
// scripts, the data plane and the addresses faked (tests/unit/vrrp_fakes.h).
#include "config/load.h"
#include "kernel_test.h"
#include "temp_dir.h"
#include "vrrp/engine.h"
#include "vrrp_fakes.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

namespace lbd::vrrp {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using test::FakeAddresses;
using test::FakeForwarding;
using test::World;

// The read end of a fifo the scripts write to, opened before them (their
// open would wait for a reader otherwise).
class Fifo {
public:
    explicit Fifo(const std::string& path) {
        if (mkfifo(path.c_str(), 0600) < 0) throw std::runtime_error("mkfifo " + path);
        fd_ = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    }
    ~Fifo() { close(fd_); }
    Fifo(const Fifo&) = delete;
    Fifo& operator=(const Fifo&) = delete;

    // What the writers send until `text` is in; nullopt after `limit`.
    std::optional<std::string> read_until(const std::string& text, milliseconds limit = 5s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        while (got_.find(text) == std::string::npos) {
            if (!more(until)) return std::nullopt;
        }
        return got_;
    }
    // Everything until the last writer closes; nullopt after `limit`.
    std::optional<std::string> read_to_end(milliseconds limit = 5s) {
        const auto until = std::chrono::steady_clock::now() + limit;
        for (;;) {
            const auto left = std::chrono::ceil<milliseconds>(until - std::chrono::steady_clock::now());
            pollfd p{fd_, POLLIN, 0};
            if (left <= 0ms || poll(&p, 1, static_cast<int>(left.count())) != 1) return std::nullopt;
            char buf[256];
            const ssize_t n = read(fd_, buf, sizeof buf);
            if (n <= 0) return got_;
            got_.append(buf, static_cast<size_t>(n));
        }
    }

private:
    bool more(std::chrono::steady_clock::time_point until) {
        const auto left = std::chrono::ceil<milliseconds>(until - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLIN, 0};
        if (left <= 0ms || poll(&p, 1, static_cast<int>(left.count())) != 1) return false;
        char buf[256];
        const ssize_t n = read(fd_, buf, sizeof buf);
        if (n > 0) got_.append(buf, static_cast<size_t>(n));
        return n > 0;
    }

    int fd_ = -1;
    std::string got_;
};

// VI_1 on lo at 50 ms, MASTER within a few intervals, with `lines` in it
// and `blocks` before it. script_user root: the scripts write into the
// test's root-only directory.
config::Config vrrp_config(const std::string& blocks, const std::string& lines) {
    return config::parse_string(fmt::format(R"(global_defs {{
    script_user root
}}
{}
vrrp_instance VI_1 {{
    interface lo
    virtual_router_id 51
    priority 100
    version 3
    advert_int 0.05
    mcast_src_ip 127.0.0.1
{}
    virtual_ipaddress {{
        192.0.2.100/32
    }}
}}
)",
                                                blocks, lines),
                                    "reload.conf");
}

class VrrpReloadScripts : public ::testing::Test {
protected:
    void SetUp() override { LBD_REQUIRE_NETNS(); }

    // The running engine handed over to a new one of the same config.
    std::unique_ptr<Engine> reload(std::unique_ptr<Engine> old, const config::Config& cfg) {
        Handover handover = old->hand_over(cfg);
        old.reset();
        auto next = std::make_unique<Engine>(cfg, dataplane_, addresses_, &handover);
        next->start();
        return next;
    }

    lbd::test::TempDir dir_{"reload"};
    World world_;
    FakeForwarding dataplane_{world_};
    FakeAddresses addresses_{world_};
};

TEST_F(VrrpReloadScripts, ANotifyScriptRunsToItsEndThroughAReload) {
    Fifo fifo(dir_ / "out");
    const config::Config cfg = vrrp_config(
        "", fmt::format("    notify_master \"/bin/sh -c 'exec >{}; echo started; sleep 0.5; echo done'\"", dir_ / "out"));
    auto engine = std::make_unique<Engine>(cfg, dataplane_, addresses_);
    engine->start();
    ASSERT_TRUE(fifo.read_until("started\n")) << "notify_master never ran";
    engine = reload(std::move(engine), cfg);
    EXPECT_EQ(fifo.read_to_end(), "started\ndone\n") << "the script was killed by the reload";
}

TEST_F(VrrpReloadScripts, ATrackScriptIsKilledAtItsTimeoutNotAtTheReload) {
    Fifo fifo(dir_ / "pid");
    const config::Config cfg = vrrp_config(fmt::format(R"(vrrp_script chk {{
    script "/bin/sh -c 'echo $$ >{}; exec sleep 30'"
    interval 10
    timeout 1
}})",
                                                       dir_ / "pid"),
                                           "    track_script {\n        chk\n    }");
    auto engine = std::make_unique<Engine>(cfg, dataplane_, addresses_);
    engine->start();
    const auto text = fifo.read_until("\n");
    ASSERT_TRUE(text) << "the track script never ran";
    const auto started = std::chrono::steady_clock::now();
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, std::atoi(text->c_str()), 0));
    ASSERT_GE(pidfd, 0) << "no process " << *text;
    engine = reload(std::move(engine), cfg);

    pollfd p{pidfd, POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 5000), 1) << "the track script outlived its timeout";
    const auto took = std::chrono::steady_clock::now() - started;
    close(pidfd);
    EXPECT_GE(took, 800ms) << "killed by the reload, not at its timeout";
    EXPECT_LT(took, 2s);
}

}  // namespace
}  // namespace lbd::vrrp
