// keepalived's use_vmac: a macvlan on the instance's interface carrying the
// virtual router MAC (RFC 5798 7.3), so the VIPs answer ARP/ND with it and a
// takeover needs no ARP cache on the link to change.
//
// Set up as keepalived does:
// - Mode private: the vmac takes only frames to its own MAC, none from its
//   siblings on the same parent.
// - IPv4: on the vmac arp_ignore=1 (no replies for the parent's addresses),
//   accept_local=1 (adverts from another local instance are heard),
//   rp_filter=0 (it receives with no address of its own),
//   promote_secondaries=1; IPv6 is off on it, its link-local would be the
//   same on every router. On the parent arp_ignore=1 and arp_filter=1, so
//   the parent does not answer for the VIPs with its own MAC; the parent's
//   values come back when its last vmac goes (in this process).
// - IPv6: no address generated from the MAC (RFC 5798 7.4: it is shared by
//   the routers); the parent's link-local (else the EUI-64 one of the
//   parent's MAC) is added without DAD, the parent holding the same, so
//   adverts leave from this router's own link-local.
// - The family follows the MAC: 00-00-5e-00-02-VRID is IPv6, the only form
//   of MAC the config yields for it.
// - An existing macvlan of that name, parent, MAC and mode is reused; another
//   macvlan of that name is replaced; any other interface of that name is an
//   error, never deleted. The vmac is removed on destruction, reused or not,
//   unless it was handed over (a reload).
#pragma once

#include "net/netlink.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace lbd::vrrp {

class Vmac {
public:
    // Created (or reused), configured and up; throws std::runtime_error
    // naming the vmac and its parent.
    Vmac(int parent_ifindex, const std::string& name, const std::array<uint8_t, 6>& mac);
    ~Vmac();  // failures are logged
    Vmac(const Vmac&) = delete;
    Vmac& operator=(const Vmac&) = delete;

    // A reload's next engine made a Vmac of the same name, which reused the
    // link: this one lets go of its hold on the parent and leaves the link
    // (and the addresses on it) to that one.
    void hand_over();

    int ifindex() const { return ifindex_; }
    const std::string& name() const { return name_; }

private:
    void configure();
    void configure_ipv4();
    void configure_ipv6();
    void remove();

    netlink::SockPtr sock_;
    int parent_;
    std::string name_;
    int family_;
    int ifindex_ = 0;
    bool holds_parent_ = false;  // a half-configured vmac must not release another's hold
    bool handed_over_ = false;
};

// lbd --cleanup: deletes the link `name` a killed lbd left, when it is a
// macvlan (what a vmac is); a link of another type by that name is the
// operator's and stays. Failures are logged.
void remove_stale_vmac(const std::string& name);

}  // namespace lbd::vrrp
