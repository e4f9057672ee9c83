// keepalived.conf as operators write it, read into the model; and what is
// refused, with the exact "file:line: message".
#include "config/load.h"
#include "config_text.h"

#include <gmock/gmock.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <utility>
#include <variant>

namespace lbd::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Config parse(std::string_view text) { return parse_string(text, "t.conf"); }

constexpr std::string_view kNginxPair = R"(! Configuration File for keepalived
global_defs {
    notification_email {
        ops@example.com
    }
    router_id LB01
    enable_script_security
    lb_interface eth0
}

vrrp_script chk_nginx {
    script "/usr/bin/pgrep nginx"
    interval 2
    weight -20
}

vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.168.10.100/24 dev eth0
    }
    track_script {
        chk_nginx
    }
}

virtual_server 192.168.10.100 443 {
    delay_loop 6
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.168.10.11 443 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
        }
    }
    real_server 192.168.10.12 443 {
        TCP_CHECK {
            connect_timeout 3
        }
    }
}
)";

TEST(Services, NginxHaPair) {
    const Config c = parse_string(kNginxPair, "nginx.conf");
    EXPECT_EQ(c.global.router_id, "LB01");
    EXPECT_THAT(c.global.lb_interfaces, ElementsAre("eth0"));
    EXPECT_EQ(c.global.ring_size, 65537u);
    EXPECT_FALSE(c.global.tunnel_source4);
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    const VirtualServer& vs = c.virtual_servers[0];
    EXPECT_EQ(vs.addr, IpAddr::parse("192.168.10.100"));
    EXPECT_EQ(vs.port, 443);
    EXPECT_EQ(vs.proto, Proto::TCP);
    EXPECT_EQ(vs.mode, Mode::DR);
    EXPECT_EQ(vs.algo, "rr");
    EXPECT_FALSE(vs.hash_source);
    EXPECT_EQ(vs.loc.line, 35);
    ASSERT_EQ(vs.reals.size(), 2u);
    EXPECT_EQ(vs.reals[0].addr.str(), "192.168.10.11");
    EXPECT_EQ(vs.reals[0].port, 443);
    EXPECT_EQ(vs.reals[1].weight, 1u);
    EXPECT_EQ(vs.reals[1].loc.line, 46);
    // Everything in it is modelled now: nothing is left to warn about.
    EXPECT_THAT(c.warnings, IsEmpty());
    EXPECT_THAT(c.global.notification_email, ElementsAre("ops@example.com"));
    EXPECT_TRUE(c.global.enable_script_security);
    ASSERT_EQ(c.vrrp_scripts.size(), 1u);
    EXPECT_EQ(c.vrrp_scripts[0].command, "/usr/bin/pgrep nginx");
    EXPECT_EQ(c.vrrp_scripts[0].weight, -20);
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    const VrrpInstance& vi = c.vrrp_instances[0];
    EXPECT_EQ(vi.vrid, 51);
    EXPECT_EQ(vi.priority, 150);
    EXPECT_EQ(vi.initial_state, VrrpState::MASTER);
    EXPECT_EQ(vi.auth_pass, "s3cret");
    EXPECT_EQ(vi.version, 2);
    ASSERT_EQ(vi.virtual_addresses.size(), 1u);
    EXPECT_EQ(vi.virtual_addresses[0].prefix.str(), "192.168.10.100/24");
    EXPECT_EQ(vs.delay_loop, std::chrono::seconds(6));
    ASSERT_EQ(vs.reals[0].checkers.size(), 1u);
    EXPECT_EQ(vs.reals[0].checkers[0].type, CheckerType::TCP_CHECK);
    EXPECT_EQ(vs.reals[0].checkers[0].timing.connect_timeout, std::chrono::seconds(3));
    EXPECT_EQ(vs.reals[0].checkers[0].target.connect_port, 443);
}

TEST(Services, LvsDrWithHttpGet) {
    const Config c = parse(R"(global_defs {
    router_id LVS_DR
    lb_interface eth0 eth1
    lb_interface bond0
    lb_ring_size 1021
    lb_conntrack_size 65536
    lb_flood_guard 0
}
virtual_server 10.0.0.10 80 {
    delay_loop 10
    lb_algo wlc
    lb_kind DR
    persistence_timeout 300
    protocol TCP
    real_server 10.0.1.1 80 {
        weight 3
        HTTP_GET {
            url {
                path /healthz
                status_code 200
            }
            connect_timeout 3
        }
    }
    real_server 10.0.1.2 80 {
        weight 0
        inhibit_on_failure
        HTTP_GET {
            url { path /
                  digest 9b3a0c85a887a256d6939da88aabd8cd }
        }
    }
}
)");
    EXPECT_THAT(c.global.lb_interfaces, ElementsAre("eth0", "eth1", "bond0"));
    EXPECT_EQ(c.global.ring_size, 1021u);
    EXPECT_EQ(c.global.conntrack_size, 65536u);
    EXPECT_EQ(c.global.flood_guard, 0u);
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    const VirtualServer& vs = c.virtual_servers[0];
    EXPECT_EQ(vs.algo, "wlc");
    EXPECT_EQ(vs.persistence_timeout, 300u);
    EXPECT_TRUE(vs.hash_source);
    ASSERT_EQ(vs.reals.size(), 2u);
    EXPECT_EQ(vs.reals[0].weight, 3u);
    EXPECT_EQ(vs.reals[1].weight, 0u);
    EXPECT_THAT(c.warnings, IsEmpty());
    EXPECT_FALSE(least_connection(vs)) << "persistence decides before the scheduler, as in IPVS";
    EXPECT_FALSE(vs.reals[0].inhibit_on_failure);
    EXPECT_TRUE(vs.reals[1].inhibit_on_failure);
    ASSERT_EQ(vs.reals[1].checkers.size(), 1u);
    const auto& http = std::get<HttpCheck>(vs.reals[1].checkers[0].detail);
    ASSERT_EQ(http.urls.size(), 1u);
    EXPECT_EQ(http.urls[0].path, "/");
    EXPECT_EQ(http.urls[0].digest, "9b3a0c85a887a256d6939da88aabd8cd");
    EXPECT_THAT(http.urls[0].status_codes, ElementsAre(std::pair<uint16_t, uint16_t>(200, 299)));
    // delay_loop 10 on the virtual_server reaches the checker; HTTP retries after 3 s.
    EXPECT_EQ(vs.reals[1].checkers[0].timing.delay_loop, std::chrono::seconds(10));
    EXPECT_EQ(vs.reals[1].checkers[0].timing.delay_before_retry, std::chrono::seconds(3));
}

// lc and wlc count connections; IPVS's scheduler loop has no bound, the
// program's has one, checked when the file is read.
TEST(Services, LeastConnection) {
    Config c = parse("virtual_server 10.0.0.10 80 {\n  lb_algo wlc\n  real_server 10.0.0.2 80 { weight 2 }\n}\n");
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    EXPECT_TRUE(least_connection(c.virtual_servers[0]));
    EXPECT_THAT(c.warnings, IsEmpty());
    std::string many = "virtual_server 10.0.0.10 80 {\n  lb_algo lc\n";
    for (int i = 0; i <= LBD_LC_MAX_REALS; ++i) many += fmt::format("  real_server 10.1.{}.{} 80\n", i / 250, i % 250 + 1);
    many += "}\n";
    try {
        parse(many);
        FAIL() << "accepted more reals than lc picks among";
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), "t.conf:1: lb_algo lc picks among at most 128 real servers, this one has 129");
    }
}

// The data plane's id pools hold the whole file: every virtual service, and
// every real (an address; for NAT an address and port), sorry servers too.
TEST(Services, Capacity) {
    std::string vips;
    for (int i = 0; i <= LBD_MAX_VIPS; ++i)
        vips += fmt::format("virtual_server 10.9.{}.{} 80 {{\n  real_server 10.1.0.1 80\n}}\n", i / 250, i % 250 + 1);
    EXPECT_EQ(test::error_of(vips, "t.conf"),
              fmt::format("t.conf:{}: virtual_server [10.9.2.13]:tcp:80: more than 512 virtual services (the data "
                          "plane's limit)",
                          3 * LBD_MAX_VIPS + 1));

    // 4,000 reals, then 106 more of which 10 are the same addresses: 4,096.
    std::string reals = "virtual_server 10.0.0.10 80 {\n";
    for (int i = 0; i < 4000; ++i) reals += fmt::format("  real_server 10.1.{}.{} 80\n", i / 250, i % 250 + 1);
    reals += "}\nvirtual_server 10.0.0.11 80 {\n";
    for (int i = 3990; i < LBD_MAX_REALS; ++i) reals += fmt::format("  real_server 10.1.{}.{} 80\n", i / 250, i % 250 + 1);
    EXPECT_EQ(test::error_of(reals + "}\n", "t.conf"), "no error");
    const int sorry_line = 4002 + 1 + (LBD_MAX_REALS - 3990) + 1;
    EXPECT_EQ(test::error_of(reals + "  sorry_server 10.2.0.1 80\n}\n", "t.conf"),
              fmt::format("t.conf:{}: real_server 10.2.0.1: more than 4096 real servers in all virtual servers (the "
                          "data plane's limit; a real is its address, or for NAT its address and port)",
                          sorry_line));

    // NAT: one address, a real per port.
    std::string nat = "virtual_server 10.0.0.12 80 {\n  lb_kind NAT\n";
    for (int port = 1; port <= LBD_MAX_REALS + 1; ++port) nat += fmt::format("  real_server 10.3.0.1 {}\n", port);
    EXPECT_EQ(test::error_of(nat + "}\n", "t.conf"),
              fmt::format("t.conf:{}: real_server 10.3.0.1: more than 4096 real servers in all virtual servers (the "
                          "data plane's limit; a real is its address, or for NAT its address and port)",
                          2 + LBD_MAX_REALS + 1));
}

TEST(Services, LvsTunWithTcpCheck) {
    const Config c = parse(R"(global_defs {
    lb_interface ens3
    lb_tunnel_source 198.51.100.1
    lb_tunnel_source 2001:db8::1
}
virtual_server 203.0.113.5 53 {
    lvs_sched sh
    lvs_method tun
    protocol udp
    real_server 198.51.100.20 53 {
        weight 5
        MISC_CHECK {
            misc_path "/usr/local/bin/check_dns 198.51.100.20"
        }
    }
    real_server 198.51.100.21 53 {
        TCP_CHECK { connect_port 53 }
    }
}
)");
    EXPECT_EQ(c.global.tunnel_source4, IpAddr::parse("198.51.100.1"));
    EXPECT_EQ(c.global.tunnel_source6, IpAddr::parse("2001:db8::1"));
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    const VirtualServer& vs = c.virtual_servers[0];
    EXPECT_EQ(vs.mode, Mode::TUN);
    EXPECT_EQ(vs.proto, Proto::UDP);
    EXPECT_EQ(vs.algo, "sh");
    EXPECT_TRUE(vs.hash_source);
    EXPECT_EQ(vs.persistence_timeout, 0u);
    ASSERT_EQ(vs.reals.size(), 2u);
    EXPECT_EQ(vs.reals[0].weight, 5u);
    EXPECT_THAT(c.warnings, IsEmpty());
    ASSERT_EQ(vs.reals[0].checkers.size(), 1u);
    EXPECT_EQ(std::get<MiscCheck>(vs.reals[0].checkers[0].detail).command,
              "/usr/local/bin/check_dns 198.51.100.20");
    EXPECT_EQ(vs.reals[0].checkers[0].timing.retry, 0u);  // keepalived: MISC_CHECK does not retry
    ASSERT_EQ(vs.reals[1].checkers.size(), 1u);
    EXPECT_EQ(vs.reals[1].checkers[0].target.connect_ip.str(), "198.51.100.21");
}

TEST(Services, NatIsReadAndMayChangeThePort) {
    const Config c = parse(R"(virtual_server 10.0.0.1 80 {
    lb_kind NAT
    real_server 192.168.1.2 8080
}
)");
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    EXPECT_EQ(c.virtual_servers[0].mode, Mode::NAT);
    EXPECT_EQ(to_string(c.virtual_servers[0].mode), "NAT");
    EXPECT_EQ(c.virtual_servers[0].reals[0].port, 8080);
}

TEST(Services, PortFlagsMakeShAndMhHashTheFlow) {
    const Config c = parse(R"(virtual_server 10.0.0.1 80 {
    lb_algo mh
    mh-port
}
virtual_server 10.0.0.1 81 {
    lb_algo sh
    flag-2
}
virtual_server 10.0.0.1 82 {
    lb_algo sh
}
)");
    ASSERT_EQ(c.virtual_servers.size(), 3u);
    EXPECT_FALSE(c.virtual_servers[0].hash_source);
    EXPECT_FALSE(c.virtual_servers[1].hash_source);
    EXPECT_TRUE(c.virtual_servers[2].hash_source);
}

TEST(Services, Ipv6VirtualServer) {
    const Config c = parse(R"(virtual_server 2001:db8:0:0::100 8080 {
    lb_algo mh
    real_server 2001:db8::11 8080 { weight 2 }
    real_server 2001:db8::12 8080
}
)");
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    const VirtualServer& vs = c.virtual_servers[0];
    EXPECT_EQ(vs.addr.family, AF_INET6);
    EXPECT_EQ(vs.addr.str(), "2001:db8::100");
    EXPECT_EQ(vs.port, 8080);
    EXPECT_TRUE(vs.hash_source);  // IPVS mh: the client address alone
    ASSERT_EQ(vs.reals.size(), 2u);
    EXPECT_EQ(vs.reals[0].weight, 2u);
    EXPECT_EQ(vs.reals[1].weight, 1u);
    EXPECT_EQ(vs.reals[1].addr.str(), "2001:db8::12");
    EXPECT_THAT(c.warnings, IsEmpty());
}

TEST(Services, BraceOnItsOwnLine) {
    const Config c = parse(R"(global_defs
{
    router_id X
}
virtual_server 10.0.0.1 80
{
    real_server 10.0.0.2 80
    {
        weight 7
    }
}
)");
    EXPECT_EQ(c.global.router_id, "X");
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    EXPECT_EQ(c.virtual_servers[0].loc.line, 5);
    ASSERT_EQ(c.virtual_servers[0].reals.size(), 1u);
    EXPECT_EQ(c.virtual_servers[0].reals[0].loc.line, 7);
    EXPECT_EQ(c.virtual_servers[0].reals[0].weight, 7u);
}

TEST(Services, OneLineBlocks) {
    const Config c = parse(R"(global_defs { router_id one }
vrrp_instance VI_1 { interface eth0
    virtual_router_id 7
    virtual_ipaddress { 10.0.0.1/24 } }
virtual_server 10.0.0.1 80 { lb_kind DR
    real_server 10.0.0.2 80 { weight 2 }
    real_server 10.0.0.3 80 { weight 4 } }
)");
    EXPECT_EQ(c.global.router_id, "one");
    ASSERT_EQ(c.virtual_servers.size(), 1u);
    ASSERT_EQ(c.virtual_servers[0].reals.size(), 2u);
    EXPECT_EQ(c.virtual_servers[0].reals[1].weight, 4u);
    EXPECT_THAT(c.warnings, IsEmpty());
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    EXPECT_EQ(c.vrrp_instances[0].interface, "eth0");
    EXPECT_EQ(c.vrrp_instances[0].vrid, 7);
    ASSERT_EQ(c.vrrp_instances[0].virtual_addresses.size(), 1u);
}

TEST(Services, DefaultsAndSmallForms) {
    const Config c = parse(R"(virtual_server 10.0.0.1 0 {
    persistence_timeout
    real_server 10.0.0.2 0
}
virtual_server 10.0.0.1 53 {
    protocol UDP
}
virtual_server 10.0.0.1 53 {
}
static_track_group G1 {
    group { VI_1 }
}
)");
    ASSERT_EQ(c.virtual_servers.size(), 3u);
    EXPECT_EQ(c.virtual_servers[0].persistence_timeout, 360u);  // keepalived's default
    EXPECT_TRUE(c.virtual_servers[0].hash_source);
    EXPECT_EQ(c.virtual_servers[0].algo, "wrr");
    EXPECT_EQ(c.virtual_servers[1].proto, Proto::UDP);
    EXPECT_EQ(c.virtual_servers[2].proto, Proto::TCP);
    EXPECT_THAT(c.warnings, ElementsAre("t.conf:10: static_track_group is not supported yet; ignored"));
}

struct BadCase {
    const char* name;
    const char* text;
    const char* error;
};

class BrokenConfig : public testing::TestWithParam<BadCase> {};

TEST_P(BrokenConfig, FailsWithFileLineMessage) {
    try {
        parse_string(GetParam().text, "bad.conf");
        FAIL() << "accepted:\n" << GetParam().text;
    } catch (const ConfigError& e) {
        EXPECT_STREQ(e.what(), GetParam().error);
    }
}

const BadCase kBroken[] = {
    {"never_closed", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n  }\n",
     "bad.conf:1: block 'virtual_server' opened here is never closed"},
    {"stray_close", "global_defs {\n}\n}\n", "bad.conf:3: unexpected '}'"},
    {"brace_without_keyword", "{\n}\n", "bad.conf:1: unexpected '{'"},
    {"unterminated_quote", "vrrp_script x {\n  script \"/bin/true\n}\n", "bad.conf:2: unterminated quote"},
    {"unknown_top_level", "\nxyz {\n}\n", "bad.conf:2: unknown keyword 'xyz'"},
    {"unknown_global", "global_defs {\n  router_idd LB1\n}\n",
     "bad.conf:2: unknown keyword 'router_idd' in global_defs"},
    {"global_defs_without_block", "global_defs\n", "bad.conf:1: global_defs needs a { ... } block"},
    {"router_id_missing", "global_defs {\n  router_id\n}\n", "bad.conf:2: router_id needs a value"},
    {"router_id_two", "global_defs {\n  router_id a b\n}\n",
     "bad.conf:2: router_id takes one value, got 'a b'"},
    {"ring_not_prime", "global_defs {\n  lb_ring_size 65536\n}\n",
     "bad.conf:2: lb_ring_size 65536 is not a prime"},
    {"ring_too_small", "global_defs {\n  lb_ring_size 2\n}\n",
     "bad.conf:2: lb_ring_size 2 is out of range 3..1048573"},
    {"ring_too_big", "global_defs {\n  lb_ring_size 99999999999\n}\n",
     "bad.conf:2: lb_ring_size 99999999999 is out of range 3..1048573"},
    {"conntrack_too_small", "global_defs {\n  lb_conntrack_size 100\n}\n",
     "bad.conf:2: lb_conntrack_size 100 is out of range 1024..16777216"},
    {"flood_guard_not_number", "global_defs {\n  lb_flood_guard lots\n}\n",
     "bad.conf:2: lb_flood_guard 'lots' is not a whole number"},
    {"ring_not_number", "global_defs {\n  lb_ring_size 64k\n}\n",
     "bad.conf:2: lb_ring_size '64k' is not a whole number"},
    {"tunnel_source_bad", "global_defs {\n  lb_tunnel_source 10.0.0.256\n}\n",
     "bad.conf:2: lb_tunnel_source '10.0.0.256' is not an IP address"},
    {"tunnel_source_twice", "global_defs {\n  lb_tunnel_source 10.0.0.1\n  lb_tunnel_source 10.0.0.2\n}\n",
     "bad.conf:3: lb_tunnel_source 10.0.0.2: the IPv4 tunnel source is already 10.0.0.1"},
    {"interface_twice", "global_defs {\n  lb_interface eth0\n  lb_interface eth1 eth0\n}\n",
     "bad.conf:3: lb_interface eth0 is listed twice"},
    {"interface_too_long", "global_defs {\n  lb_interface averyveryverylongname\n}\n",
     "bad.conf:2: lb_interface 'averyveryverylongname' is not an interface name of 1 to 15 characters"},
    {"fwmark", "virtual_server fwmark 1 {\n}\n",
     "bad.conf:1: virtual_server fwmark 1 is not supported: the XDP program forwards packets before netfilter "
     "marks them; write a virtual_server ADDR PORT for each address and port the mark stands for (port 0 for "
     "every port), or a virtual_server_group of ranges and virtual_server group NAME"},
    {"vs_group_undefined", "virtual_server group web {\n}\n",
     "bad.conf:1: virtual_server group web: no virtual_server_group web is defined"},
    {"vs_no_args", "virtual_server {\n}\n", "bad.conf:1: virtual_server needs an address and a port"},
    {"vs_missing_port", "virtual_server 10.0.0.1 {\n}\n",
     "bad.conf:1: virtual_server needs an address and a port, got '10.0.0.1'"},
    {"vs_bad_address", "virtual_server 10.0.0 80 {\n}\n",
     "bad.conf:1: virtual_server needs an address and a port, got '10.0.0 80'"},
    {"vs_port_too_big", "virtual_server 10.0.0.1 65536 {\n}\n",
     "bad.conf:1: virtual_server needs an address and a port, got '10.0.0.1 65536'"},
    {"vs_without_block", "virtual_server 10.0.0.1 80\n",
     "bad.conf:1: virtual_server 10.0.0.1 80 needs a { ... } block"},
    {"nat_family", "virtual_server 10.0.0.1 80 {\n  lb_kind NAT\n  real_server 2001:db8::2 8080\n}\n",
     "bad.conf:3: NAT needs the real server in the VIP's address family (VIP 10.0.0.1, real 2001:db8::2)"},
    {"lvs_method_unknown", "virtual_server 10.0.0.1 80 {\n  lvs_method FOO\n}\n",
     "bad.conf:2: unknown lvs_method 'FOO' (use DR, TUN or NAT)"},
    {"lb_algo_dh", "virtual_server 10.0.0.1 80 {\n  lb_algo dh\n}\n",
     "bad.conf:2: lb_algo dh is not supported (use one of rr, wrr, lc, wlc, sh, mh)"},
    {"protocol_sctp", "virtual_server 10.0.0.1 80 {\n  protocol SCTP\n}\n",
     "bad.conf:2: protocol SCTP is not supported"},
    {"protocol_unknown", "virtual_server 10.0.0.1 80 {\n  protocol ICMP\n}\n",
     "bad.conf:2: unknown protocol 'ICMP' (use TCP or UDP)"},
    {"persistence_not_number", "virtual_server 10.0.0.1 80 {\n  persistence_timeout 5m\n}\n",
     "bad.conf:2: persistence_timeout '5m' is not a whole number"},
    {"unknown_vs_keyword", "virtual_server 10.0.0.1 80 {\n  lb_algoo rr\n}\n",
     "bad.conf:2: unknown keyword 'lb_algoo' in virtual_server"},
    {"weight_too_big",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 65536\n  }\n}\n",
     "bad.conf:3: weight 65536 is out of range 0..65535"},
    {"weight_negative", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 { weight -1 }\n}\n",
     "bad.conf:2: weight '-1' is not a whole number"},
    {"weight_with_block", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 { weight 1 { } }\n}\n",
     "bad.conf:2: weight does not take a block"},
    {"real_no_args", "virtual_server 10.0.0.1 80 {\n  real_server\n}\n",
     "bad.conf:2: real_server needs an address and a port"},
    {"real_no_port", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2\n}\n",
     "bad.conf:2: real_server needs an address and a port, got '10.0.0.2'"},
    {"real_hostname", "virtual_server 10.0.0.1 80 {\n  real_server web1 80\n}\n",
     "bad.conf:2: real_server needs an address and a port, got 'web1 80'"},
    {"unknown_real_keyword",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    wieght 2\n  }\n}\n",
     "bad.conf:3: unknown keyword 'wieght' in real_server"},
    {"duplicate_vs", "virtual_server 10.0.0.1 80 {\n}\n\nvirtual_server 10.0.0.1 80 {\n  protocol tcp\n}\n",
     "bad.conf:4: virtual_server 10.0.0.1 80 TCP is already defined at bad.conf:1"},
    {"duplicate_real",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80\n  real_server 10.0.0.2 80\n}\n",
     "bad.conf:3: real_server 10.0.0.2 80 is already defined at bad.conf:2"},
    {"dr_family", "virtual_server 10.0.0.1 80 {\n  real_server 2001:db8::2 80\n}\n",
     "bad.conf:2: DR needs the real server in the VIP's address family (VIP 10.0.0.1, real 2001:db8::2)"},
    // lb_kind after the reals: the check runs once the block is read.
    {"dr_port", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 8080\n  lb_kind DR\n}\n",
     "bad.conf:2: lb_kind DR cannot change the port (virtual 80, real 8080)"},
    {"tun_port", "virtual_server 10.0.0.1 443 {\n  lb_kind TUN\n  real_server 10.0.0.2 8443\n}\n",
     "bad.conf:3: lb_kind TUN cannot change the port (virtual 443, real 8443)"},
    {"include_missing", "include /nonexistent-lbd-dir/extra.conf\n",
     "bad.conf:1: include /nonexistent-lbd-dir/extra.conf matches no file"},
    {"include_without_pattern", "include\n", "bad.conf:1: include needs one file pattern"},
    // A one-line block is one statement a line: `path / digest X` is path with three values.
    {"url_one_line", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n"
     "      url { path / digest 9b3a0c85a887a256d6939da88aabd8cd }\n    }\n  }\n}\n",
     "bad.conf:4: path takes one value, got '/ digest 9b3a0c85a887a256d6939da88aabd8cd'"},
};

INSTANTIATE_TEST_SUITE_P(Corpus, BrokenConfig, testing::ValuesIn(kBroken),
                         [](const testing::TestParamInfo<BadCase>& info) {
                             return std::string(info.param.name);
                         });

}  // namespace
}  // namespace lbd::config
