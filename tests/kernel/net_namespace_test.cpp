// enter_net_namespace: the calling thread moves into another network
// namespace, here one a helper thread made with unshare(2) and holds open
// while the test runs.
#include "kernel_test.h"
#include "util/netns.h"
#include "util/unique_fd.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <future>
#include <string>
#include <thread>

namespace lbd {
namespace {

ino_t netns_inode(const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

TEST(NetNamespace, TheThreadMovesIntoTheNamespaceAtThePath) {
    LBD_REQUIRE_NETNS();
    ASSERT_EQ(std::system("ip link add here0 type veth peer name here1 >/dev/null 2>&1"), 0);
    std::promise<std::string> made;
    std::promise<void> done;
    std::thread holder([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            made.set_value("");
            return;
        }
        made.set_value("/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/ns/net");
        done.get_future().wait();
    });
    const std::string path = made.get_future().get();
    // The way back, for the tests that run after this one in this process.
    const UniqueFd home(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    bool same = false, here0_seen = true;
    if (!path.empty() && home) {
        enter_net_namespace(path);
        same = netns_inode("/proc/thread-self/ns/net") == netns_inode(path);
        here0_seen = if_nametoindex("here0") != 0;
        enter_net_namespace("/proc/self/fd/" + std::to_string(home.get()));
    }
    done.set_value();
    holder.join();
    EXPECT_EQ(std::system("ip link del here0 >/dev/null 2>&1"), 0);
    ASSERT_FALSE(path.empty()) << "unshare(CLONE_NEWNET) in the helper thread failed";
    EXPECT_TRUE(same);
    EXPECT_FALSE(here0_seen) << "the links of the namespace left behind are not seen";
}

TEST(NetNamespace, AMissingNamespaceIsNamed) {
    EXPECT_EQ(net_namespace_path("blue"), "/run/netns/blue");
    try {
        enter_net_namespace("/run/netns/lbd-no-such-namespace");
        FAIL() << "entered a namespace that does not exist";
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "cannot enter /run/netns/lbd-no-such-namespace: No such file or directory");
    }
}

}  // namespace
}  // namespace lbd
