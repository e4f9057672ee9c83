// Addresses, routes and rules through rtnetlink with libnl-route-3: what
// keepalived adds on becoming MASTER and deletes on leaving it
// (virtual_ipaddress, virtual_ipaddress_excluded, virtual_routes,
// virtual_rules), and the static_* ones it holds from start to stop.
//
// Choices, keepalived's unless said otherwise:
// - IPv6 addresses get IFA_F_NODAD: VRRP is the duplicate detection, and a
//   split brain must not leave the VIP "dadfailed" for good. keepalived's
//   `-nodad` (VirtualAddress::nodad: the parser reads `-nodad` and `nodad`
//   alike) turns that off, so DAD runs.
// - An IPv6 /128 without preferred_lft is added deprecated (preferred_lft 0,
//   valid forever) so it is never picked as a source address. preferred_lft
//   is for IPv6 only: the kernel never ages an IPv4 address valid forever.
// - Label, scope and broadcast are IPv4 only, as in keepalived; the kernel
//   would ignore them for IPv6.
// - peer sets the prefix length (keepalived: "peer ADDR/LEN"); libnl refuses
//   IPv6 peers, so the peer goes into the request libnl built.
// - Routes carry protocol 18 ("keepalived") unless `proto` says otherwise,
//   so `ip route` shows who owns them; `or GW2` makes a two-way multipath
//   route. Remove deletes with the same template add used, so it matches
//   only the route add made.
// - default_ifindex goes to addresses without `dev`, and to unicast routes
//   with neither `via` nor `dev` (the kernel needs a device); a route with a
//   gateway and no dev leaves the choice of device to the kernel, as
//   `ip route add ... via GW` does.
// - Rules carry protocol 18 too unless `protocol` says otherwise (vrrp/ip_rules.h).
// - Idempotent both ways: add finding the address, route or rule there
//   (EEXIST), remove not finding it, or not finding its device, is success.
#pragma once

#include "config/model_vrrp.h"
#include "net/netlink.h"
#include "vrrp/addresses.h"

#include <optional>
#include <string>
#include <vector>

namespace lbd::vrrp {

class AddressManager : public Addresses {
public:
    AddressManager();  // throws std::runtime_error when netlink is unavailable
    AddressManager(const AddressManager&) = delete;
    AddressManager& operator=(const AddressManager&) = delete;

    std::vector<std::string> add(const std::vector<config::VirtualAddress>& addrs, int default_ifindex) override;
    std::vector<std::string> remove(const std::vector<config::VirtualAddress>& addrs, int default_ifindex) override;
    std::vector<std::string> add_routes(const std::vector<config::VirtualRoute>& routes,
                                        int default_ifindex) override;
    std::vector<std::string> remove_routes(const std::vector<config::VirtualRoute>& routes,
                                           int default_ifindex) override;
    std::vector<std::string> add_rules(const std::vector<config::IpRule>& rules) override;
    std::vector<std::string> remove_rules(const std::vector<config::IpRule>& rules) override;

private:
    // Sends msg (freed) and waits for the kernel's answer: 0 or its errno.
    // Throws when no answer came.
    int talk(nl_msg* msg);

    netlink::SockPtr sock_;
    int kernel_errno_ = 0;  // libnl folds many errnos into "Unspecific failure"
};

// The advert source when the config gives none: IPv4, the interface's
// primary address (the first that is not secondary); IPv6, its link-local
// address (RFC 5798 5.1.2.1), skipping one that failed DAD. A tentative
// link-local is returned: it is the address adverts will use once DAD ends.
// Throws std::runtime_error when netlink fails.
std::optional<IpAddr> primary_address(int ifindex, int family);

// /proc/sys/net/ipv6/conf/<ifname>/forwarding: keepalived sets the NA Router
// flag from it. False when unreadable (no IPv6, no such interface).
bool ipv6_forwarding(const std::string& ifname);

}  // namespace lbd::vrrp
