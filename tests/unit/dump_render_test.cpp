// render_dump(): the text SIGUSR1 and SIGUSR2 write and `lbctl dump` prints,
// from hand-built engine status and data plane snapshot, in UTC.
#include "ctl/dump.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

namespace lbd::ctl {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNoon = 1'764'936'000'000;  // 2025-12-05 12:00:00 UTC

class DumpRender : public ::testing::Test {
protected:
    void SetUp() override {
        setenv("TZ", "UTC", 1);
        tzset();
    }

    static DumpInput input() {
        DumpInput in;
        in.version = "9.8.7";
        in.instance = "edge";
        in.config_path = "/etc/keepalived/keepalived.conf";
        in.pid = 4242;
        in.now_unix_ms = kNoon + 60'000;
        in.started_unix_ms = kNoon;
        in.reloads.loaded_unix_ms = kNoon;

        vrrp::InstanceStatus vi;
        vi.name = "VI_1";
        vi.state = vrrp::State::MASTER;
        vi.interface = "eth0";
        vi.vrid = 51;
        vi.priority = 150;
        vi.effective_priority = 130;
        vi.master = "192.0.2.2";
        vi.vips = {"192.0.2.100/32", "2001:db8::100/128"};
        vi.since_unix_ms = kNoon + 5'000;
        vi.transitions = 2;
        vi.adverts_sent = 55;
        in.vrrp = {vi};

        dataplane::VipView web;
        inet_pton(AF_INET, "192.0.2.100", &web.key.addr.v4);
        web.key.port = htons(80);
        web.key.proto = IPPROTO_TCP;
        web.key.family = LBD_AF_INET;
        web.meta.mode = LBD_MODE_DR;
        web.meta.ring_size = 65537;
        web.active = true;
        web.counters = {100, 6400, 10};
        dataplane::VipView dns;
        inet_pton(AF_INET6, "2001:db8::100", dns.key.addr.bytes);
        dns.key.port = htons(53);
        dns.key.proto = IPPROTO_UDP;
        dns.key.family = LBD_AF_INET6;
        dns.meta.mode = LBD_MODE_TUN;
        dns.meta.flags = LBD_VIP_F_HASH_SRC;
        dns.meta.ring_size = 251;
        in.dp.vips = {web, dns};
        dataplane::RealView r;
        inet_pton(AF_INET, "192.0.2.11", &r.real.addr.v4);
        r.real.family = LBD_AF_INET;
        r.counters = {60, 3840, 6};
        in.dp.reals = {r};
        in.dp.reasons.assign(LBD_REASON_MAX, 0);
        in.dp.reasons[LBD_R_FWD_TX] = 100;
        in.dp.vrrp_reasons.assign(LBD_VRRP_REASON_MAX, 0);
        in.dp.flow_events.assign(LBD_FE_MAX, 0);
        in.dp.flow_events[LBD_FE_INSERTED] = 12;
        in.flows.counts.entries = 10;
        in.flows.counts.live = 8;
        in.flows.counts.capacity = 1048576;

        check::RealStatus up;
        up.vs = "[192.0.2.100]:tcp:80";
        up.real = "[192.0.2.11]:tcp:80";
        up.weight = up.configured_weight = 1;
        up.last_result = "url /: status code 200";
        up.last_latency_ms = 1.25;
        up.last_check_unix_ms = kNoon + 59'000;
        up.checks = 30;
        check::RealStatus drained = up;
        drained.real = "[192.0.2.12]:tcp:80";
        drained.drained = true;
        drained.weight = 0;
        check::RealStatus down = up;
        down.real = "[192.0.2.13]:tcp:80";
        down.up = false;
        down.last_result = "connect: Connection refused";
        down.failures = 3;
        in.reals = {up, drained, down};
        return in;
    }

    static std::vector<std::string> lines(const std::string& text) {
        std::vector<std::string> out;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }
};

TEST_F(DumpRender, DataNamesInstancesAddressesServicesAndReals) {
    const auto l = lines(render_dump(input(), Dump::data));
    ASSERT_FALSE(l.empty());
    EXPECT_EQ(l[0], "lbd 9.8.7 data, instance edge, pid 4242, at 2025-12-05 12:01:00");
    for (const char* want : {
             " Configuration file = /etc/keepalived/keepalived.conf",
             " Last reload = none since start-up",
             "------< VRRP instances >------",
             " VRRP Instance = VI_1",
             "   State = MASTER since 2025-12-05 12:00:05",
             "   Interface = eth0",
             "   Virtual Router ID = 51",
             "   Priority = 150, effective 130",
             "   Master = 192.0.2.2",
             "   Virtual IP addresses = 2",
             "     192.0.2.100/32",
             "     2001:db8::100/128",
             "------< Virtual servers >------",
             " Virtual server = [192.0.2.100]:tcp:80",
             "   Forwarding = DR, active here",
             "   Hash = 5-tuple",
             "   Real servers = 3, 1 serving",
             "     [192.0.2.11]:tcp:80 = up, weight 1",
             "       Last check = url /: status code 200",
             "     [192.0.2.12]:tcp:80 = drained, weight 0 (configured 1)",
             "     [192.0.2.13]:tcp:80 = down, weight 1",
             "       Last check = connect: Connection refused",
             " Virtual server = [2001:db8::100]:udp:53",
             "   Forwarding = TUN, not active here",
             "   Hash = source address",
             "   Real servers = 0, 0 serving",
         })
        EXPECT_THAT(l, Contains(want));
    // Counters are the statistics' part.
    EXPECT_THAT(render_dump(input(), Dump::data), Not(HasSubstr("Adverts sent")));
}

TEST_F(DumpRender, DataSaysWhatBecameOfTheLastReload) {
    DumpInput in = input();
    in.reloads.last_unix_ms = kNoon + 30'000;
    in.reloads.last_applied = false;
    in.reloads.last_error = "/etc/keepalived/keepalived.conf:7: unknown keyword 'lb_kinds'";
    EXPECT_THAT(lines(render_dump(in, Dump::data)),
                Contains(" Last reload = 2025-12-05 12:00:30, FAILED: "
                         "/etc/keepalived/keepalived.conf:7: unknown keyword 'lb_kinds'"));
    in.reloads.last_applied = true;
    EXPECT_THAT(lines(render_dump(in, Dump::data)), Contains(" Last reload = 2025-12-05 12:00:30, applied"));
}

TEST_F(DumpRender, StatsCountEverything) {
    DumpInput in = input();
    in.reloads.applied = 2;
    in.reloads.failed = 1;
    const auto l = lines(render_dump(in, Dump::stats));
    ASSERT_FALSE(l.empty());
    EXPECT_EQ(l[0], "lbd 9.8.7 statistics, instance edge, pid 4242, at 2025-12-05 12:01:00");
    for (const char* want : {
             " Reloads = 2 applied, 1 failed",
             " VRRP Instance = VI_1",
             "   Transitions = 2",
             "   Adverts sent = 55",
             "   rx_queued = 0",
             "   fwd_tx = 100",
             "   drop_no_real = 0",
             "   Entries = 10 of 1048576, 8 keeping a flow on its real",
             "   Flood guard = idle",
             "   inserted = 12",
             " Virtual server = [192.0.2.100]:tcp:80",
             "   Packets = 100, bytes = 6400, new flows = 10",
             " Real server = 192.0.2.11",
             "   Packets = 60, bytes = 3840, new flows = 6",
             " [192.0.2.13]:tcp:80 in [192.0.2.100]:tcp:80",
             "   Checks = 30, failed = 3",
             "   Last check = 2025-12-05 12:00:59, 1.2 ms: connect: Connection refused",
         })
        EXPECT_THAT(l, Contains(want));
}

TEST_F(DumpRender, NothingConfiguredSaysSo) {
    DumpInput in;
    in.version = "1";
    const auto l = lines(render_dump(in, Dump::data));
    EXPECT_EQ(std::count(l.begin(), l.end(), " none"), 2);
}

TEST(DumpPath, IsTheInstancesUnderRunLbd) {
    EXPECT_EQ(dump_path("edge", Dump::data), "/run/lbd/edge.data");
    EXPECT_EQ(dump_path("edge", Dump::stats), "/run/lbd/edge.stats");
}

}  // namespace
}  // namespace lbd::ctl
