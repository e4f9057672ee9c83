#include "vrrp/vmac.h"

#include "util/log.h"
#include "vrrp/address_manager.h"
#include "vrrp/packet.h"

#include <linux/if_link.h>
#include <linux/ip.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/inet.h>
#include <netlink/route/link/inet6.h>
#include <netlink/route/link/macvlan.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace lbd::vrrp {
namespace {

netlink::LinkPtr alloc_link() {
    netlink::LinkPtr l(rtnl_link_alloc());
    if (!l)
        throw std::bad_alloc();
    return l;
}

// Nothing when there is no such link.
netlink::LinkPtr get_link(nl_sock* s, int ifindex, const std::string& name) {
    rtnl_link* raw = nullptr;
    const int err = rtnl_link_get_kernel(s, ifindex, ifindex ? nullptr : name.c_str(), &raw);
    if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
        return nullptr;
    netlink::check(err);
    return netlink::LinkPtr(raw);
}

netlink::LinkPtr must_get_link(nl_sock* s, int ifindex, const std::string& name = {}) {
    netlink::LinkPtr l = get_link(s, ifindex, name);
    if (!l)
        throw std::runtime_error(ifindex ? fmt::format("interface #{} does not exist", ifindex)
                                         : fmt::format("{} vanished", name));
    return l;
}

std::string link_name(nl_sock* s, int ifindex) {
    netlink::LinkPtr l = get_link(s, ifindex, {});
    return l ? rtnl_link_get_name(l.get()) : fmt::format("#{}", ifindex);
}

bool same_mac(rtnl_link* l, const Mac& mac) {
    nl_addr* a = rtnl_link_get_addr(l);
    return a && nl_addr_get_len(a) == mac.size() && std::memcmp(nl_addr_get_binary_addr(a), mac.data(), mac.size()) == 0;
}

bool reusable(rtnl_link* l, int parent, const Mac& mac) {
    return rtnl_link_is_macvlan(l) && rtnl_link_get_link(l) == parent &&
           rtnl_link_macvlan_get_mode(l) == MACVLAN_MODE_PRIVATE && same_mac(l, mac);
}

void delete_link(nl_sock* s, int ifindex) {
    netlink::LinkPtr l = alloc_link();
    rtnl_link_set_ifindex(l.get(), ifindex);
    const int err = rtnl_link_delete(s, l.get());
    if (err != -NLE_NODEV && err != -NLE_OBJ_NOTFOUND)
        netlink::check(err);
}

void create(nl_sock* s, int parent, const std::string& name, const Mac& mac) {
    netlink::LinkPtr l(rtnl_link_macvlan_alloc());
    if (!l)
        throw std::bad_alloc();
    rtnl_link_set_link(l.get(), parent);
    rtnl_link_set_name(l.get(), name.c_str());
    netlink::AddrPtr addr(nl_addr_build(AF_LLC, mac.data(), mac.size()));
    if (!addr)
        throw std::bad_alloc();
    rtnl_link_set_addr(l.get(), addr.get());
    netlink::check(rtnl_link_macvlan_set_mode(l.get(), MACVLAN_MODE_PRIVATE));
    netlink::check(rtnl_link_add(s, l.get(), NLM_F_CREATE | NLM_F_EXCL));
}

// Makes name a fresh or matching vmac: leaves a matching one, replaces a
// macvlan that does not match, refuses to touch anything else.
void ensure(nl_sock* s, int parent, const std::string& name, const Mac& mac) {
    netlink::LinkPtr existing = get_link(s, 0, name);
    if (existing && reusable(existing.get(), parent, mac))
        return;
    if (existing && !rtnl_link_is_macvlan(existing.get()))
        throw std::runtime_error("an interface of that name exists and is not a macvlan");
    if (existing)
        delete_link(s, rtnl_link_get_ifindex(existing.get()));
    create(s, parent, name, mac);
}

void change(nl_sock* s, int ifindex, const std::function<void(rtnl_link*)>& set) {
    netlink::LinkPtr target = must_get_link(s, ifindex);
    netlink::LinkPtr changes = alloc_link();
    set(changes.get());
    netlink::check(rtnl_link_change(s, target.get(), changes.get(), 0));
}

void set_ipv4_conf(nl_sock* s, int ifindex, std::initializer_list<std::pair<unsigned, uint32_t>> values) {
    change(s, ifindex, [&](rtnl_link* c) {
        for (const auto& [id, value] : values)
            netlink::check(rtnl_link_inet_set_conf(c, id, value));
    });
}

uint32_t ipv4_conf(rtnl_link* l, unsigned id) {
    uint32_t value = 0;
    netlink::check(rtnl_link_inet_get_conf(l, id, &value));
    return value;
}

// The parent's ARP settings, set while vmacs sit on it and restored after
// the last one: the refcount of keepalived's reset_arp_config.
struct ParentArp {
    int users = 0;
    uint32_t arp_ignore = 0;
    uint32_t arp_filter = 0;
};
std::mutex g_parents_mutex;
std::map<int, ParentArp> g_parents;

void hold_parent(nl_sock* s, int parent) {
    std::lock_guard lock(g_parents_mutex);
    if (auto it = g_parents.find(parent); it != g_parents.end()) {
        ++it->second.users;
        return;
    }
    netlink::LinkPtr l = must_get_link(s, parent);
    const ParentArp saved{1, ipv4_conf(l.get(), IPV4_DEVCONF_ARP_IGNORE), ipv4_conf(l.get(), IPV4_DEVCONF_ARPFILTER)};
    set_ipv4_conf(s, parent, {{IPV4_DEVCONF_ARP_IGNORE, 1}, {IPV4_DEVCONF_ARPFILTER, 1}});
    g_parents.emplace(parent, saved);
}

void release_parent(nl_sock* s, int parent) {
    std::lock_guard lock(g_parents_mutex);
    auto it = g_parents.find(parent);
    if (it == g_parents.end() || --it->second.users > 0)
        return;
    const ParentArp saved = it->second;
    g_parents.erase(it);
    if (get_link(s, parent, {}))
        set_ipv4_conf(s, parent,
                      {{IPV4_DEVCONF_ARP_IGNORE, saved.arp_ignore}, {IPV4_DEVCONF_ARPFILTER, saved.arp_filter}});
}

// libnl has no IPv6 devconf setter (nor has rtnetlink for disable_ipv6).
void disable_ipv6(const std::string& name) {
    std::ofstream f("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6");
    // No such file: IPv6 is off in this kernel already.
    if (f && !(f << "1" << std::flush))
        throw std::runtime_error("cannot disable IPv6 on it");
}

// fe80::/64 with the modified EUI-64 of mac (RFC 4291 2.5.1, appendix A).
config::IpAddr eui64_link_local(const Mac& mac) {
    config::IpAddr a;
    a.family = AF_INET6;
    a.bytes = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(mac[0] ^ 0x02), mac[1], mac[2], 0xff, 0xfe,
               mac[3], mac[4], mac[5]};
    return a;
}

config::IpAddr parent_link_local(nl_sock* s, int parent) {
    if (auto ll = primary_address(parent, AF_INET6))
        return *ll;
    netlink::LinkPtr l = must_get_link(s, parent);
    Mac mac{};
    nl_addr* a = rtnl_link_get_addr(l.get());
    if (!a || nl_addr_get_len(a) != mac.size())
        throw std::runtime_error("the parent has neither a link-local address nor a MAC to make one of");
    std::memcpy(mac.data(), nl_addr_get_binary_addr(a), mac.size());
    return eui64_link_local(mac);
}

}  // namespace

Vmac::Vmac(int parent_ifindex, const std::string& name, const std::array<uint8_t, 6>& mac)
    : sock_(netlink::open_route_socket()),
      parent_(parent_ifindex),
      name_(name),
      family_(mac == virtual_mac(mac[5], AF_INET6) ? AF_INET6 : AF_INET) {
    const auto context = [&](const std::exception& e) {
        return std::runtime_error(
            fmt::format("vmac {} on {}: {}", name_, link_name(sock_.get(), parent_), e.what()));
    };
    try {
        ensure(sock_.get(), parent_, name_, mac);
        ifindex_ = rtnl_link_get_ifindex(must_get_link(sock_.get(), 0, name_).get());
    } catch (const std::exception& e) {
        throw context(e);
    }
    try {
        configure();
    } catch (const std::exception& e) {
        remove();
        throw context(e);
    }
}

Vmac::~Vmac() { remove(); }

void Vmac::configure() {
    if (family_ == AF_INET)
        configure_ipv4();
    else
        configure_ipv6();
    change(sock_.get(), ifindex_, [](rtnl_link* c) { rtnl_link_set_flags(c, IFF_UP); });
}

void Vmac::configure_ipv4() {
    set_ipv4_conf(sock_.get(), ifindex_,
                  {{IPV4_DEVCONF_ARP_IGNORE, 1},
                   {IPV4_DEVCONF_ACCEPT_LOCAL, 1},
                   {IPV4_DEVCONF_RP_FILTER, 0},
                   {IPV4_DEVCONF_PROMOTE_SECONDARIES, 1}});
    disable_ipv6(name_);
    hold_parent(sock_.get(), parent_);
    holds_parent_ = true;
}

void Vmac::configure_ipv6() {
    change(sock_.get(), ifindex_,
           [](rtnl_link* c) { netlink::check(rtnl_link_inet6_set_addr_gen_mode(c, IN6_ADDR_GEN_MODE_NONE)); });
    config::VirtualAddress ll;
    ll.prefix = {parent_link_local(sock_.get(), parent_), 64};
    const auto errors = AddressManager().add({ll}, ifindex_);
    if (!errors.empty())
        throw std::runtime_error(errors.front());
}

void Vmac::hand_over() {
    // The next engine's Vmac holds the parent too: releasing this hold
    // leaves the parent's ARP settings as they are.
    if (holds_parent_) release_parent(sock_.get(), parent_);
    holds_parent_ = false;
    handed_over_ = true;
}

void Vmac::remove() {
    if (handed_over_) return;
    const auto logged = [&](const char* what, const auto& step) {
        try {
            step();
        } catch (const std::exception& e) {
            log::warn("vmac {}: cannot {}: {}", name_, what, e.what());
        }
    };
    if (holds_parent_)
        logged("restore its parent's ARP settings", [&] { release_parent(sock_.get(), parent_); });
    logged("remove it", [&] { delete_link(sock_.get(), ifindex_); });
}

void remove_stale_vmac(const std::string& name) {
    netlink::SockPtr sock = netlink::open_route_socket();
    rtnl_link* raw = nullptr;
    if (rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &raw) < 0) return;
    netlink::LinkPtr link(raw);
    const char* type = rtnl_link_get_type(link.get());
    if (!type || std::string_view(type) != "macvlan") return;
    if (int err = rtnl_link_delete(sock.get(), link.get()); err < 0)
        log::warn("cannot delete vmac {}: {}", name, nl_geterror(err));
    else
        log::info("vmac {} deleted", name);
}

}  // namespace lbd::vrrp
