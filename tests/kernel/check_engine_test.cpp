// check::Engine end to end on loopback: a real whose listener goes away is
// taken out of its service after its retry and comes back; a FILE_CHECK's
// file moves its real out, in and (dynamic) to another weight; a new engine
// built with the old one's states starts where it left off.
#include "check/engine.h"
#include "config/load.h"
#include "kernel_test.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;

// What the engine applied, in order, as "ADDR:WEIGHT" lists, awaited with a deadline.
class Applied {
public:
    Engine::Apply callback() {
        return [this](const config::VirtualServer& vs, const std::set<config::IpAddr>& drop) {
            std::lock_guard lock(mutex_);
            std::string line;
            for (const auto& r : vs.reals) line += fmt::format("{}:{} ", r.addr.str(), r.weight);
            for (const auto& d : drop) line += "drop " + d.str() + " ";
            lines_.push_back(line);
            cv_.notify_all();
        };
    }
    // The first line after the `seen` already looked at that contains `want`.
    bool wait_for(const std::string& want, std::chrono::milliseconds within) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, within, [&] {
            for (; seen_ < lines_.size(); ++seen_)
                if (lines_[seen_].find(want) != std::string::npos) return true;
            return false;
        });
    }
    std::string last() {
        std::lock_guard lock(mutex_);
        return lines_.empty() ? "" : lines_.back();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<std::string> lines_;
    size_t seen_ = 0;
};

class Listener {
public:
    Listener() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(a);
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        EXPECT_EQ(listen(fd_, 64), 0);
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    // Listening again on the same port after close().
    void reopen() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port_);
        ASSERT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
        ASSERT_EQ(listen(fd_, 64), 0);
    }
    void close() {
        ::close(fd_);
        fd_ = -1;
    }
    ~Listener() {
        if (fd_ >= 0) ::close(fd_);
    }
    uint16_t port() const { return port_; }

private:
    int fd_ = -1;
    uint16_t port_ = 0;
};

class CheckEngine : public ::testing::Test {
protected:
    void SetUp() override {
        LBD_REQUIRE_NETNS();
        dir_ = std::filesystem::temp_directory_path() / fmt::format("lbd-check-engine-{}", getpid());
        std::filesystem::create_directories(dir_);
        file_ = dir_ / "weight";
        write_file("0");
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    void write_file(const std::string& value) {
        const auto tmp = dir_ / "tmp";
        std::ofstream(tmp) << value << "\n";
        std::filesystem::rename(tmp, file_);
    }

    // 127.0.0.1 with a TCP_CHECK on the listener, 127.0.0.2 with a FILE_CHECK.
    config::Config config(bool dynamic) {
        const std::string text = fmt::format(R"(
track_file weight_file {{
    file {}
    weight 1
}}
virtual_server 10.0.0.100 {} {{
    delay_loop 0.2
    lb_kind DR
    protocol TCP
    real_server 127.0.0.1 {} {{
        weight 2
        TCP_CHECK {{
            connect_timeout 0.2
            retry 1
            delay_before_retry 0.1
            warmup 0
        }}
    }}
    real_server 127.0.0.2 {} {{
        weight 5
        FILE_CHECK {{
            track_file weight_file
            weight 1
            {}
        }}
    }}
}}
)",
                                             file_.string(), listener_.port(), listener_.port(), listener_.port(),
                                             dynamic ? "dynamic" : "");
        return config::parse_string(text, "engine.conf");
    }

    std::filesystem::path dir_, file_;
    Listener listener_;
    Applied applied_;
};

std::string served(const std::vector<config::VirtualServer>& services) {
    std::string out;
    for (const auto& r : services.at(0).reals) out += fmt::format("{}:{} ", r.addr.str(), r.weight);
    return out;
}

TEST_F(CheckEngine, DeadListenerLeavesAfterItsRetryAndComesBack) {
    const config::Config cfg = config(false);
    Engine engine(cfg, cfg.virtual_servers, applied_.callback());
    EXPECT_EQ(served(engine.services()), "127.0.0.1:2 127.0.0.2:5 ");
    engine.start();
    listener_.close();
    const auto closed = std::chrono::steady_clock::now();
    // Down at the second refused attempt: within delay_loop + delay_before_retry (+ margin).
    ASSERT_TRUE(applied_.wait_for("127.0.0.2:5 drop 127.0.0.1", 2s)) << applied_.last();
    EXPECT_LT(std::chrono::steady_clock::now() - closed, 1s);
    EXPECT_EQ(applied_.last(), "127.0.0.2:5 drop 127.0.0.1 ");
    listener_.reopen();
    ASSERT_TRUE(applied_.wait_for("127.0.0.1:2 127.0.0.2:5", 2s)) << applied_.last();
    EXPECT_GT(engine.attempts(), 2u);
}

// The announcer's view: each service's quorum at once, then its changes.
// Weights 2 + 5 against a quorum of 6: the TCP real going down loses it.
TEST_F(CheckEngine, QuorumWatchSaysItAtOnceThenOnEachChange) {
    config::Config cfg = config(false);
    cfg.virtual_servers.at(0).quorum = 6;
    Engine engine(cfg, cfg.virtual_servers, applied_.callback());
    std::mutex mutex;
    std::condition_variable cv;
    std::vector<bool> told;
    engine.watch_quorum([&](const config::VirtualServer& vs, bool quorum) {
        EXPECT_EQ(vs.addr, cfg.virtual_servers.at(0).addr);
        std::lock_guard lock(mutex);
        told.push_back(quorum);
        cv.notify_all();
    });
    EXPECT_EQ(told, std::vector<bool>{true});
    engine.start();
    auto wait_for = [&](size_t n) {
        std::unique_lock lock(mutex);
        return cv.wait_for(lock, 2s, [&] { return told.size() >= n; });
    };
    listener_.close();
    ASSERT_TRUE(wait_for(2));
    listener_.reopen();
    ASSERT_TRUE(wait_for(3));
    engine.stop();
    EXPECT_EQ(told, (std::vector<bool>{true, false, true}));
}

TEST_F(CheckEngine, FileCheckMovesItsReal) {
    const config::Config cfg = config(false);
    Engine engine(cfg, cfg.virtual_servers, applied_.callback());
    engine.start();
    write_file("-300");  // -300 x 1 <= -254: down
    ASSERT_TRUE(applied_.wait_for("drop 127.0.0.2", 2s)) << applied_.last();
    EXPECT_EQ(applied_.last(), "127.0.0.1:2 drop 127.0.0.2 ");
    write_file("7");
    ASSERT_TRUE(applied_.wait_for("127.0.0.1:2 127.0.0.2:5 ", 2s)) << applied_.last();
}

TEST_F(CheckEngine, DynamicFileCheckSetsTheWeight) {
    const config::Config cfg = config(true);
    Engine engine(cfg, cfg.virtual_servers, applied_.callback());
    engine.start();
    write_file("10");  // the configured 5 plus 10 x 1
    ASSERT_TRUE(applied_.wait_for("127.0.0.2:15", 2s)) << applied_.last();
    write_file("-3");
    ASSERT_TRUE(applied_.wait_for("127.0.0.2:2", 2s)) << applied_.last();
}

TEST_F(CheckEngine, ANewEngineStartsFromTheOldOnesStates) {
    const config::Config cfg = config(false);
    Engine::Carry carried;
    {
        Engine engine(cfg, cfg.virtual_servers, applied_.callback());
        engine.start();
        listener_.close();
        ASSERT_TRUE(applied_.wait_for("drop 127.0.0.1", 2s)) << applied_.last();
        engine.stop();
        carried = engine.carry();
    }
    ASSERT_EQ(carried.checkers.size(), 2u);
    Engine next(cfg, cfg.virtual_servers, applied_.callback(), carried);
    EXPECT_EQ(served(next.services()), "127.0.0.2:5 ");  // the dead real does not come back for a round
    Engine fresh(cfg, cfg.virtual_servers, applied_.callback());
    EXPECT_EQ(served(fresh.services()), "127.0.0.1:2 127.0.0.2:5 ");
}

TEST_F(CheckEngine, DrainAndWeightComeFromAnotherThreadAndOutliveAReload) {
    const config::Config cfg = config(false);
    const auto one = *config::IpAddr::parse("127.0.0.1");
    const auto two = *config::IpAddr::parse("127.0.0.2");
    Engine::Carry carried;
    {
        Engine engine(cfg, cfg.virtual_servers, applied_.callback());
        engine.start();
        EXPECT_EQ(engine.set_drained(one, std::nullopt, true), 1u);
        // Weight 0, and no flow dropped: a drained real keeps its clients.
        ASSERT_TRUE(applied_.wait_for("127.0.0.1:0 127.0.0.2:5", 2s)) << applied_.last();
        EXPECT_EQ(applied_.last().find("drop"), std::string::npos) << applied_.last();
        EXPECT_EQ(engine.set_weight(two, listener_.port(), 9), 1u);
        ASSERT_TRUE(applied_.wait_for("127.0.0.2:9", 2s)) << applied_.last();
        EXPECT_EQ(engine.set_drained(*config::IpAddr::parse("10.9.9.9"), std::nullopt, true), 0u);
        EXPECT_EQ(engine.set_weight(two, listener_.port() + 1, 3), 0u);  // no real on that port
        std::map<std::string, RealStatus> by_address;
        for (const auto& st : engine.status()) by_address[st.address.str()] = st;
        ASSERT_EQ(by_address.size(), 2u);
        EXPECT_TRUE(by_address["127.0.0.1"].drained);
        EXPECT_EQ(by_address["127.0.0.1"].weight, 0u);
        EXPECT_EQ(by_address["127.0.0.1"].configured_weight, 2u);
        EXPECT_EQ(by_address["127.0.0.2"].weight, 9u);
        EXPECT_EQ(by_address["127.0.0.2"].vs, fmt::format("[10.0.0.100]:tcp:{}", listener_.port()));
        engine.stop();
        carried = engine.carry();
    }
    EXPECT_EQ(carried.overrides.size(), 2u);
    Engine next(cfg, cfg.virtual_servers, applied_.callback(), carried);
    EXPECT_EQ(served(next.services()), "127.0.0.1:0 127.0.0.2:9 ");
}

TEST_F(CheckEngine, StatusSaysHowTheLastCheckWent) {
    const config::Config cfg = config(false);
    Engine engine(cfg, cfg.virtual_servers, applied_.callback());
    engine.start();
    listener_.close();
    ASSERT_TRUE(applied_.wait_for("drop 127.0.0.1", 2s)) << applied_.last();
    for (const auto& st : engine.status()) {
        if (st.address.str() != "127.0.0.1") continue;
        EXPECT_FALSE(st.up);
        EXPECT_GE(st.checks, 2u);
        EXPECT_GE(st.failures, 2u);
        EXPECT_EQ(st.last_result, "connect: Connection refused");
        EXPECT_GT(st.last_check_unix_ms, 0);
        EXPECT_LT(st.last_latency_ms, 200.0);
    }
}

TEST_F(CheckEngine, OmegaRunsNotifyDownAtShutdownButNotAtAReloadsStop) {
    const auto mark = dir_ / "down";
    const std::string text = fmt::format(R"(
virtual_server 10.0.0.100 {} {{
    delay_loop 0.2
    lb_kind DR
    protocol TCP
    omega
    real_server 127.0.0.1 {} {{
        notify_down "/bin/sh -c 'echo down >> {}'"
        TCP_CHECK {{
            connect_timeout 0.2
            warmup 0
        }}
    }}
}}
)",
                                         listener_.port(), listener_.port(), mark.string());
    const config::Config cfg = config::parse_string(text, "omega.conf");
    Engine engine(cfg, cfg.virtual_servers, applied_.callback());
    engine.start();
    engine.stop();  // as a reload does
    EXPECT_FALSE(std::filesystem::exists(mark));
    engine.start();
    engine.shutdown();  // waits for the script, a second at most
    std::ifstream in(mark);
    std::string line;
    ASSERT_TRUE(std::getline(in, line)) << "notify_down did not run";
    EXPECT_EQ(line, "down");
    EXPECT_FALSE(std::getline(in, line));  // once
}

}  // namespace
}  // namespace lbd::check
