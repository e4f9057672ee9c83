// Shared by the kernel tests: each test process runs in a private network
// namespace (main.cpp); without one, a test skips with the reason.
#pragma once

#include <gtest/gtest.h>

#include <string>

const std::string& kernel_test_skip_reason();

#define LBD_REQUIRE_NETNS()                                   \
    do {                                                      \
        if (!kernel_test_skip_reason().empty())               \
            GTEST_SKIP() << kernel_test_skip_reason();        \
    } while (0)
