// global_defs' metrics_listen: off unless written; ADDRESS:PORT with IPv6 in
// brackets; and what is refused, with the exact "file:line: message".
#include "config/load.h"

#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>

namespace lbd::config {
namespace {

GlobalDefs globals(const std::string& body) { return parse_string("global_defs {\n" + body + "}\n", "m.conf").global; }

TEST(ConfigMetrics, OffWhenAbsent) {
    EXPECT_FALSE(globals("  router_id LB1\n").metrics_listen);
}

struct GoodCase {
    const char* name;
    const char* value;
    const char* address;
    int family;
    uint16_t port;
    const char* str;  // ListenAddr::str(), as the log names it
};

class ConfigMetricsGood : public testing::TestWithParam<GoodCase> {};

TEST_P(ConfigMetricsGood, IsRead) {
    const GoodCase& g = GetParam();
    const auto listen = globals(std::string("  metrics_listen ") + g.value + "\n").metrics_listen;
    ASSERT_TRUE(listen);
    EXPECT_EQ(listen->addr, IpAddr::parse(g.address));
    EXPECT_EQ(listen->addr.family, g.family);
    EXPECT_EQ(listen->port, g.port);
    EXPECT_EQ(listen->str(), g.str);
}

const GoodCase kGood[] = {
    {"ipv4", "127.0.0.1:9165", "127.0.0.1", AF_INET, 9165, "127.0.0.1:9165"},
    {"ipv4_any", "0.0.0.0:9165", "0.0.0.0", AF_INET, 9165, "0.0.0.0:9165"},
    {"ipv4_in_brackets", "[10.213.0.1]:65535", "10.213.0.1", AF_INET, 65535, "10.213.0.1:65535"},
    {"ipv6", "[2001:db8::1]:9165", "2001:db8::1", AF_INET6, 9165, "[2001:db8::1]:9165"},
    {"ipv6_loopback", "[::1]:1", "::1", AF_INET6, 1, "[::1]:1"},
    {"ipv6_any", "[::]:9165", "::", AF_INET6, 9165, "[::]:9165"},
};

INSTANTIATE_TEST_SUITE_P(Values, ConfigMetricsGood, testing::ValuesIn(kGood),
                         [](const testing::TestParamInfo<GoodCase>& info) { return std::string(info.param.name); });

TEST(ConfigMetrics, ChangesTheModel) {
    // A reload that only moves the listener is a change of global_defs.
    EXPECT_NE(globals("  metrics_listen 127.0.0.1:9165\n"), globals("  metrics_listen 127.0.0.1:9166\n"));
    EXPECT_NE(globals("  metrics_listen 127.0.0.1:9165\n"), globals(""));
    EXPECT_EQ(globals("  metrics_listen [127.0.0.1]:9165\n"), globals("  metrics_listen 127.0.0.1:9165\n"));
}

struct BadCase {
    const char* name;
    const char* line;
    const char* error;
};

class ConfigMetricsBad : public testing::TestWithParam<BadCase> {};

TEST_P(ConfigMetricsBad, FailsWithFileLineMessage) {
    try {
        globals(GetParam().line);
        FAIL() << "accepted: " << GetParam().line;
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), GetParam().error);
    }
}

const BadCase kBad[] = {
    {"no_value", "  metrics_listen\n", "m.conf:2: metrics_listen needs a value"},
    {"address_and_port_apart", "  metrics_listen 127.0.0.1 9165\n",
     "m.conf:2: metrics_listen takes one value, got '127.0.0.1 9165'"},
    {"block", "  metrics_listen {\n  }\n", "m.conf:2: metrics_listen does not take a block"},
    {"no_port", "  metrics_listen 127.0.0.1\n",
     "m.conf:2: metrics_listen '127.0.0.1' is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)"},
    {"ipv6_without_brackets", "  metrics_listen ::1:9165\n",
     "m.conf:2: metrics_listen '::1:9165' needs its IPv6 address in brackets: [ADDRESS]:PORT"},
    {"ipv6_without_port", "  metrics_listen [::1]\n",
     "m.conf:2: metrics_listen '[::1]' is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)"},
    {"bracket_not_closed", "  metrics_listen [::1:9165\n",
     "m.conf:2: metrics_listen '[::1:9165' is not ADDRESS:PORT ([ADDRESS]:PORT for IPv6)"},
    {"bad_address", "  metrics_listen 10.0.0.256:9165\n",
     "m.conf:2: metrics_listen address '10.0.0.256' is not an IP address"},
    {"host_name", "  metrics_listen localhost:9165\n",
     "m.conf:2: metrics_listen address 'localhost' is not an IP address"},
    {"no_address", "  metrics_listen :9165\n", "m.conf:2: metrics_listen address '' is not an IP address"},
    {"bad_ipv6", "  metrics_listen [2001:db8::g]:9165\n",
     "m.conf:2: metrics_listen address '2001:db8::g' is not an IP address"},
    {"port_zero", "  metrics_listen 127.0.0.1:0\n", "m.conf:2: metrics_listen port 0 is out of range 1..65535"},
    {"port_too_big", "  metrics_listen [::1]:65536\n",
     "m.conf:2: metrics_listen port 65536 is out of range 1..65535"},
    {"port_name", "  metrics_listen 127.0.0.1:http\n",
     "m.conf:2: metrics_listen port 'http' is not a whole number"},
    {"port_empty", "  metrics_listen [::1]:\n", "m.conf:2: metrics_listen port '' is not a whole number"},
    {"twice", "  metrics_listen 127.0.0.1:9165\n  metrics_listen [::1]:9165\n",
     "m.conf:3: metrics_listen [::1]:9165: lbd serves metrics on one address, already 127.0.0.1:9165"},
};

INSTANTIATE_TEST_SUITE_P(Values, ConfigMetricsBad, testing::ValuesIn(kBad),
                         [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace lbd::config
