// Which VIPs this node announces (docs/scale-out.md), from what the health
// checkers, VRRP and the operator say; pure, so that every rule has a unit
// test. A VIP address is announced while
// - some virtual_server of that address has its quorum (check/pool.h; with
//   keepalived's default quorum of 1, while one of its reals is up with a
//   weight),
// - the vrrp_instance that floats the address, if one does, is MASTER here
//   (VRRP and BGP combined: only the master attracts the traffic),
// - and the node is not drained (lbctl drain-node).
#pragma once

#include "config/model.h"
#include "util/ip_addr.h"

#include <compare>
#include <cstdint>
#include <map>
#include <set>
#include <string_view>
#include <vector>

namespace lbd::announce {

// Why a VIP is or is not in the table; when several reasons hold, the first
// of drained, not_master, no_quorum is given.
enum class Verdict { announced, drained, not_master, no_quorum };
std::string_view to_string(Verdict v);

struct ServiceKey {
    IpAddr addr;
    uint16_t port = 0;
    config::Proto proto = config::Proto::TCP;
    auto operator<=>(const ServiceKey&) const = default;
};
ServiceKey key_of(const config::VirtualServer& vs);

class Selection {
public:
    // The virtual servers and the addresses vrrp_instances float, from a
    // configuration. A service has no quorum until set_quorum() says so.
    void configure(const std::vector<config::VirtualServer>& services, std::set<IpAddr> floated);
    // Kept for a service the configuration does not have (yet): a reload's
    // checkers may report before the new configuration arrives, and a failed
    // reload goes back to services the running checkers told of long ago.
    void set_quorum(const ServiceKey& service, bool quorum) { quorum_[service] = quorum; }
    // What VRRP says of an address: MASTER here, or not.
    void set_master(const IpAddr& addr, bool master);
    void set_drained(bool drained) { drained_ = drained; }
    bool drained() const { return drained_; }

    // Every VIP address of the services, with its verdict.
    std::map<IpAddr, Verdict> verdicts() const;
    std::set<IpAddr> announced() const;

private:
    std::set<ServiceKey> services_;
    std::map<ServiceKey, bool> quorum_;
    std::set<IpAddr> floated_;
    std::set<IpAddr> masters_;
    bool drained_ = false;
};

}  // namespace lbd::announce
