// net::HostRoutes against the kernel: what it adds is read back with `ip -j`
// (independent of libnl), it reads only its own table and protocol, and
// removing a route that is not there is no error.
#include "kernel_test.h"
#include "net/host_routes.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

namespace lbd::net {
namespace {

using nlohmann::json;

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

json ip_json(const std::string& args) {
    FILE* p = popen(("ip -j " + args).c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; p && (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    if (p) pclose(p);
    return out.empty() ? json::array() : json::parse(out);
}

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

class HostRoutesTest : public ::testing::Test {
protected:
    void SetUp() override { LBD_REQUIRE_NETNS(); }
};

TEST_F(HostRoutesTest, AddsHostRoutesOnLoWithItsProtocol) {
    HostRoutes routes(100);
    routes.add(ip("192.0.2.10"));
    routes.add(ip("2001:db8::10"));
    const json v4 = ip_json("-4 route show table 100");
    ASSERT_EQ(v4.size(), 1u) << v4.dump();
    EXPECT_EQ(v4[0]["dst"], "192.0.2.10");
    EXPECT_EQ(v4[0]["dev"], "lo");
    EXPECT_EQ(v4[0]["protocol"], "76");
    EXPECT_EQ(v4[0]["scope"], "link");
    const json v6 = ip_json("-6 route show table 100");
    ASSERT_EQ(v6.size(), 1u) << v6.dump();
    EXPECT_EQ(v6[0]["dst"], "2001:db8::10");
    EXPECT_EQ(v6[0]["dev"], "lo");
    EXPECT_EQ(routes.read(), (std::set<IpAddr>{ip("192.0.2.10"), ip("2001:db8::10")}));
    routes.add(ip("192.0.2.10"));  // again: replaced, not an error
    EXPECT_EQ(ip_json("-4 route show table 100").size(), 1u);
}

TEST_F(HostRoutesTest, ReadsAndRemovesItsOwnOnly) {
    ASSERT_EQ(run("ip route add 192.0.2.20/32 dev lo table 100 proto static"), 0);
    ASSERT_EQ(run("ip route add 192.0.2.21/32 dev lo table 101 proto 76"), 0);
    ASSERT_EQ(run("ip route add 198.51.100.0/24 dev lo table 100 proto 76"), 0);
    HostRoutes routes(100);
    routes.add(ip("192.0.2.22"));
    EXPECT_EQ(routes.read(), std::set<IpAddr>{ip("192.0.2.22")});
    routes.remove(ip("192.0.2.22"));
    routes.remove(ip("192.0.2.22"));  // gone already: fine
    routes.remove(ip("2001:db8::99"));
    EXPECT_TRUE(routes.read().empty());
    EXPECT_EQ(ip_json("-4 route show table 100").size(), 2u);  // the static one and the /24
    EXPECT_EQ(ip_json("-4 route show table 101").size(), 1u);
}

TEST_F(HostRoutesTest, TablesAbove255) {
    HostRoutes routes(70000);
    routes.add(ip("192.0.2.30"));
    EXPECT_EQ(ip_json("-4 route show table 70000").size(), 1u);
    EXPECT_EQ(routes.read(), std::set<IpAddr>{ip("192.0.2.30")});
    EXPECT_TRUE(HostRoutes(100).read().empty());
    routes.remove(ip("192.0.2.30"));
    EXPECT_TRUE(routes.read().empty());
}

}  // namespace
}  // namespace lbd::net
