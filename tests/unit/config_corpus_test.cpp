// Real-world-style keepalived.conf files (tests/config/good) must load, with
// exactly the warnings their `! warning: FILE:LINE: ...` comments list; the
// broken ones (tests/config/bad) must fail with the message of their first
// line, `! expect: FILE:LINE: ...`. Some good files are also checked in detail.
#include "config/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

namespace lbd::config {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::ElementsAre;

const fs::path kCorpus = LBD_CONFIG_CORPUS;
// The config id (lbd -i) the corpus files' conditional lines are written for.
const std::string kConfigId = "lb1";

std::vector<std::string> conf_files(const std::string& sub) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(kCorpus / sub))
        if (entry.path().extension() == ".conf") names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// The text after `! TAG: ` on every line that has it, in order.
std::vector<std::string> annotations(const fs::path& path, std::string_view tag) {
    const std::string prefix = "! " + std::string(tag) + ": ";
    std::vector<std::string> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        const size_t at = line.find(prefix);
        if (at != std::string::npos && line.find_first_not_of(" \t") == at) out.push_back(line.substr(at + prefix.size()));
    }
    return out;
}

// Messages name the file as it was opened, with the corpus directory: put
// it before every "NAME:" of the annotations.
std::vector<std::string> in_dir(const std::string& sub, const std::string& name, std::vector<std::string> messages) {
    const std::string bare = name + ":";
    const std::string full = (kCorpus / sub / name).string() + ":";
    for (std::string& m : messages)
        for (size_t at = m.find(bare); at != std::string::npos; at = m.find(bare, at + 1)) {
            if (at != 0 && m[at - 1] != ' ' && m[at - 1] != '(') continue;
            m.replace(at, bare.size(), full);
            at += full.size() - 1;
        }
    return messages;
}

Config load_good(const std::string& name) { return load((kCorpus / "good" / name).string(), kConfigId); }

std::string test_name(const testing::TestParamInfo<std::string>& info) {
    std::string name = info.param.substr(0, info.param.size() - 5);
    std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

TEST(Corpus, IsLargeEnough) {
    EXPECT_GE(conf_files("good").size(), 8u);
    EXPECT_GE(conf_files("bad").size(), 25u);
}

class GoodConf : public testing::TestWithParam<std::string> {};

TEST_P(GoodConf, LoadsWithTheListedWarnings) {
    const fs::path path = kCorpus / "good" / GetParam();
    Config c;
    try {
        c = load(path.string(), kConfigId);
    } catch (const ConfigError& e) {
        FAIL() << e.what();
    }
    EXPECT_EQ(c.warnings, in_dir("good", GetParam(), annotations(path, "warning")));
    EXPECT_FALSE(c.vrrp_instances.empty() && c.virtual_servers.empty()) << "the file configures nothing";
}

INSTANTIATE_TEST_SUITE_P(Corpus, GoodConf, testing::ValuesIn(conf_files("good")), test_name);

class BadConf : public testing::TestWithParam<std::string> {};

TEST_P(BadConf, FailsWithTheExpectedMessage) {
    const fs::path path = kCorpus / "bad" / GetParam();
    const std::vector<std::string> expect = annotations(path, "expect");
    ASSERT_EQ(expect.size(), 1u) << "a broken file has exactly one '! expect:' line";
    // The expectation names this very file: a copied file cannot pass on its source's message.
    ASSERT_EQ(expect[0].rfind(GetParam() + ":", 0), 0u) << expect[0];
    try {
        load(path.string(), kConfigId);
        FAIL() << GetParam() << " was accepted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.what(), in_dir("bad", GetParam(), expect)[0]);
    }
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadConf, testing::ValuesIn(conf_files("bad")), test_name);

TEST(GoodCorpus, NginxHaPair) {
    const Config c = load_good("nginx_ha_pair.conf");
    EXPECT_EQ(c.global.router_id, "LB1_NGINX");
    EXPECT_THAT(c.global.notification_email, ElementsAre("ops@example.com", "oncall@example.com"));
    EXPECT_EQ(c.global.smtp_server->port, 25);
    ASSERT_EQ(c.vrrp_scripts.size(), 1u);
    EXPECT_EQ(c.vrrp_scripts[0].command, "/usr/bin/pgrep -x nginx");
    EXPECT_EQ(c.vrrp_scripts[0].weight, -50);
    EXPECT_EQ(c.vrrp_scripts[0].fall, 2u);
    ASSERT_EQ(c.vrrp_instances.size(), 1u);
    const VrrpInstance& v = c.vrrp_instances[0];
    EXPECT_EQ(v.initial_state, VrrpState::MASTER);
    EXPECT_EQ(v.priority, 150);
    EXPECT_EQ(v.auth_pass, "nginx51");
    EXPECT_EQ(v.virtual_addresses.at(0).label, "eth0:vip");
    EXPECT_EQ(v.notify.master->command, "/etc/keepalived/notify.sh MASTER");
    EXPECT_EQ(v.notify.stop->command, "/etc/keepalived/stop.sh");
    EXPECT_EQ(v.track_scripts.at(0).name, "chk_nginx");
    EXPECT_TRUE(v.skip_check_adv_addr);  // from global_defs
}

TEST(GoodCorpus, LvsDrHttpGet) {
    const Config c = load_good("lvs_dr_http_get.conf");
    const VirtualServer& vs = c.virtual_servers.at(0);
    EXPECT_EQ(vs.mode, Mode::DR);
    EXPECT_TRUE(vs.hash_source);  // persistence
    EXPECT_EQ(vs.sorry_server->addr.str(), "203.0.113.99");
    EXPECT_EQ(vs.virtualhost, "www.example.com");
    ASSERT_EQ(vs.reals.size(), 2u);
    const auto& urls = std::get<HttpCheck>(vs.reals[0].checkers.at(0).detail).urls;
    ASSERT_EQ(urls.size(), 2u);
    EXPECT_EQ(urls[0].virtualhost, "www.example.com");
    EXPECT_EQ(urls[1].digest, "640205b7b0fc66c1ea91c463fac6334d");
    EXPECT_EQ(vs.reals[1].checkers.at(0).timing.retry, 3u);  // nb_get_retry
    EXPECT_TRUE(vs.reals[0].checkers.at(0).timing.alpha);   // the virtual server's alpha
    EXPECT_FALSE(c.vrrp_instances.at(0).preempt);
}

TEST(GoodCorpus, LvsNatTcpCheck) {
    const Config c = load_good("lvs_nat_tcp_check.conf");
    ASSERT_EQ(c.virtual_servers.size(), 2u);
    EXPECT_EQ(c.virtual_servers[0].mode, Mode::NAT);
    EXPECT_EQ(c.virtual_servers[0].reals.at(1).checkers.at(0).target.connect_port, 8080);
    EXPECT_EQ(c.virtual_servers[1].proto, Proto::UDP);
    ASSERT_EQ(c.vrrp_sync_groups.size(), 1u);
    EXPECT_EQ(c.vrrp_sync_groups[0].members.size(), 2u);
    EXPECT_EQ(std::get<DnsCheck>(c.virtual_servers[1].reals.at(0).checkers.at(0).detail).name, "www.example.com");
}

TEST(GoodCorpus, SyncGroupTrackInterface) {
    const Config c = load_good("sync_group_track_interface.conf");
    EXPECT_EQ(c.vrrp_sync_groups.at(0).track_interfaces.size(), 2u);
    const VrrpInstance& out = c.vrrp_instances.at(0);
    EXPECT_EQ(out.garp_master_delay, 1s);  // global_defs
    EXPECT_EQ(out.garp_master_repeat, 3u);
    EXPECT_EQ(out.track_interfaces.at(1).weight, -20);
    EXPECT_EQ(out.virtual_routes.at(0).dest.str(), "0.0.0.0/0");
    std::vector<std::string> names;
    for (const auto& [name, loc] : c.interfaces_used()) names.push_back(name);
    EXPECT_THAT(names, ElementsAre("eth0", "eth0", "eth2", "eth0", "eth0", "eth1", "eth1", "eth0", "eth1"));
}

TEST(GoodCorpus, UnicastPeers) {
    const Config c = load_good("unicast_peers.conf");
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_EQ(v.unicast_src_ip->str(), "172.31.10.11");
    ASSERT_EQ(v.unicast_peers.size(), 2u);
    EXPECT_EQ(v.unicast_peers[1].addr.str(), "172.31.10.13");
    EXPECT_EQ(v.notify_fifo->command, "/run/keepalived/vi_cloud.fifo");
}

TEST(GoodCorpus, Ipv6VrrpV3) {
    const Config c = load_good("ipv6_vrrpv3.conf");
    ASSERT_EQ(c.vrrp_instances.size(), 2u);
    EXPECT_EQ(c.vrrp_instances[0].family, AF_INET6);
    EXPECT_EQ(c.vrrp_instances[0].version, 3);
    EXPECT_EQ(c.vrrp_instances[0].advert_int_cs, 50u);
    EXPECT_EQ(c.vrrp_instances[0].excluded_addresses.at(0).prefix.addr.family, AF_INET);
    EXPECT_EQ(c.vrrp_instances[1].family, AF_INET);
    EXPECT_EQ(c.vrrp_instances[1].version, 3);  // global vrrp_version
    EXPECT_EQ(c.vrrp_instances[1].advert_int_cs, 10u);
}

TEST(GoodCorpus, HaproxyPairOppositeRoles) {
    const Config c = load_good("haproxy_pair_two_instances.conf");
    ASSERT_EQ(c.vrrp_instances.size(), 2u);
    EXPECT_EQ(c.vrrp_instances[0].initial_state, VrrpState::MASTER);
    EXPECT_EQ(c.vrrp_instances[1].initial_state, VrrpState::BACKUP);
    EXPECT_EQ(c.vrrp_instances[0].track_scripts.at(0).weight, std::nullopt);  // the script's own: 2
    EXPECT_EQ(c.vrrp_instances[1].track_scripts.at(0).weight, 5);
    EXPECT_EQ(c.vrrp_scripts.at(0).weight, 2);
}

TEST(GoodCorpus, VirtualServerGroupSslMisc) {
    const Config c = load_good("vs_group_ssl_misc.conf");
    ASSERT_EQ(c.virtual_servers.size(), 6u);  // 5 HTTPS members and 1 API
    EXPECT_EQ(c.virtual_servers[1].addr.str(), "192.0.2.20");
    EXPECT_EQ(c.virtual_servers[3].addr.str(), "192.0.2.22");
    EXPECT_EQ(c.virtual_servers[4].addr.family, AF_INET6);
    EXPECT_EQ(c.virtual_servers[5].group, "API");
    EXPECT_EQ(c.virtual_servers[0].reals.at(0).checkers.at(0).type, CheckerType::SSL_GET);
    const auto& misc = std::get<MiscCheck>(c.virtual_servers[5].reals.at(0).checkers.at(0).detail);
    EXPECT_EQ(misc.command, "/etc/keepalived/check_api.sh 198.51.100.31 8443");
    EXPECT_TRUE(misc.dynamic);
}

TEST(GoodCorpus, RoutesFilesUdp) {
    const Config c = load_good("routes_files_udp.conf");
    ASSERT_EQ(c.track_files.size(), 2u);
    EXPECT_EQ(c.track_files[0].weight, -100);
    EXPECT_EQ(c.track_files[1].name, "prio_adjust");
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_EQ(v.virtual_routes.at(1).type, RouteType::blackhole);
    EXPECT_EQ(v.track_files.at(0).weight, 0);
    const auto& checkers = c.virtual_servers.at(0).reals.at(0).checkers;
    EXPECT_EQ(std::get<UdpCheck>(checkers.at(0).detail).payload.size(), 8u);
    EXPECT_EQ(std::get<FileCheck>(checkers.at(1).detail).track_file, "maintenance");
}

TEST(GoodCorpus, PolicyRoutingPairReadAsLb1) {
    const Config c = load_good("policy_routing_pair.conf");
    EXPECT_EQ(c.global.router_id, "uplink-lb1");
    ASSERT_EQ(c.static_addresses.size(), 1u);
    EXPECT_EQ(c.static_addresses[0].prefix.str(), "192.168.50.11/24");
    EXPECT_EQ(c.static_addresses[0].dev, "eth2");
    EXPECT_EQ(c.static_routes.at(0).via->str(), "192.168.50.1");
    ASSERT_EQ(c.static_rules.size(), 3u);
    EXPECT_EQ(c.static_rules[1].iif, "eth2");
    EXPECT_EQ(c.static_rules[1].fwmark, 0x10u);
    EXPECT_EQ(c.static_rules[2].priority, 16384u);
    const VrrpInstance& v = c.vrrp_instances.at(0);
    EXPECT_EQ(v.priority, 150);
    ASSERT_EQ(v.unicast_peers.size(), 1u);
    EXPECT_EQ(v.unicast_peers[0].addr.str(), "10.60.0.12");
    ASSERT_EQ(v.virtual_rules.size(), 2u);
    EXPECT_EQ(v.virtual_rules[1].to->str(), "10.61.0.0/16");
}

}  // namespace
}  // namespace lbd::config
