// vrrp::Tracking: which tracked object moves which instance, with the
// weights keepalived resolves from a real keepalived.conf text.
#include "config/load.h"
#include "vrrp/tracking.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace lbd::vrrp {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kConfig = R"(
vrrp_script chk_nginx {
    script "/bin/true"
    weight -30
}
vrrp_script chk_up {
    script "/bin/true"
    weight 10
    init_fail
}
track_file state_file {
    file /tmp/lbd-state
    weight 5
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    track_script {
        chk_nginx
        chk_up weight 20
    }
    track_interface {
        eth1 weight -40
    }
    track_file {
        state_file
    }
    virtual_ipaddress { 10.0.0.100 }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 200
    dont_track_primary
    virtual_ipaddress { 10.0.0.101 }
}
vrrp_sync_group G1 {
    group { VI_1 VI_2 }
    track_script { chk_nginx }
}
)";

class TrackingTest : public ::testing::Test {
protected:
    config::Config cfg = config::parse_string(kConfig, "t.conf");
    Tracking t{cfg};
};

TEST_F(TrackingTest, InterfacesOfEntriesAndOwnInterface) {
    // VI_2 says dont_track_primary; VI_1 tracks its own eth0 too.
    EXPECT_THAT(t.interfaces(), ElementsAre("eth0", "eth1"));
}

TEST_F(TrackingTest, ScriptWeightsFromScriptOrEntry) {
    // chk_nginx unknown, chk_up down (init_fail, +20 counts only while up),
    // eth1 up (-40 counts only while down), file 0.
    EXPECT_EQ(t.effective_priority(0, 100), 100);
    EXPECT_THAT(t.set_script("chk_up", Status::up), ElementsAre(0));
    EXPECT_EQ(t.effective_priority(0, 100), 120);  // the entry's weight, not the script's 10
    // chk_nginx: VI_1 with its own -30, and VI_2 through the group with weight 0.
    EXPECT_THAT(t.set_script("chk_nginx", Status::down), ElementsAre(0, 1));
    EXPECT_EQ(t.effective_priority(0, 100), 90);
    EXPECT_TRUE(t.fault(0));  // the group's weight-0 entry of chk_nginx applies to VI_1 as well
    EXPECT_TRUE(t.fault(1));
    EXPECT_THAT(t.set_script("chk_nginx", Status::down), IsEmpty());  // no change, nobody to re-evaluate
    EXPECT_THAT(t.set_script("chk_nginx", Status::up), ElementsAre(0, 1));
    EXPECT_FALSE(t.fault(0));
    EXPECT_FALSE(t.fault(1));
}

TEST_F(TrackingTest, InterfaceWeightAndOwnInterfaceFault) {
    EXPECT_THAT(t.set_interface("eth1", false), ElementsAre(0));
    EXPECT_EQ(t.effective_priority(0, 100), 60);
    EXPECT_FALSE(t.fault(0));
    EXPECT_THAT(t.set_interface("eth0", false), ElementsAre(0));  // VI_2 does not track eth0
    EXPECT_TRUE(t.fault(0));
    EXPECT_FALSE(t.fault(1));
    EXPECT_THAT(t.set_interface("eth9", false), IsEmpty());
}

TEST_F(TrackingTest, FileValueTimesWeight) {
    EXPECT_THAT(t.set_file("state_file", 3), ElementsAre(0));
    EXPECT_EQ(t.effective_priority(0, 100), 115);
    EXPECT_THAT(t.set_file("state_file", -100), ElementsAre(0));
    EXPECT_TRUE(t.fault(0));  // -500, at or below -254
}

TEST_F(TrackingTest, OwnerPriorityIsNotMoved) {
    EXPECT_THAT(t.set_interface("eth1", false), ElementsAre(0));
    EXPECT_EQ(t.effective_priority(0, 255), 255);
}

TEST(TrackingWeighted, SyncGroupWeightsCountWithSyncGroupTrackingWeight) {
    config::Config cfg = config::parse_string(R"(
vrrp_script chk {
    script "/bin/true"
    weight -50
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress { 10.0.0.100 }
}
vrrp_sync_group G1 {
    group { VI_1 }
    track_script { chk }
    sync_group_tracking_weight
}
)",
                                              "w.conf");
    Tracking t(cfg);
    t.set_script("chk", Status::down);
    EXPECT_EQ(t.effective_priority(0, 100), 50);
    EXPECT_FALSE(t.fault(0));
}

}  // namespace
}  // namespace lbd::vrrp
