// Loop: timers in order, cancelled timers silent, descriptors served
// while ready, callbacks that unwatch or rewatch, stop() from another thread.
#include "util/loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace lbd {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

struct Pipe {
    int r = -1, w = -1;
    Pipe() {
        int fds[2];
        EXPECT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
        r = fds[0];
        w = fds[1];
    }
    ~Pipe() {
        close(r);
        close(w);
    }
};

TEST(Loop, TimersFireInTimeOrderAndCancelledOnesNever) {
    Loop loop;
    std::vector<int> fired;
    const auto now = Clock::now();
    loop.at(now + 30ms, [&] { fired.push_back(3); });
    loop.at(now + 10ms, [&] { fired.push_back(1); });
    const auto gone = loop.at(now + 20ms, [&] { fired.push_back(2); });
    loop.cancel(gone);
    loop.cancel(12345);  // unknown: nothing
    while (loop.timers() > 0) loop.run_once(100ms);
    EXPECT_THAT(fired, ElementsAre(1, 3));
    EXPECT_GE(Clock::now() - now, 30ms);
}

TEST(Loop, ATimerMayAddTimers) {
    Loop loop;
    int n = 0;
    std::function<void()> again = [&] {
        if (++n < 3) loop.after(1ms, again);
    };
    loop.after(0ms, again);
    while (loop.timers() > 0) loop.run_once(100ms);
    EXPECT_EQ(n, 3);
}

TEST(Loop, ReadableDescriptorIsServedUntilDrainedOrUnwatched) {
    Loop loop;
    Pipe p;
    std::string got;
    loop.watch(p.r, EPOLLIN, [&](uint32_t events) {
        EXPECT_TRUE(events & EPOLLIN);
        char c;
        while (read(p.r, &c, 1) == 1) got += c;
        if (got == "abc") loop.unwatch(p.r);  // from its own callback
    });
    ASSERT_EQ(write(p.w, "ab", 2), 2);
    loop.run_once(100ms);
    EXPECT_EQ(got, "ab");
    ASSERT_EQ(write(p.w, "c", 1), 1);
    loop.run_once(100ms);
    EXPECT_EQ(got, "abc");
    EXPECT_EQ(loop.watched(), 0u);
    ASSERT_EQ(write(p.w, "d", 1), 1);
    loop.run_once(20ms);  // no longer watched: not read
    EXPECT_EQ(got, "abc");
}

TEST(Loop, AnEventOfAClosedDescriptorDoesNotReachItsSuccessor) {
    Loop loop;
    auto a = std::make_unique<Pipe>();
    auto b = std::make_unique<Pipe>();
    ASSERT_EQ(write(a->w, "x", 1), 1);
    ASSERT_EQ(write(b->w, "y", 1), 1);
    int successor_calls = 0;
    // Both are ready in one batch. Whichever runs first closes the other's
    // read end and watches a new pipe that may reuse the number; the event
    // already queued for the closed one must not reach the new callback.
    std::unique_ptr<Pipe> fresh;
    auto replace = [&](std::unique_ptr<Pipe>& victim) {
        loop.unwatch(victim->r);
        victim.reset();
        fresh = std::make_unique<Pipe>();
        loop.watch(fresh->r, EPOLLIN, [&](uint32_t) { ++successor_calls; });
    };
    bool first = true;
    loop.watch(a->r, EPOLLIN, [&](uint32_t) {
        if (std::exchange(first, false)) replace(b);
    });
    loop.watch(b->r, EPOLLIN, [&](uint32_t) {
        if (std::exchange(first, false)) replace(a);
    });
    loop.run_once(100ms);
    EXPECT_EQ(successor_calls, 0);  // its pipe is empty
}

TEST(Loop, StopFromAnotherThreadEndsRun) {
    Loop loop;
    // Before or during run(): the wake-up waits in the eventfd either way.
    std::thread t([&] { loop.stop(); });
    const auto start = Clock::now();
    loop.run();
    t.join();
    EXPECT_LT(Clock::now() - start, 5s);
}

TEST(Loop, PostedFunctionsRunOnTheLoopInOrder) {
    Loop loop;
    std::vector<int> ran;
    std::thread::id on;
    std::thread t([&] {
        for (int i = 0; i < 3; ++i)
            loop.post([&, i] {
                ran.push_back(i);
                on = std::this_thread::get_id();
            });
        loop.post([&] { loop.stop(); });
    });
    loop.run();
    t.join();
    EXPECT_THAT(ran, ElementsAre(0, 1, 2));
    EXPECT_EQ(on, std::this_thread::get_id());
}

TEST(Loop, CallAnswersFromTheLoopsThread) {
    Loop loop;
    std::thread runner([&] { loop.run(); });
    const auto runner_id = runner.get_id();
    const auto answer = loop.call([&] { return std::this_thread::get_id(); });
    loop.stop();
    runner.join();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(*answer, runner_id);
}

TEST(Loop, CallGivesUpOnALoopThatDoesNotTurn) {
    Loop loop;  // never run: the call is posted and waits
    const auto start = Clock::now();
    const auto answer = loop.call([] { return 7; }, 50ms);
    EXPECT_FALSE(answer.has_value());
    EXPECT_GE(Clock::now() - start, 50ms);
    loop.run_once(0ms);  // the late call runs now, its answer unread
}

TEST(Loop, TurnHooksBoundTheWaitAndRunBeforeEvents) {
    Loop loop;
    Pipe p;
    ASSERT_EQ(write(p.w, "x", 1), 1);
    std::vector<std::string> order;
    loop.watch(p.r, EPOLLIN, [&](uint32_t) {
        char c;
        ASSERT_EQ(read(p.r, &c, 1), 1);
        order.push_back("event");
    });
    int turns = 0;
    loop.on_turn(
        [&] {
            ++turns;
            return Clock::now() + 20ms;
        },
        [&] { order.push_back("woke"); });
    loop.run_once(0ms);
    EXPECT_THAT(order, ElementsAre("woke", "event"));
    // Nothing ready: before_wait's deadline, not the 5 s cap, ends the wait.
    const auto start = Clock::now();
    loop.run_once(5000ms);
    EXPECT_LT(Clock::now() - start, 2s);
    EXPECT_EQ(turns, 2);
}

}  // namespace
}  // namespace lbd
