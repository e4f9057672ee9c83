// The harness itself: a test process is alone in its namespace.
#include "kernel_test.h"

#include <net/if.h>

TEST(KernelHarness, RunsInAPrivateNamespaceWithLoopbackOnly) {
    LBD_REQUIRE_NETNS();
    EXPECT_EQ(if_nametoindex("lo"), 1u);
    struct if_nameindex* names = if_nameindex();
    ASSERT_NE(names, nullptr);
    int count = 0;
    for (auto* n = names; n->if_index != 0; ++n)
        ++count;
    if_freenameindex(names);
    EXPECT_EQ(count, 1) << "a fresh namespace holds lo alone";
}
