// kernel_tests' main: ctest runs each test in its own process, and each
// process moves into a fresh network namespace (lo up) before any test runs,
// so links, addresses and routes a test makes vanish with it, even when it
// fails. Without root the tests are skipped, with the reason.
#include "kernel_test.h"

#include <gtest/gtest.h>

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace {

std::string g_skip_reason;

std::string enter_netns() {
    if (geteuid() != 0)
        return "kernel tests need root (network namespaces, netlink)";
    if (unshare(CLONE_NEWNET) < 0)
        return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return std::string("socket: ") + std::strerror(errno);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    std::string err;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        err = std::string("SIOCGIFFLAGS lo: ") + std::strerror(errno);
    ifr.ifr_flags |= IFF_UP;
    if (err.empty() && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        err = std::string("SIOCSIFFLAGS lo: ") + std::strerror(errno);
    close(fd);
    return err;
}

class NetnsEnvironment : public testing::Environment {
public:
    void SetUp() override { g_skip_reason = enter_netns(); }
};

}  // namespace

const std::string& kernel_test_skip_reason() { return g_skip_reason; }

int main(int argc, char** argv) {
    testing::InitGoogleTest(&argc, argv);
    testing::AddGlobalTestEnvironment(new NetnsEnvironment);
    return RUN_ALL_TESTS();
}
