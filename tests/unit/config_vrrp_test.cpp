// The keepalived.conf blocks beyond virtual_server: global_defs, vrrp_*,
// track_file, checkers and virtual_server_group, read into the model with
// their defaults resolved; and what is refused, with the exact message.
#include "config/load.h"
#include "config_text.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <utility>
#include <variant>

namespace lbd::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

Config parse(std::string_view text) { return parse_string(text, "v.conf"); }

std::string error_of(std::string_view text) { return test::error_of(text, "v.conf"); }

// A minimal instance around `body`, for tests about one keyword.
std::string instance(std::string_view body) {
    return "vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n" + std::string(body) + "}\n";
}

TEST(GlobalDefs, KeepalivedKeywordsAreModelled) {
    const Config c = parse(R"(global_defs {
    notification_email {
        a@example.com b@example.com
        "Ops <ops@example.com>"
    }
    notification_email_from lb@example.com
    smtp_server 192.0.2.25
    smtp_connect_timeout 12.5
    smtp_helo_name lb1.example.com
    smtp_alert
    smtp_alert_vrrp off
    lvs_id LVS_OLD
    enable_script_security
    script_user keepalived_script :ops
    vrrp_strict
    vrrp_skip_check_adv_addr
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.000001
    vrrp_garp_master_delay 10
    vrrp_garp_master_repeat 2
    vrrp_garp_master_refresh 60
    vrrp_garp_master_refresh_repeat 3
    vrrp_version 3
    vrrp_mcast_group4 224.0.0.19
    vrrp_mcast_group6 ff02::13
    vrrp_iptables keepalived
    max_auto_priority
    vrrp_no_swap
    checker_no_swap
    vrrp_priority -20
    checker_priority 19
    dynamic_interfaces allow_if_changes
    notify_fifo /run/keepalived.fifo root
}
)");
    const GlobalDefs& g = c.global;
    EXPECT_THAT(g.notification_email, ElementsAre("a@example.com", "b@example.com", "Ops <ops@example.com>"));
    EXPECT_EQ(g.notification_email_from, "lb@example.com");
    ASSERT_TRUE(g.smtp_server);
    EXPECT_EQ(g.smtp_server->host, "192.0.2.25");
    EXPECT_EQ(g.smtp_server->port, 25);  // keepalived's default
    EXPECT_EQ(g.smtp_connect_timeout, 12500ms);
    EXPECT_EQ(g.smtp_helo_name, "lb1.example.com");
    EXPECT_TRUE(g.smtp_alert);
    EXPECT_EQ(g.smtp_alert_vrrp, false);
    EXPECT_FALSE(g.smtp_alert_checker);
    EXPECT_EQ(g.router_id, "LVS_OLD");  // lvs_id is router_id's old name
    EXPECT_TRUE(g.enable_script_security);
    EXPECT_EQ(g.script_user, "keepalived_script");
    EXPECT_EQ(g.script_group, ":ops");
    EXPECT_TRUE(g.vrrp_strict);
    EXPECT_TRUE(g.vrrp_skip_check_adv_addr);
    EXPECT_EQ(g.vrrp_garp_interval, 1ms);
    EXPECT_EQ(g.vrrp_gna_interval, 1us);
    EXPECT_EQ(g.vrrp_garp_master_delay, 10s);
    EXPECT_EQ(g.vrrp_garp_master_repeat, 2u);
    EXPECT_EQ(g.vrrp_garp_master_refresh, 60s);
    EXPECT_EQ(g.vrrp_garp_master_refresh_repeat, 3u);
    EXPECT_EQ(g.vrrp_version, 3);
    EXPECT_EQ(g.vrrp_mcast_group4.str(), "224.0.0.19");
    EXPECT_EQ(g.vrrp_mcast_group6.str(), "ff02::13");
    EXPECT_EQ(g.max_auto_priority, 99);
    EXPECT_TRUE(g.vrrp_no_swap);
    EXPECT_TRUE(g.checker_no_swap);
    EXPECT_EQ(g.vrrp_priority, -20);
    EXPECT_EQ(g.checker_priority, 19);
    EXPECT_TRUE(g.dynamic_interfaces);
    EXPECT_TRUE(g.allow_if_changes);
    ASSERT_TRUE(g.notify_fifo);
    EXPECT_EQ(g.notify_fifo->command, "/run/keepalived.fifo");
    EXPECT_EQ(g.notify_fifo->user, "root");
    EXPECT_THAT(c.warnings, ElementsAre("v.conf:26: vrrp_iptables is not supported yet; ignored"));
}

TEST(GlobalDefs, Defaults) {
    const GlobalDefs g = parse("global_defs {\n}\n").global;
    EXPECT_FALSE(g.smtp_server);
    EXPECT_EQ(g.smtp_connect_timeout, 30s);
    EXPECT_EQ(g.vrrp_version, 2);  // keepalived's default
    EXPECT_EQ(g.vrrp_mcast_group4.str(), "224.0.0.18");
    EXPECT_EQ(g.vrrp_mcast_group6.str(), "ff02::12");
    EXPECT_EQ(g.vrrp_garp_master_delay, 5s);
    EXPECT_EQ(g.vrrp_garp_master_repeat, 5u);
    EXPECT_EQ(g.vrrp_garp_master_refresh, 0s);
    EXPECT_EQ(g.vrrp_garp_master_refresh_repeat, 1u);
    EXPECT_EQ(g.max_auto_priority, 0);
}

TEST(GlobalDefs, SmtpServerPort) {
    const auto server = parse("global_defs {\n smtp_server mail.example.com 587\n}\n").global.smtp_server;
    ASSERT_TRUE(server);
    EXPECT_EQ(server->host, "mail.example.com");
    EXPECT_EQ(server->port, 587);
}

TEST(VrrpInstance, DefaultsComeFromKeepalivedAndGlobalDefs) {
    const Config c = parse(instance("    virtual_ipaddress {\n        10.0.0.10\n    }\n"));
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    const VrrpInstance& v = c.vrrp_instances[0];
    EXPECT_EQ(v.name, "VI_1");
    EXPECT_EQ(v.initial_state, VrrpState::BACKUP);
    EXPECT_EQ(v.priority, 100);
    EXPECT_EQ(v.advert_int_cs, 100u);
    EXPECT_EQ(v.version, 2);
    EXPECT_EQ(v.family, AF_INET);
    EXPECT_TRUE(v.preempt);
    EXPECT_EQ(v.preempt_delay, 0s);
    EXPECT_FALSE(v.auth_pass_enabled);
    EXPECT_TRUE(v.accept);
    EXPECT_FALSE(v.strict_mode);
    EXPECT_EQ(v.garp_master_delay, 5s);
    EXPECT_EQ(v.garp_master_repeat, 5u);
    EXPECT_EQ(v.garp_master_refresh_repeat, 1u);
    EXPECT_FALSE(v.smtp_alert);
    ASSERT_EQ(v.virtual_addresses.size(), 1u);
    EXPECT_EQ(v.virtual_addresses[0].prefix.str(), "10.0.0.10/32");
    EXPECT_EQ(v.virtual_addresses[0].loc.line, 5);
    EXPECT_EQ(v.loc.line, 1);
    EXPECT_EQ(v.interface_loc.line, 2);
    EXPECT_THAT(c.warnings, IsEmpty());
}

TEST(VrrpInstance, GlobalDefsAfterTheInstanceStillApply) {
    const Config c = parse(instance("    virtual_ipaddress { 10.0.0.10 }\n    garp_master_repeat 1\n") +
                           "global_defs {\n  vrrp_version 3\n  vrrp_garp_master_repeat 9\n"
                           "  vrrp_garp_master_delay 2\n  vrrp_strict\n}\n");
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_EQ(v.version, 3);
    EXPECT_EQ(v.garp_master_repeat, 1u);  // the instance's own
    EXPECT_EQ(v.garp_master_delay, 2s);   // global_defs'
    EXPECT_TRUE(v.strict_mode);
    EXPECT_FALSE(v.accept);  // strict: only the address owner accepts
}

TEST(VrrpInstance, AcceptFollowsStrictModeAndOwnership) {
    const auto accept_of = [](std::string_view body) {
        return parse("global_defs {\n vrrp_strict\n}\n" +
                     instance(std::string(body) + "    virtual_ipaddress { 10.0.0.1 }\n"))
            .vrrp_instances.at(0)
            .accept;
    };
    EXPECT_FALSE(accept_of(""));
    EXPECT_TRUE(accept_of("    priority 255\n"));
    EXPECT_TRUE(accept_of("    accept\n"));
    EXPECT_FALSE(parse(instance("    no_accept\n")).vrrp_instances.at(0).accept);
    EXPECT_TRUE(parse(instance("    strict_mode off\n")).vrrp_instances.at(0).accept);
}

TEST(VrrpInstance, EveryKeyword) {
    const Config c = parse(R"(vrrp_script chk { script "/bin/true" }
track_file tf { file /run/prio }
vrrp_instance VI_7 {
    state master
    interface bond0.100
    virtual_router_id 7
    priority 255
    advert_int 0.25
    version 3
    nopreempt
    preempt_delay 4.12
    virtual_ipaddress {
        192.168.7.1/24 dev bond0.100 label bond0.100:1 scope link brd +
        192.168.7.2/24 no_track 192.168.7.3
    }
    virtual_ipaddress_excluded {
        2001:db8:7::1/64 dev eth9 preferred_lft forever -nodad
    }
    track_script {
        chk weight -30 reverse
    }
    track_interface {
        eth1
        eth2 weight 10
    }
    track_file {
        tf weight 5
    }
    notify_master "/etc/keepalived/notify.sh MASTER 'a b'" root wheel
    notify_backup /etc/keepalived/backup.sh
    notify_fault "/etc/keepalived/notify.sh FAULT"
    notify_stop /etc/keepalived/stop.sh nobody
    notify /etc/keepalived/any.sh
    notify_fifo /run/vi7.fifo
    garp_master_delay 1
    garp_master_repeat 3
    garp_master_refresh 30
    garp_master_refresh_repeat 2
    garp_interval 0.01
    gna_interval 0.02
    use_vmac name vrrp.7
    vmac_xmit_base
    mcast_src_ip 192.168.7.254
    smtp_alert
    no_accept
    dont_track_primary
    debug 2
    skip_check_adv_addr
    lvs_sync_daemon_interface eth1
}
)");
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_EQ(v.initial_state, VrrpState::MASTER);
    EXPECT_EQ(v.interface, "bond0.100");
    EXPECT_EQ(v.vrid, 7);
    EXPECT_EQ(v.priority, 255);
    EXPECT_EQ(v.advert_int_cs, 25u);
    EXPECT_EQ(v.version, 3);
    EXPECT_FALSE(v.preempt);
    EXPECT_EQ(v.preempt_delay, 4120ms);
    ASSERT_EQ(v.virtual_addresses.size(), 3u);
    const VirtualAddress& a = v.virtual_addresses[0];
    EXPECT_EQ(a.prefix.str(), "192.168.7.1/24");
    EXPECT_EQ(a.dev, "bond0.100");
    EXPECT_EQ(a.label, "bond0.100:1");
    EXPECT_EQ(a.scope, static_cast<uint8_t>(Scope::link));
    ASSERT_TRUE(a.broadcast);
    EXPECT_EQ(a.broadcast->str(), "192.168.7.255");
    EXPECT_TRUE(v.virtual_addresses[1].no_track);
    EXPECT_EQ(v.virtual_addresses[2].prefix.str(), "192.168.7.3/32");
    EXPECT_EQ(v.virtual_addresses[2].loc.line, 14);
    ASSERT_EQ(v.excluded_addresses.size(), 1u);
    EXPECT_EQ(v.excluded_addresses[0].preferred_lft, 0xffffffffu);
    EXPECT_TRUE(v.excluded_addresses[0].nodad);
    ASSERT_EQ(v.track_scripts.size(), 1u);
    EXPECT_EQ(v.track_scripts[0].weight, -30);
    EXPECT_TRUE(v.track_scripts[0].reverse);
    ASSERT_EQ(v.track_interfaces.size(), 2u);
    EXPECT_EQ(v.track_interfaces[0].weight, std::nullopt);
    EXPECT_EQ(v.track_interfaces[1].weight, 10);
    EXPECT_EQ(v.track_interfaces[1].loc.line, 24);
    ASSERT_EQ(v.track_files.size(), 1u);
    EXPECT_EQ(v.track_files[0].weight, 5);
    ASSERT_TRUE(v.notify.master);
    EXPECT_EQ(v.notify.master->command, "/etc/keepalived/notify.sh MASTER 'a b'");
    EXPECT_EQ(v.notify.master->user, "root");
    EXPECT_EQ(v.notify.master->group, "wheel");
    EXPECT_EQ(v.notify.backup->command, "/etc/keepalived/backup.sh");
    EXPECT_EQ(v.notify.fault->command, "/etc/keepalived/notify.sh FAULT");
    EXPECT_EQ(v.notify.stop->user, "nobody");
    EXPECT_EQ(v.notify.any->command, "/etc/keepalived/any.sh");
    EXPECT_EQ(v.notify.any->loc.line, 33);
    EXPECT_EQ(v.notify_fifo->command, "/run/vi7.fifo");
    EXPECT_EQ(v.garp_master_delay, 1s);
    EXPECT_EQ(v.garp_master_repeat, 3u);
    EXPECT_EQ(v.garp_master_refresh, 30s);
    EXPECT_EQ(v.garp_master_refresh_repeat, 2u);
    EXPECT_EQ(v.garp_interval, 10ms);
    EXPECT_EQ(v.gna_interval, 20ms);
    EXPECT_TRUE(v.use_vmac);
    EXPECT_EQ(v.vmac_name, "vrrp.7");
    EXPECT_TRUE(v.vmac_xmit_base);
    EXPECT_EQ(v.mcast_src_ip->str(), "192.168.7.254");
    EXPECT_EQ(v.smtp_alert, true);
    EXPECT_FALSE(v.accept);
    EXPECT_TRUE(v.dont_track_primary);
    EXPECT_EQ(v.debug, 2u);
    EXPECT_TRUE(v.skip_check_adv_addr);
    EXPECT_THAT(c.warnings, IsEmpty());  // lvs_sync_daemon_interface: accepted, of no effect
}

TEST(VrrpInstance, AdvertIntBounds) {
    const auto cs = [](std::string_view value, std::string_view version) {
        return parse(instance(fmt::format("    version {}\n    advert_int {}\n", version, value)))
            .vrrp_instances.at(0)
            .advert_int_cs;
    };
    EXPECT_EQ(cs("0.01", "3"), 1u);
    EXPECT_EQ(cs("40.95", "3"), 4095u);
    EXPECT_EQ(cs("3", "3"), 300u);
    EXPECT_EQ(cs("255", "2"), 25500u);
    EXPECT_EQ(error_of(instance("    advert_int 0.5\n")),
              "v.conf:4: advert_int 0.5 is out of range for VRRP version 2: whole seconds 1..255");
    EXPECT_EQ(error_of(instance("    version 3\n    advert_int 41\n")),
              "v.conf:5: advert_int 41 is out of range 0.01..40.95 for VRRP version 3");
    EXPECT_EQ(error_of(instance("    advert_int 0.015\n")),
              "v.conf:4: advert_int '0.015' is not a number of seconds with at most two decimals");
}

TEST(VrrpInstance, Ipv6RunsVersion3WhateverTheGlobalDefault) {
    const Config c = parse(instance("    virtual_ipaddress {\n        fe80::1/64\n        2001:db8::1/64\n    }\n"));
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_EQ(v.family, AF_INET6);
    EXPECT_EQ(v.version, 3);
    EXPECT_EQ(v.virtual_addresses[1].prefix.str(), "2001:db8::1/64");
}

TEST(VrrpInstance, AuthPass) {
    const Config c = parse(instance("    authentication {\n        auth_type PASS\n        auth_pass 0123456789\n    }\n"));
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_TRUE(v.auth_pass_enabled);
    EXPECT_EQ(v.auth_pass, "01234567");
    EXPECT_THAT(c.warnings, ElementsAre("v.conf:6: auth_pass is longer than 8 characters; only '01234567' is "
                                        "used, as keepalived does"));

    const Config v3 = parse(instance("    version 3\n    authentication {\n        auth_type PASS\n"
                                     "        auth_pass secret\n    }\n"));
    EXPECT_FALSE(v3.vrrp_instances.at(0).auth_pass_enabled);
    EXPECT_THAT(v3.warnings,
                ElementsAre("v.conf:5: authentication is ignored with VRRP version 3 (RFC 5798 has none)"));
}

TEST(VrrpInstance, UnicastWithoutInterface) {
    const Config c = parse(R"(vrrp_instance VI_U {
    virtual_router_id 9
    unicast_src_ip 10.1.0.1
    unicast_peer {
        10.1.0.2 min_ttl 254 max_ttl 255
        10.1.0.3
    }
    virtual_ipaddress { 10.1.0.100/24 dev eth0 }
}
)");
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_TRUE(v.interface.empty());
    EXPECT_EQ(v.unicast_src_ip->str(), "10.1.0.1");
    ASSERT_EQ(v.unicast_peers.size(), 2u);
    EXPECT_EQ(v.unicast_peers[0].min_ttl, 254);
    EXPECT_EQ(v.unicast_peers[0].max_ttl, 255);
    EXPECT_EQ(v.unicast_peers[1].addr.str(), "10.1.0.3");
    EXPECT_EQ(v.unicast_peers[1].loc.line, 6);
}

TEST(VrrpInstance, SameVridAllowedWhereKeepalivedAllowsIt) {
    // Another interface, another family, or unicast peers that do not overlap.
    const Config c = parse(R"(vrrp_instance A {
    interface eth0
    virtual_router_id 1
}
vrrp_instance B {
    interface eth1
    virtual_router_id 1
}
vrrp_instance C {
    interface eth0
    virtual_router_id 1
    virtual_ipaddress { 2001:db8::1 }
}
vrrp_instance D {
    interface eth2
    virtual_router_id 1
    unicast_peer { 10.0.0.2 }
}
vrrp_instance E {
    interface eth2
    virtual_router_id 1
    unicast_peer { 10.0.0.3 }
}
)");
    EXPECT_EQ(c.vrrp_instances.size(), 5u);
}

TEST(VirtualRoutes, IpRouteSyntax) {
    const Config c = parse(instance(R"(    virtual_routes {
        src 192.168.100.1 to 192.168.109.0/24 via 192.168.200.254 dev eth1
        192.168.110.0/24 via 192.168.200.254 dev eth1 metric 10 table main scope link proto static onlink
        192.168.113.0/24 via 192.168.200.254 or 192.168.100.254 dev eth1 no_track
        blackhole 192.168.114.0/24
        default gw 192.168.0.1 table 100
        default via 2001:db8::1
    }
)"));
    const auto& r = c.vrrp_instances.at(0).virtual_routes;
    ASSERT_EQ(r.size(), 6u);
    EXPECT_EQ(r[0].src->str(), "192.168.100.1");
    EXPECT_EQ(r[0].dest.str(), "192.168.109.0/24");
    EXPECT_EQ(r[0].via->str(), "192.168.200.254");
    EXPECT_EQ(r[0].dev, "eth1");
    EXPECT_EQ(r[1].metric, 10u);
    EXPECT_EQ(r[1].table, 254u);
    EXPECT_EQ(r[1].scope, 253);
    EXPECT_EQ(r[1].protocol, 4);
    EXPECT_TRUE(r[1].onlink);
    EXPECT_EQ(r[2].or_via->str(), "192.168.100.254");
    EXPECT_TRUE(r[2].no_track);
    EXPECT_EQ(r[3].type, RouteType::blackhole);
    EXPECT_EQ(r[3].dest.str(), "192.168.114.0/24");
    EXPECT_EQ(r[4].dest.str(), "0.0.0.0/0");
    EXPECT_EQ(r[4].table, 100u);
    EXPECT_EQ(r[5].dest.str(), "::/0");
    EXPECT_EQ(r[5].loc.line, 10);
}

TEST(VrrpScript, DefaultsAndKeywords) {
    const Config c = parse(R"(vrrp_script chk_haproxy {
    script "/usr/bin/killall -0 haproxy"
    interval 2
    weight 20 reverse
    rise 3
    fall 2
    user haproxy haproxy
    init_fail
}
vrrp_script chk_unquoted {
    script /usr/local/bin/check --fast
    interval 0.5
    timeout 3
}
)");
    ASSERT_EQ(c.vrrp_scripts.size(), 2u);
    const VrrpScript& a = c.vrrp_scripts[0];
    EXPECT_EQ(a.command, "/usr/bin/killall -0 haproxy");
    EXPECT_EQ(a.interval, 2s);
    EXPECT_EQ(a.timeout, 2s);  // keepalived: the interval
    EXPECT_EQ(a.weight, 20);
    EXPECT_TRUE(a.reverse);
    EXPECT_EQ(a.rise, 3u);
    EXPECT_EQ(a.fall, 2u);
    EXPECT_EQ(a.user, "haproxy");
    EXPECT_EQ(a.group, "haproxy");
    EXPECT_TRUE(a.init_fail);
    const VrrpScript& b = c.vrrp_scripts[1];
    EXPECT_EQ(b.command, "/usr/local/bin/check --fast");
    EXPECT_EQ(b.interval, 500ms);
    EXPECT_EQ(b.timeout, 3s);
    EXPECT_EQ(b.weight, 0);
    EXPECT_EQ(b.rise, 1u);
    EXPECT_EQ(b.fall, 1u);
}

TEST(VrrpSyncGroup, MembersTrackingAndNotify) {
    const Config c = parse(R"(vrrp_script chk { script /bin/true }
vrrp_sync_group G1 {
    group {
        VI_OUT
        VI_IN
    }
    track_interface { eth0 weight -10 }
    track_script { chk }
    notify_master "/etc/keepalived/sg.sh MASTER"
    notify "/etc/keepalived/sg.sh"
    smtp_alert no
    sync_group_tracking_weight
}
vrrp_instance VI_OUT { interface eth0
    virtual_router_id 1 }
vrrp_instance VI_IN { interface eth1
    virtual_router_id 2 }
)");
    ASSERT_EQ(c.vrrp_sync_groups.size(), 1u);
    const VrrpSyncGroup& g = c.vrrp_sync_groups[0];
    ASSERT_EQ(g.members.size(), 2u);
    EXPECT_EQ(g.members[1].instance, "VI_IN");
    EXPECT_EQ(g.members[1].loc.line, 5);
    EXPECT_EQ(g.track_interfaces.at(0).weight, -10);
    EXPECT_EQ(g.track_scripts.at(0).name, "chk");
    EXPECT_EQ(g.notify.master->command, "/etc/keepalived/sg.sh MASTER");
    EXPECT_EQ(g.notify.any->command, "/etc/keepalived/sg.sh");
    EXPECT_EQ(g.smtp_alert, false);
    EXPECT_TRUE(g.sync_group_tracking_weight);
}

TEST(TrackFile, BlockAndOldName) {
    const Config c = parse(R"(track_file prio {
    file "/run/keepalived/prio"
    weight -2 reverse
    init_file 5 overwrite
}
vrrp_track_file old {
    file /run/old
    init_file
}
)");
    ASSERT_EQ(c.track_files.size(), 2u);
    EXPECT_EQ(c.track_files[0].path, "/run/keepalived/prio");
    EXPECT_EQ(c.track_files[0].weight, -2);
    EXPECT_TRUE(c.track_files[0].reverse);
    EXPECT_EQ(c.track_files[0].init_value, 5);
    EXPECT_TRUE(c.track_files[0].init_overwrite);
    EXPECT_EQ(c.track_files[1].weight, 1);
    EXPECT_EQ(c.track_files[1].init_value, 0);
    EXPECT_FALSE(c.track_files[1].init_overwrite);
}

TEST(Checkers, SettingsInheritFromRealThenVirtualServer) {
    const Config c = parse(R"(virtual_server 10.0.0.1 80 {
    delay_loop 7
    connect_timeout 4
    retry 5
    alpha
    virtualhost www.example.com
    inhibit_on_failure
    real_server 10.0.0.2 80 {
        connect_timeout 2
        TCP_CHECK {
            connect_port 8080
            bindto 10.0.0.1
            bind_port 4000
            bind_if eth0
            fwmark 7
        }
        HTTP_GET {
            nb_get_retry 9
            delay_before_retry 0.5
            warmup 1
            url {
                path /health
                status_code 200-299 301 400-404
            }
            url {
                path /other
                virtualhost other.example.com
            }
        }
        inhibit_on_failure off
        notify_up "/bin/up.sh 10.0.0.2"
        notify_down /bin/down.sh
        uthreshold 1000
        lthreshold 10
        smtp_alert
    }
    real_server 10.0.0.3 80 {
        virtualhost real3.example.com
        SSL_GET {
            url { path /
            }
            enable_sni
            sni_name api.example.com
        }
        PING_CHECK {
            log_all_failures
        }
    }
}
)");
    const VirtualServer& vs = c.virtual_servers.at(0);
    EXPECT_TRUE(vs.alpha);
    EXPECT_TRUE(vs.inhibit_on_failure);
    const RealServer& r2 = vs.reals.at(0);
    EXPECT_FALSE(r2.inhibit_on_failure);
    EXPECT_EQ(r2.notify_up->command, "/bin/up.sh 10.0.0.2");
    EXPECT_EQ(r2.notify_down->command, "/bin/down.sh");
    EXPECT_EQ(r2.uthreshold, 1000u);
    EXPECT_EQ(r2.lthreshold, 10u);
    EXPECT_EQ(r2.smtp_alert, true);
    EXPECT_EQ(r2.virtualhost, "www.example.com");
    ASSERT_EQ(r2.checkers.size(), 2u);

    const Checker& tcp = r2.checkers[0];
    EXPECT_EQ(tcp.type, CheckerType::TCP_CHECK);
    EXPECT_EQ(tcp.target.connect_ip.str(), "10.0.0.2");
    EXPECT_EQ(tcp.target.connect_port, 8080);
    EXPECT_EQ(tcp.target.bindto->str(), "10.0.0.1");
    EXPECT_EQ(tcp.target.bind_port, 4000);
    EXPECT_EQ(tcp.target.bind_if, "eth0");
    EXPECT_EQ(tcp.target.fwmark, 7u);
    EXPECT_EQ(tcp.timing.connect_timeout, 2s);  // the real's
    EXPECT_EQ(tcp.timing.retry, 5u);            // the virtual server's
    EXPECT_EQ(tcp.timing.delay_loop, 7s);
    EXPECT_EQ(tcp.timing.warmup, 7s);           // keepalived: up to delay_loop
    EXPECT_EQ(tcp.timing.delay_before_retry, 1s);
    EXPECT_TRUE(tcp.timing.alpha);

    const Checker& http = r2.checkers[1];
    EXPECT_EQ(http.timing.retry, 9u);
    EXPECT_EQ(http.timing.delay_before_retry, 500ms);
    EXPECT_EQ(http.timing.warmup, 1s);
    EXPECT_EQ(http.target.connect_port, 80);
    const auto& h = std::get<HttpCheck>(http.detail);
    ASSERT_EQ(h.urls.size(), 2u);
    EXPECT_THAT(h.urls[0].status_codes, ElementsAre(Pair(200, 299), Pair(301, 301), Pair(400, 404)));
    EXPECT_EQ(h.urls[0].virtualhost, "www.example.com");
    EXPECT_EQ(h.urls[1].virtualhost, "other.example.com");
    EXPECT_EQ(h.urls[1].loc.line, 25);

    const RealServer& r3 = vs.reals.at(1);
    EXPECT_TRUE(r3.inhibit_on_failure);
    const Checker& ssl = r3.checkers.at(0);
    EXPECT_EQ(ssl.type, CheckerType::SSL_GET);
    const auto& s = std::get<HttpCheck>(ssl.detail);
    EXPECT_TRUE(s.enable_sni);
    EXPECT_EQ(s.sni_name, "api.example.com");
    EXPECT_EQ(s.urls.at(0).virtualhost, "real3.example.com");
    EXPECT_EQ(ssl.timing.delay_before_retry, 3s);  // HTTP_GET/SSL_GET default
    EXPECT_EQ(ssl.timing.connect_timeout, 4s);
    const Checker& ping = r3.checkers.at(1);
    EXPECT_EQ(ping.type, CheckerType::PING_CHECK);
    EXPECT_TRUE(std::holds_alternative<std::monostate>(ping.detail));
    EXPECT_TRUE(ping.timing.log_all_failures);
}

TEST(Checkers, UdpDnsSmtpMiscFile) {
    const Config c = parse(R"(track_file weightfile { file /run/w }
virtual_server 10.0.0.1 53 {
    protocol UDP
    real_server 10.0.0.2 53 {
        UDP_CHECK {
            payload Ab12f 3 456
            require_reply 0x1X
            min_reply_length 4
            max_reply_length 512
        }
        DNS_CHECK {
            type aaaa
            name example.com
        }
        SMTP_CHECK {
            helo_name "lb.example.com"
            host {
                connect_ip 10.0.0.9
                connect_port 25
                bind_if eth1
            }
            host {
                connect_port 2525
            }
        }
        MISC_CHECK {
            misc_path "/usr/local/bin/check.sh 10.0.0.2"
            misc_timeout 5
            misc_dynamic
            user nobody nogroup
            retry 2
        }
        FILE_CHECK {
            track_file weightfile
            weight 3 reverse
            dynamic
        }
    }
}
)");
    const auto& checkers = c.virtual_servers.at(0).reals.at(0).checkers;
    ASSERT_EQ(checkers.size(), 5u);
    const auto& udp = std::get<UdpCheck>(checkers[0].detail);
    EXPECT_THAT(udp.payload, ElementsAre(0xab, 0x12, 0x0f, 0x03, 0x45, 0x06));
    EXPECT_TRUE(udp.require_reply);
    EXPECT_EQ(udp.reply_pattern, "0x1x");
    EXPECT_EQ(udp.min_reply_length, 4u);
    EXPECT_EQ(udp.max_reply_length, 512u);
    const auto& dns = std::get<DnsCheck>(checkers[1].detail);
    EXPECT_EQ(dns.type, "AAAA");
    EXPECT_EQ(dns.name, "example.com");
    EXPECT_EQ(checkers[1].timing.retry, 3u);  // keepalived's DNS_CHECK default
    EXPECT_EQ(checkers[1].timing.delay_before_retry, 60s);  // DNS: delay_loop
    const auto& smtp = std::get<SmtpCheck>(checkers[2].detail);
    EXPECT_EQ(smtp.helo_name, "lb.example.com");
    ASSERT_EQ(smtp.hosts.size(), 2u);
    EXPECT_EQ(smtp.hosts[0].connect_ip.str(), "10.0.0.9");
    EXPECT_EQ(smtp.hosts[0].bind_if, "eth1");
    EXPECT_EQ(smtp.hosts[1].connect_ip.str(), "10.0.0.2");
    EXPECT_EQ(smtp.hosts[1].connect_port, 2525);
    const auto& misc = std::get<MiscCheck>(checkers[3].detail);
    EXPECT_EQ(misc.command, "/usr/local/bin/check.sh 10.0.0.2");
    EXPECT_EQ(misc.timeout, 5s);
    EXPECT_TRUE(misc.dynamic);
    EXPECT_EQ(misc.user, "nobody");
    EXPECT_EQ(misc.group, "nogroup");
    EXPECT_EQ(checkers[3].timing.retry, 2u);
    const auto& file = std::get<FileCheck>(checkers[4].detail);
    EXPECT_EQ(file.track_file, "weightfile");
    EXPECT_EQ(file.weight, 3);
    EXPECT_TRUE(file.reverse);
    EXPECT_TRUE(file.dynamic);
}

TEST(VirtualServerGroup, MembersShareTheBody) {
    const Config c = parse(R"(virtual_server group web {
    lb_kind NAT
    sorry_server 192.168.9.9
    sorry_server_inhibit
    quorum 2
    hysteresis 1
    quorum_up "/bin/quorum.sh up"
    quorum_down "/bin/quorum.sh down"
    omega
    ha_suspend
    real_server 192.168.1.10 8080 {
        TCP_CHECK { connect_timeout 2 }
    }
}
virtual_server_group web {
    10.0.0.1-3 80
    10.0.0.10 443
}
)");
    ASSERT_EQ(c.virtual_server_groups.size(), 1u);
    EXPECT_EQ(c.virtual_server_groups[0].members.size(), 4u);
    ASSERT_EQ(c.virtual_servers.size(), 4u);
    EXPECT_EQ(c.virtual_servers[0].addr.str(), "10.0.0.1");
    EXPECT_EQ(c.virtual_servers[2].addr.str(), "10.0.0.3");
    EXPECT_EQ(c.virtual_servers[3].port, 443);
    for (const VirtualServer& vs : c.virtual_servers) {
        EXPECT_EQ(vs.group, "web");
        EXPECT_EQ(vs.mode, Mode::NAT);
        EXPECT_EQ(vs.quorum, 2u);
        EXPECT_EQ(vs.hysteresis, 1u);
        EXPECT_EQ(vs.quorum_up->command, "/bin/quorum.sh up");
        EXPECT_TRUE(vs.omega);
        EXPECT_TRUE(vs.ha_suspend);
        ASSERT_EQ(vs.reals.size(), 1u);
        EXPECT_EQ(vs.reals[0].checkers.at(0).timing.connect_timeout, 2s);
        ASSERT_TRUE(vs.sorry_server);
        EXPECT_EQ(vs.sorry_server->port, vs.port);  // no port given: the virtual server's
        EXPECT_TRUE(vs.sorry_server->inhibit);
    }
}

TEST(Config, InterfacesUsedNamesEveryInterfaceWithItsLine) {
    const Config c = parse(R"(vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    track_interface {
        eth1
    }
    virtual_ipaddress {
        10.0.0.1/24 dev eth2
    }
    virtual_routes {
        10.9.0.0/16 via 10.0.0.254 dev eth3
    }
}
vrrp_sync_group G { group { VI_1 }
    track_interface { bond0 } }
virtual_server 10.0.0.1 80 {
    real_server 10.0.0.2 80 {
        TCP_CHECK {
            bind_if eth4
        }
    }
}
)");
    std::vector<std::string> seen;
    for (const auto& [name, loc] : c.interfaces_used()) seen.push_back(name + "@" + std::to_string(loc.line));
    EXPECT_THAT(seen, ElementsAre("eth0@2", "eth1@5", "eth2@8", "eth3@11", "bond0@15", "eth4@18"));
}

struct BadCase {
    const char* name;
    std::string text;
    const char* error;
};

class BrokenVrrp : public testing::TestWithParam<BadCase> {};

TEST_P(BrokenVrrp, FailsWithFileLineMessage) { EXPECT_EQ(error_of(GetParam().text), GetParam().error); }

const BadCase kBroken[] = {
    {"state_unknown", instance("    state EQUAL\n"), "v.conf:4: state 'EQUAL' is not MASTER or BACKUP"},
    {"interface_alias", instance("    virtual_ipaddress {\n        10.0.0.1/24 dev eth0:1\n    }\n"),
     "v.conf:5: dev 'eth0:1' is not an interface name (no '/', ':' or spaces)"},
    {"smtp_host_unknown",
     "virtual_server 10.0.0.1 25 {\n  real_server 10.0.0.2 25 {\n    SMTP_CHECK {\n      host {\n"
     "        connect_ip 10.0.0.3\n        helo_name x\n      }\n    }\n  }\n}\n",
     "v.conf:6: unknown keyword 'helo_name' in host"},
    {"vrid_zero", instance("    virtual_router_id 0\n"), "v.conf:4: virtual_router_id 0 is out of range 1..255"},
    {"priority_zero", instance("    priority 0\n"), "v.conf:4: priority 0 is out of range 1..255"},
    {"preempt_delay_too_long", instance("    preempt_delay 1001\n"),
     "v.conf:4: preempt_delay 1001 is out of range 0..1000 seconds"},
    {"auth_unknown", instance("    authentication {\n        auth_type MD5\n    }\n"),
     "v.conf:5: auth_type 'MD5' is not PASS or AH"},
    {"auth_pass_missing", instance("    authentication {\n        auth_type PASS\n    }\n"),
     "v.conf:4: authentication: auth_type PASS needs an auth_pass"},
    {"auth_unknown_keyword", instance("    authentication {\n        auth_pas x\n    }\n"),
     "v.conf:5: unknown keyword 'auth_pas' in authentication"},
    {"vip_bad_prefix_text", instance("    virtual_ipaddress {\n        10.0.0.1/x\n    }\n"),
     "v.conf:5: virtual_ipaddress '10.0.0.1/x': the prefix length is not a number"},
    {"vip_option_value_missing", instance("    virtual_ipaddress {\n        10.0.0.1/24 dev\n    }\n"),
     "v.conf:5: virtual_ipaddress 10.0.0.1/24: dev needs a value"},
    {"vip_brd_v6", instance("    virtual_ipaddress {\n        2001:db8::1/64 brd +\n    }\n"),
     "v.conf:5: virtual_ipaddress 2001:db8::1/64: brd is for IPv4 addresses"},
    {"vip_scope_unknown", instance("    virtual_ipaddress {\n        10.0.0.1 scope galaxy\n    }\n"),
     "v.conf:5: virtual_ipaddress 10.0.0.1: scope 'galaxy' is not global, site, link, host, nowhere or 0..255"},
    {"route_no_destination", instance("    virtual_routes {\n        src 10.0.0.1 dev eth0\n    }\n"),
     "v.conf:5: virtual_routes: the route has no destination"},
    {"route_family", instance("    virtual_routes {\n        10.1.0.0/16 via 2001:db8::1\n    }\n"),
     "v.conf:5: virtual_routes 10.1.0.0/16: via 2001:db8::1 is IPv6 but the destination is IPv4"},
    {"route_table_name", instance("    virtual_routes {\n        10.1.0.0/16 dev eth0 table dmz\n    }\n"),
     "v.conf:5: virtual_routes: table 'dmz' is not main, local, default or a number"},
    {"track_weight_missing", instance("    track_interface {\n        eth1 weight\n    }\n"),
     "v.conf:5: track_interface eth1: weight needs a value"},
    {"track_option_unknown", instance("    track_interface {\n        eth1 wieght 5\n    }\n"),
     "v.conf:5: track_interface eth1: unknown option 'wieght'"},
    {"track_file_weight", instance("    track_file {\n        f weight 255\n    }\n"),
     "v.conf:5: weight 255 is out of range -254..254"},
    {"notify_too_many_words", instance("    notify_master /bin/notify.sh MASTER now root\n"),
     "v.conf:4: notify_master takes a command and an optional user and group, got '/bin/notify.sh MASTER now "
     "root' (quote a command that has arguments)"},
    {"use_vmac_two_names", instance("    use_vmac a b\n"),
     "v.conf:4: use_vmac takes an optional interface name, got 'a b'"},
    {"unicast_peer_bad", instance("    unicast_peer {\n        10.0.0.300\n    }\n"),
     "v.conf:5: unicast_peer '10.0.0.300' is not an IP address"},
    {"unicast_src_family",
     instance("    unicast_src_ip 2001:db8::1\n    virtual_ipaddress {\n        10.0.0.1\n    }\n"),
     "v.conf:4: unicast_src_ip 2001:db8::1 is IPv6 but vrrp_instance VI_1 is IPv4"},
    {"version_four", instance("    version 4\n"), "v.conf:4: version 4 is out of range 2..3"},
    {"version2_ipv6", instance("    version 2\n    virtual_ipaddress {\n        2001:db8::1\n    }\n"),
     "v.conf:4: vrrp_instance VI_1: version 2 cannot carry IPv6 addresses (RFC 3768 is IPv4 only); use "
     "version 3"},
    {"no_interface", "vrrp_instance VI_1 {\n    virtual_router_id 1\n}\n",
     "v.conf:1: vrrp_instance VI_1 has no interface (only unicast instances may leave it out)"},
    {"instance_no_name", "vrrp_instance {\n}\n", "v.conf:1: vrrp_instance needs a name"},
    {"instance_twice", instance("") + instance(""),
     "v.conf:5: vrrp_instance VI_1 is already defined at v.conf:1"},
    {"script_no_command", "vrrp_script chk {\n    interval 2\n}\n", "v.conf:1: vrrp_script chk has no script"},
    {"script_one_line_block", "vrrp_script chk { script \"killall -0 haproxy\" interval 2 }\n",
     "v.conf:1: script takes one command: quote all of it or none of it, got 'killall -0 haproxy interval 2'"},
    {"script_weight_range", "vrrp_script chk {\n    script /bin/true\n    weight 254\n}\n",
     "v.conf:3: weight 254 is out of range -253..253"},
    {"script_interval_text", "vrrp_script chk {\n    script /bin/true\n    interval 2s\n}\n",
     "v.conf:3: interval '2s' is not a number of seconds"},
    {"script_rise_zero", "vrrp_script chk {\n    script /bin/true\n    rise 0\n}\n",
     "v.conf:3: rise 0 is out of range 1..1000000"},
    {"script_twice", "vrrp_script chk {\n    script a\n}\nvrrp_script chk {\n    script b\n}\n",
     "v.conf:4: vrrp_script chk is already defined at v.conf:1"},
    {"sync_group_empty", "vrrp_sync_group G {\n    notify /bin/x\n}\n",
     "v.conf:1: vrrp_sync_group G has no group { ... } of instances"},
    {"track_file_no_file", "track_file t {\n    weight 2\n}\n", "v.conf:1: track_file t has no file"},
    {"global_bool", "global_defs {\n    smtp_alert maybe\n}\n",
     "v.conf:2: smtp_alert 'maybe' is not one of on, off, true, false, yes, no"},
    {"global_flag_value", "global_defs {\n    vrrp_strict yes\n}\n", "v.conf:2: vrrp_strict takes no value, got 'yes'"},
    {"global_mcast", "global_defs {\n    vrrp_mcast_group4 10.0.0.1\n}\n",
     "v.conf:2: vrrp_mcast_group4 10.0.0.1 is not an IPv4 multicast address"},
    {"global_priority", "global_defs {\n    vrrp_priority -21\n}\n", "v.conf:2: vrrp_priority -21 is out of range -20..19"},
    {"global_vrrp_version", "global_defs {\n    vrrp_version 1\n}\n", "v.conf:2: vrrp_version 1 is out of range 2..3"},
    {"checker_args", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    TCP_CHECK 3 {\n    }\n  }\n}\n",
     "v.conf:3: TCP_CHECK takes no arguments, got '3'"},
    {"http_no_url", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n    }\n  }\n}\n",
     "v.conf:3: HTTP_GET has no url { ... } to check"},
    {"http_sni_only_ssl",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      enable_sni\n    }\n  }\n}\n",
     "v.conf:4: unknown keyword 'enable_sni' in HTTP_GET"},
    {"status_code_range",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      url {\n        path /\n"
     "        status_code 200-600\n      }\n    }\n  }\n}\n",
     "v.conf:6: status_code 600 is out of range 100..599"},
    {"digest_short",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    HTTP_GET {\n      url {\n        path /\n"
     "        digest abc\n      }\n    }\n  }\n}\n",
     "v.conf:6: digest 'abc' is not an MD5 digest (32 hex digits)"},
    {"misc_no_path", "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n    }\n  }\n}\n",
     "v.conf:3: MISC_CHECK has no misc_path"},
    {"misc_connect_ip",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    MISC_CHECK {\n      misc_path /x\n"
     "      connect_ip 10.0.0.3\n    }\n  }\n}\n",
     "v.conf:5: unknown keyword 'connect_ip' in MISC_CHECK"},
    {"dns_type", "virtual_server 10.0.0.1 53 {\n  real_server 10.0.0.2 53 {\n    DNS_CHECK {\n      type PTR\n    }\n  }\n}\n",
     "v.conf:4: type 'PTR' is not one of A NS CNAME SOA MX TXT AAAA"},
    {"udp_payload_hex", "virtual_server 10.0.0.1 53 {\n  real_server 10.0.0.2 53 {\n    UDP_CHECK {\n      payload zz\n    }\n  }\n}\n",
     "v.conf:4: payload 'zz' is not hex digits"},
    {"check_port_zero", "virtual_server 10.0.0.1 0 {\n  real_server 10.0.0.2 0 {\n    TCP_CHECK {\n    }\n  }\n}\n",
     "v.conf:3: TCP_CHECK needs a connect_port: real_server 10.0.0.2 has port 0"},
    {"file_check_undefined",
     "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    FILE_CHECK {\n      track_file nope\n    }\n  }\n}\n",
     "v.conf:3: FILE_CHECK: no track_file nope is defined"},
    {"sorry_server_bad", "virtual_server 10.0.0.1 80 {\n  sorry_server web 80\n}\n",
     "v.conf:2: sorry_server needs an address and an optional port, got 'web 80'"},
    {"group_range_empty", "virtual_server_group g {\n  10.0.0.5-1 80\n}\n",
     "v.conf:2: virtual_server_group: range '10.0.0.5-1' is empty"},
    {"group_prefix", "virtual_server_group g {\n  10.0.0.0/29 80\n}\n",
     "v.conf:2: virtual_server_group: prefix ranges like 10.0.0.0/29 are not supported (write A.B.C.D-E)"},
    {"group_member_no_port", "virtual_server_group g {\n  10.0.0.1\n}\n",
     "v.conf:2: virtual_server_group g: a member needs an address and a port, got '10.0.0.1'"},
    {"group_fwmark", "virtual_server_group g {\n  fwmark 1\n}\n",
     "v.conf:2: virtual_server_group g: fwmark members are not supported: the XDP program forwards packets "
     "before netfilter marks them; list the addresses and ports the mark stands for (A.B.C.D-E PORT for a "
     "range, port 0 for every port)"},
    {"group_member_twice", "virtual_server_group g {\n  10.0.0.1 80\n  10.0.0.0-2 80\n}\n",
     "v.conf:3: virtual_server_group g: 10.0.0.1 80 is listed twice"},
    {"group_expands_to_duplicate_vs",
     "virtual_server_group g {\n  10.0.0.1 80\n}\nvirtual_server 10.0.0.1 80 {\n}\nvirtual_server group g {\n}\n",
     "v.conf:6: virtual_server 10.0.0.1 80 TCP is already defined at v.conf:4"},
};

INSTANTIATE_TEST_SUITE_P(Table, BrokenVrrp, testing::ValuesIn(kBroken),
                         [](const testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace lbd::config
