// What the netlink tests share: the `ip` tool, run and read as JSON, so that
// what lbd sets through libnl is read back independently of libnl, and the
// veth pair most of them work on.
#pragma once

#include "config/model_base.h"
#include "kernel_test.h"

#include <net/if.h>

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lbd::test {

// A shell command, quietly; its exit status.
inline int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// `ip -j ARGS` parsed; an empty array when ip prints nothing.
inline nlohmann::json ip_json(const std::string& args) {
    FILE* p = popen(("ip -j " + args + " 2>/dev/null").c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; p && (n = fread(buf, 1, sizeof buf, p)) > 0;)
        out.append(buf, n);
    if (p)
        pclose(p);
    return out.empty() ? nlohmann::json::array() : nlohmann::json::parse(out);
}

// Error texts one a line, for a failure message; empty when there are none.
inline std::string joined(const std::vector<std::string>& errors) {
    std::string out;
    for (const auto& e : errors)
        out += e + "\n";
    return out;
}

// "10.0.0.0/8"
inline config::IpPrefix prefix(const std::string& text) {
    const auto slash = text.find('/');
    return {*config::IpAddr::parse(text.substr(0, slash)), static_cast<uint8_t>(std::stoi(text.substr(slash + 1)))};
}

// A veth pair v0/v1, down. The links go at the end, for when every test runs
// in one process (one namespace) rather than one process each.
class VethTest : public testing::Test {
protected:
    void SetUp() override {
        LBD_REQUIRE_NETNS();
        ASSERT_EQ(run("ip link add v0 type veth peer name v1"), 0);
        v0 = static_cast<int>(if_nametoindex("v0"));
        ASSERT_GT(v0, 0);
    }
    void TearDown() override {
        if (!kernel_test_skip_reason().empty())
            return;  // not in a namespace of our own: nothing of ours to delete
        run("ip link del v0");
    }
    int v0 = 0;
};

}  // namespace lbd::test
