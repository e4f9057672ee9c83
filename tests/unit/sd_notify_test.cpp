// lbd::sd against a datagram socket standing in for systemd's: the exact
// datagrams each call sends, silence without NOTIFY_SOCKET, WATCHDOG_USEC and
// WATCHDOG_PID read as sd_watchdog_enabled(3) has them, and the pacer's at
// most one ping per half interval on a clock the test moves.
#include "util/sd_notify.h"

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>

namespace lbd::sd {
namespace {

using namespace std::chrono_literals;

void clear_environment() {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

uint64_t monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1'000;
}

class SdNotify : public ::testing::Test {
protected:
    void SetUp() override {
        char dir[] = "/tmp/lbd-sd-notify.XXXXXX";
        ASSERT_NE(mkdtemp(dir), nullptr) << strerror(errno);
        dir_ = dir;
        const std::string path = dir_ + "/notify";
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd_, 0) << strerror(errno);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        ASSERT_LT(path.size(), sizeof(addr.sun_path));
        path.copy(addr.sun_path, path.size());
        ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
        setenv("NOTIFY_SOCKET", path.c_str(), 1);
    }

    void TearDown() override {
        clear_environment();
        if (fd_ >= 0)
            close(fd_);
        std::filesystem::remove_all(dir_);
    }

    // The next datagram, or nullopt when none comes within the timeout.
    std::optional<std::string> receive(int timeout_ms = 1000) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1)
            return std::nullopt;
        char buf[4096];
        const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
        if (n < 0)
            return std::nullopt;
        return std::string(buf, static_cast<size_t>(n));
    }

    std::string dir_;
    int fd_ = -1;
};

TEST_F(SdNotify, ReadySendsReadyWithStatus) {
    ready("lbd ready: 2 virtual servers, 1 VRRP instances");
    EXPECT_EQ(receive(), "READY=1\nSTATUS=lbd ready: 2 virtual servers, 1 VRRP instances");
}

TEST_F(SdNotify, StatusKeepsToOneLine) {
    status("VI_1 MASTER");
    EXPECT_EQ(receive(), "STATUS=VI_1 MASTER");
    status("two\nREADY=1");
    EXPECT_EQ(receive(), "STATUS=two READY=1");
}

TEST_F(SdNotify, StoppingAndWatchdog) {
    stopping();
    EXPECT_EQ(receive(), "STOPPING=1");
    watchdog();
    EXPECT_EQ(receive(), "WATCHDOG=1");
}

TEST_F(SdNotify, ReloadingCarriesItsMonotonicTime) {
    const uint64_t before = monotonic_usec();
    reloading();
    const uint64_t after = monotonic_usec();
    const auto got = receive();
    ASSERT_TRUE(got);
    const std::string prefix = "RELOADING=1\nMONOTONIC_USEC=";
    ASSERT_EQ(got->substr(0, prefix.size()), prefix) << *got;
    const uint64_t at = std::stoull(got->substr(prefix.size()));
    EXPECT_GE(at, before);
    EXPECT_LE(at, after);
}

TEST_F(SdNotify, NothingWithoutNotifySocket) {
    unsetenv("NOTIFY_SOCKET");
    ready("x");
    status("x");
    reloading();
    stopping();
    watchdog();
    EXPECT_EQ(receive(100), std::nullopt);
}

// Every ping fails while systemd's socket is gone; one line says so, and a
// success re-arms it for the next outage.
TEST_F(SdNotify, ASocketGoneIsLoggedOncePerOutage) {
    const std::string path = dir_ + "/notify";
    const std::string gone = dir_ + "/gone";
    testing::internal::CaptureStderr();
    watchdog();  // a success first: no outage carried over from another test
    for (const auto& socket : {gone, gone, path, gone}) {
        setenv("NOTIFY_SOCKET", socket.c_str(), 1);
        watchdog();
    }
    const std::string err = testing::internal::GetCapturedStderr();
    const std::string line = "cannot notify systemd (WATCHDOG=1): No such file or directory";
    const size_t first = err.find(line);
    ASSERT_NE(first, std::string::npos) << err;
    const size_t second = err.find(line, first + 1);
    ASSERT_NE(second, std::string::npos) << err;
    EXPECT_EQ(err.find(line, second + 1), std::string::npos) << err;
    EXPECT_EQ(receive(), "WATCHDOG=1");
    EXPECT_EQ(receive(), "WATCHDOG=1");
}

TEST_F(SdNotify, WatchdogIntervalFromTheEnvironment) {
    EXPECT_EQ(watchdog_interval(), std::nullopt);
    setenv("WATCHDOG_USEC", "2000000", 1);
    EXPECT_EQ(watchdog_interval(), std::chrono::microseconds(2'000'000));
    setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
    EXPECT_EQ(watchdog_interval(), std::chrono::microseconds(2'000'000));
    // Another process's watchdog: an ancestor that exec'ed lbd without
    // passing its own on.
    setenv("WATCHDOG_PID", std::to_string(getppid()).c_str(), 1);
    EXPECT_EQ(watchdog_interval(), std::nullopt);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "soon", 1);
    EXPECT_EQ(watchdog_interval(), std::nullopt);
}

TEST_F(SdNotify, PacerPingsThroughWatchdog) {
    WatchdogPacer pacer(2s);
    pacer.tick(WatchdogPacer::Clock::now());
    EXPECT_EQ(receive(), "WATCHDOG=1");
}

TEST(SdNotifyPacer, AtMostOncePerHalfInterval) {
    int pings = 0;
    WatchdogPacer pacer(2s, [&] { ++pings; });
    ASSERT_TRUE(pacer.enabled());
    const auto t0 = WatchdogPacer::Clock::time_point(100s);
    pacer.tick(t0);
    EXPECT_EQ(pings, 1);
    pacer.tick(t0 + 999ms);
    EXPECT_EQ(pings, 1);
    pacer.tick(t0 + 1s);
    EXPECT_EQ(pings, 2);
    pacer.tick(t0 + 1500ms);
    EXPECT_EQ(pings, 2);
    // Late: the next half interval counts from this ping, not from the one
    // that was due.
    pacer.tick(t0 + 2700ms);
    EXPECT_EQ(pings, 3);
    pacer.tick(t0 + 3500ms);
    EXPECT_EQ(pings, 3);
    pacer.tick(t0 + 3700ms);
    EXPECT_EQ(pings, 4);
}

TEST(SdNotifyPacer, ALoopSpinningFastStillPingsOncePerHalfInterval) {
    int pings = 0;
    WatchdogPacer pacer(2s, [&] { ++pings; });
    const auto t0 = WatchdogPacer::Clock::time_point(0s);
    for (auto t = 0ms; t < 10s; t += 1ms)
        pacer.tick(t0 + t);
    EXPECT_EQ(pings, 10);
}

TEST(SdNotifyPacer, UntilDueCapsTheLoopsSleep) {
    WatchdogPacer pacer(2s, [] {});
    const auto t0 = WatchdogPacer::Clock::time_point(100s);
    EXPECT_EQ(pacer.until_due(t0), 0ms);
    pacer.tick(t0);
    EXPECT_EQ(pacer.until_due(t0), 1000ms);
    EXPECT_EQ(pacer.until_due(t0 + 400ms), 600ms);
    EXPECT_EQ(pacer.until_due(t0 + 999ms + 200us), 1ms);
    EXPECT_EQ(pacer.until_due(t0 + 5s), 0ms);
}

TEST(SdNotifyPacer, DisabledWithoutInterval) {
    int pings = 0;
    WatchdogPacer pacer(std::nullopt, [&] { ++pings; });
    EXPECT_FALSE(pacer.enabled());
    pacer.tick(WatchdogPacer::Clock::now());
    EXPECT_EQ(pings, 0);
    EXPECT_EQ(pacer.until_due(WatchdogPacer::Clock::now()), std::nullopt);
}

}  // namespace
}  // namespace lbd::sd
