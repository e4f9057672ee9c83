// announce::Selection: which VIPs a node announces, rule by rule
// (docs/scale-out.md): a quorum of one of the address's services, MASTER
// where VRRP floats the address, and not drained.
#include "announce/selection.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace lbd::announce {
namespace {

IpAddr ip(const char* text) { return *IpAddr::parse(text); }

config::VirtualServer vs(const char* addr, uint16_t port, config::Proto proto = config::Proto::TCP) {
    config::VirtualServer v;
    v.addr = ip(addr);
    v.port = port;
    v.proto = proto;
    return v;
}

std::map<std::string, std::string> verdicts(const Selection& s) {
    std::map<std::string, std::string> out;
    for (const auto& [addr, v] : s.verdicts()) out[addr.str()] = std::string(to_string(v));
    return out;
}

using Verdicts = std::map<std::string, std::string>;

TEST(AnnounceSelection, NothingWithoutAQuorumToldYet) {
    Selection s;
    s.configure({vs("10.0.0.1", 80)}, {});
    EXPECT_EQ(verdicts(s), (Verdicts{{"10.0.0.1", "no_quorum"}}));
    EXPECT_TRUE(s.announced().empty());
}

TEST(AnnounceSelection, AnAddressWithOneServiceInQuorumIsAnnounced) {
    Selection s;
    s.configure({vs("10.0.0.1", 80), vs("10.0.0.1", 443), vs("2001:db8::1", 80)}, {});
    s.set_quorum(key_of(vs("10.0.0.1", 443)), true);
    EXPECT_EQ(verdicts(s), (Verdicts{{"10.0.0.1", "announced"}, {"2001:db8::1", "no_quorum"}}));
    s.set_quorum(key_of(vs("2001:db8::1", 80)), true);
    s.set_quorum(key_of(vs("10.0.0.1", 443)), false);
    EXPECT_EQ(verdicts(s), (Verdicts{{"10.0.0.1", "no_quorum"}, {"2001:db8::1", "announced"}}));
}

TEST(AnnounceSelection, ServicesAreToldApartByPortAndProtocol) {
    Selection s;
    s.configure({vs("10.0.0.1", 53, config::Proto::UDP)}, {});
    s.set_quorum(key_of(vs("10.0.0.1", 53, config::Proto::TCP)), true);
    s.set_quorum(key_of(vs("10.0.0.1", 54, config::Proto::UDP)), true);
    EXPECT_TRUE(s.announced().empty());
}

TEST(AnnounceSelection, AFloatedAddressOnlyWhileMaster) {
    Selection s;
    s.configure({vs("10.0.0.1", 80), vs("10.0.0.2", 80)}, {ip("10.0.0.1")});
    s.set_quorum(key_of(vs("10.0.0.1", 80)), true);
    s.set_quorum(key_of(vs("10.0.0.2", 80)), true);
    EXPECT_EQ(verdicts(s), (Verdicts{{"10.0.0.1", "not_master"}, {"10.0.0.2", "announced"}}));
    s.set_master(ip("10.0.0.1"), true);
    EXPECT_EQ(s.announced(), (std::set<IpAddr>{ip("10.0.0.1"), ip("10.0.0.2")}));
    s.set_master(ip("10.0.0.1"), false);
    EXPECT_EQ(s.announced(), std::set<IpAddr>{ip("10.0.0.2")});
}

TEST(AnnounceSelection, DrainedWithdrawsEverythingAndSaysSoFirst) {
    Selection s;
    s.configure({vs("10.0.0.1", 80), vs("10.0.0.2", 80)}, {ip("10.0.0.2")});
    s.set_quorum(key_of(vs("10.0.0.1", 80)), true);
    s.set_drained(true);
    EXPECT_EQ(verdicts(s), (Verdicts{{"10.0.0.1", "drained"}, {"10.0.0.2", "drained"}}));
    s.set_drained(false);
    EXPECT_EQ(verdicts(s), (Verdicts{{"10.0.0.1", "announced"}, {"10.0.0.2", "not_master"}}));
}

// A reload's checkers may say it before the new configuration arrives, and
// a failed reload goes back to services told of long before.
TEST(AnnounceSelection, AQuorumToldOfAServiceNotConfiguredIsKept) {
    Selection s;
    s.configure({vs("10.0.0.1", 80)}, {});
    s.set_quorum(key_of(vs("10.0.0.1", 80)), true);
    s.set_quorum(key_of(vs("10.0.0.9", 80)), true);
    EXPECT_EQ(s.announced(), std::set<IpAddr>{ip("10.0.0.1")});
    s.configure({vs("10.0.0.9", 80)}, {});
    EXPECT_EQ(s.announced(), std::set<IpAddr>{ip("10.0.0.9")});
    s.configure({vs("10.0.0.1", 80)}, {});
    EXPECT_EQ(s.announced(), std::set<IpAddr>{ip("10.0.0.1")});
}

TEST(AnnounceSelection, MastershipOutlivesAReloadThatStopsFloatingTheAddress) {
    Selection s;
    s.configure({vs("10.0.0.1", 80)}, {ip("10.0.0.1")});
    s.set_quorum(key_of(vs("10.0.0.1", 80)), true);
    s.configure({vs("10.0.0.1", 80)}, {});
    EXPECT_EQ(s.announced(), std::set<IpAddr>{ip("10.0.0.1")});
}

}  // namespace
}  // namespace lbd::announce
