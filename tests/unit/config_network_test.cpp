// The host-network part of keepalived.conf: static_ipaddress, static_routes,
// static_rules, virtual_rules, default_interface, net_namespace, and the
// sync group members keepalived's own sample writes outside `group { }`.
#include "config/load.h"
#include "config_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <string>
#include <utility>

namespace lbd::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

Config parse(std::string_view text) { return parse_string(text, "n.conf"); }

std::string error_of(std::string_view text) { return test::error_of(text, "n.conf"); }

TEST(LvsSyncDaemon, AcceptedWithNoEffectWhenWellFormed) {
    const Config c = parse(R"(global_defs {
    lvs_sync_daemon eth1 VI_1 id 5 maxlen 1400 port 8848 ttl 2 group 224.0.0.81
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 1
    lvs_sync_daemon_interface eth1
}
)");
    EXPECT_THAT(c.warnings, IsEmpty());
    EXPECT_EQ(parse("global_defs {\n lvs_sync_daemon eth1 inst VI_1\n}\n").warnings.size(), 0u);
    EXPECT_EQ(error_of("global_defs {\n lvs_sync_daemon eth1 VI_1 ttl 0\n}\n"),
              "n.conf:2: lvs_sync_daemon ttl 0 is out of range 1..255");
    EXPECT_EQ(error_of("global_defs {\n lvs_sync_daemon eth1 VI_1 VI_2\n}\n"),
              "n.conf:2: lvs_sync_daemon: unknown option 'VI_2'");
    EXPECT_EQ(error_of("global_defs {\n lvs_sync_daemon eth1 group\n}\n"),
              "n.conf:2: lvs_sync_daemon: group needs a value");
}

// keepalived's keepalived.conf.vrrp.lvs_syncd writes the members bare.
TEST(VrrpSyncGroup, BareInstanceNamesAreMembersWithAWarning) {
    const Config c = parse(R"(vrrp_sync_group VG1 {
  VI_2
  VI_3
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
}
vrrp_instance VI_3 {
    interface eth1
    virtual_router_id 53
}
)");
    const auto& members = c.vrrp_sync_groups.at(0).members;
    ASSERT_EQ(members.size(), 2u);
    EXPECT_EQ(members[0].instance, "VI_2");
    EXPECT_EQ(members[1].instance, "VI_3");
    EXPECT_EQ(members[1].loc.line, 3);
    EXPECT_THAT(c.warnings, ElementsAre("n.conf:2: vrrp_sync_group VG1: VI_2 is read as a member, as if in group "
                                        "{ ... }; keepalived reads members only there and reports this line as an "
                                        "unknown keyword",
                                        "n.conf:3: vrrp_sync_group VG1: VI_3 is read as a member, as if in group "
                                        "{ ... }; keepalived reads members only there and reports this line as an "
                                        "unknown keyword"));
}

TEST(VrrpSyncGroup, ABareWordThatNamesNoInstanceIsAnUnknownKeyword) {
    EXPECT_EQ(error_of("vrrp_sync_group VG1 {\n  group { VI_1 }\n  sync_group_tracking_weigth\n}\n"
                       "vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 1\n}\n"),
              "n.conf:3: unknown keyword 'sync_group_tracking_weigth' in vrrp_sync_group");
}

}  // namespace
}  // namespace lbd::config
