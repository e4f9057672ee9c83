#include "vrrp/address_manager.h"

#include "net/netlink.h"
#include "vrrp/ip_rules.h"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/nexthop.h>
#include <netlink/route/route.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <fmt/format.h>

namespace lbd::vrrp {
namespace {

constexpr uint32_t kForever = 0xffffffff;  // a lifetime that never runs out

size_t addr_len(int family) { return family == AF_INET ? 4 : 16; }

config::IpAddr ip_address(nl_addr* a) {
    config::IpAddr ip;
    ip.family = nl_addr_get_family(a);
    std::memcpy(ip.bytes.data(), nl_addr_get_binary_addr(a),
                std::min<size_t>(nl_addr_get_len(a), ip.bytes.size()));
    return ip;
}

std::string if_name(int ifindex) {
    char buf[IF_NAMESIZE];
    return if_indextoname(static_cast<unsigned>(ifindex), buf) ? buf : fmt::format("#{}", ifindex);
}

// Where an entry goes: its own dev, or the default. ifindex 0: dev is missing.
struct Device {
    int ifindex = 0;
    std::string name;
};

Device device(const std::string& dev, int default_ifindex) {
    if (dev.empty())
        return {default_ifindex, if_name(default_ifindex)};
    return {static_cast<int>(if_nametoindex(dev.c_str())), dev};
}

// Runs apply on every entry; a failure becomes "cannot VERB WHAT: why" and
// the next entry is still tried.
template <class Entry, class Apply, class Describe>
std::vector<std::string> each(const std::vector<Entry>& entries, std::string_view verb, Apply apply,
                              Describe describe) {
    std::vector<std::string> errors;
    for (const Entry& e : entries) {
        try {
            apply(e);
        } catch (const std::exception& ex) {
            errors.push_back(fmt::format("cannot {} {}: {}", verb, describe(e), ex.what()));
        }
    }
    return errors;
}

int on_error(sockaddr_nl*, nlmsgerr* e, void* kernel_errno) {
    *static_cast<int*>(kernel_errno) = -e->error;
    return NL_STOP;
}

// ---- addresses ---------------------------------------------------------------

std::string describe(const config::VirtualAddress& v, const std::string& dev) {
    if (v.peer)
        return fmt::format("{} peer {} dev {}", v.prefix.addr.str(), v.peer->str(), dev);
    return fmt::format("{} dev {}", v.prefix.str(), dev);
}

unsigned address_flags(const config::VirtualAddress& v) {
    unsigned f = 0;
    if (v.home) f |= IFA_F_HOMEADDRESS;
    if (v.mngtmpaddr) f |= IFA_F_MANAGETEMPADDR;
    if (v.noprefixroute) f |= IFA_F_NOPREFIXROUTE;
    if (v.autojoin) f |= IFA_F_MCAUTOJOIN;
    // keepalived's default; its `-nodad` (v.nodad) asks for DAD after all.
    if (v.prefix.addr.family == AF_INET6 && !v.nodad) f |= IFA_F_NODAD;
    return f;
}

std::optional<uint32_t> preferred_lifetime(const config::VirtualAddress& v) {
    if (v.prefix.addr.family != AF_INET6)
        return std::nullopt;
    if (v.preferred_lft)
        return v.preferred_lft;
    if (v.prefix.len == 128)
        return 0;  // deprecated: never chosen as a source address
    return std::nullopt;
}

// What identifies the address to the kernel: enough to delete it.
netlink::RtAddrPtr address_key(const config::VirtualAddress& v, int ifindex) {
    netlink::RtAddrPtr a(rtnl_addr_alloc());
    if (!a)
        throw std::bad_alloc();
    rtnl_addr_set_family(a.get(), v.prefix.addr.family);
    rtnl_addr_set_ifindex(a.get(), ifindex);
    netlink::check(rtnl_addr_set_local(a.get(), netlink::address(v.prefix.addr).get()));
    rtnl_addr_set_prefixlen(a.get(), v.peer ? v.peer->len : v.prefix.len);
    return a;
}

void set_add_attributes(rtnl_addr* a, const config::VirtualAddress& v) {
    if (v.prefix.addr.family == AF_INET) {
        if (!v.label.empty())
            netlink::check(rtnl_addr_set_label(a, v.label.c_str()));
        rtnl_addr_set_scope(a, v.scope);
        if (v.broadcast)
            netlink::check(rtnl_addr_set_broadcast(a, netlink::address(*v.broadcast).get()));
    }
    rtnl_addr_set_flags(a, address_flags(v));
    if (const auto lft = preferred_lifetime(v)) {
        rtnl_addr_set_preferred_lifetime(a, *lft);
        rtnl_addr_set_valid_lifetime(a, kForever);
    }
}

// libnl puts the local address in IFA_ADDRESS too; the kernel reads a
// different one there as the peer.
void put_peer(nl_msg* msg, const config::IpAddr& peer) {
    nlattr* attr = nlmsg_find_attr(nlmsg_hdr(msg), sizeof(ifaddrmsg), IFA_ADDRESS);
    const size_t len = addr_len(peer.family);
    if (!attr || static_cast<size_t>(nla_len(attr)) != len)
        throw std::runtime_error("the peer is not of the address's family");
    std::memcpy(nla_data(attr), peer.bytes.data(), len);
}

netlink::MsgPtr address_request(const config::VirtualAddress& v, rtnl_addr* a, bool add) {
    nl_msg* raw = nullptr;
    netlink::check(add ? rtnl_addr_build_add_request(a, 0, &raw) : rtnl_addr_build_delete_request(a, 0, &raw));
    netlink::MsgPtr msg(raw);
    if (v.peer)
        put_peer(msg.get(), v.peer->addr);
    return msg;
}

// ---- routes ------------------------------------------------------------------

uint8_t rtn_type(config::RouteType t) {
    switch (t) {
    case config::RouteType::blackhole: return RTN_BLACKHOLE;
    case config::RouteType::unreachable: return RTN_UNREACHABLE;
    case config::RouteType::prohibit: return RTN_PROHIBIT;
    case config::RouteType::throw_: return RTN_THROW;
    case config::RouteType::unicast: break;
    }
    return RTN_UNICAST;
}

std::string_view type_prefix(config::RouteType t) {
    switch (t) {
    case config::RouteType::blackhole: return "blackhole ";
    case config::RouteType::unreachable: return "unreachable ";
    case config::RouteType::prohibit: return "prohibit ";
    case config::RouteType::throw_: return "throw ";
    case config::RouteType::unicast: break;
    }
    return "";
}

bool has_nexthop(const config::VirtualRoute& r) { return r.type == config::RouteType::unicast; }

// The device a route is sent out of; the default only when the kernel would
// have nothing to go by (no gateway, no dev). Name empty: none.
Device route_device(const config::VirtualRoute& r, int default_ifindex) {
    if (!r.dev.empty() || (has_nexthop(r) && !r.via))
        return device(r.dev, default_ifindex);
    return {};
}

std::string describe(const config::VirtualRoute& r, const std::string& dev) {
    std::string s = fmt::format("route {}{}", type_prefix(r.type), r.dest.str());
    if (r.via) s += " via " + r.via->str();
    if (r.or_via) s += " or " + r.or_via->str();
    if (!dev.empty()) s += " dev " + dev;
    if (r.table) s += fmt::format(" table {}", *r.table);
    return s;
}

void add_nexthop(rtnl_route* rt, int oif, const std::optional<config::IpAddr>& gateway, bool onlink) {
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (!nh)
        throw std::bad_alloc();
    if (oif)
        rtnl_route_nh_set_ifindex(nh, oif);
    if (gateway)
        rtnl_route_nh_set_gateway(nh, netlink::address(*gateway).get());
    if (onlink)
        rtnl_route_nh_set_flags(nh, RTNH_F_ONLINK);
    rtnl_route_add_nexthop(rt, nh);
}

// The same for adding and deleting, so a delete matches what was added.
netlink::RoutePtr route_template(const config::VirtualRoute& r, int oif) {
    netlink::RoutePtr rt(rtnl_route_alloc());
    if (!rt)
        throw std::bad_alloc();
    netlink::check(rtnl_route_set_family(rt.get(), static_cast<uint8_t>(r.dest.addr.family)));
    netlink::check(rtnl_route_set_dst(rt.get(), netlink::address(r.dest.addr, r.dest.len).get()));
    rtnl_route_set_table(rt.get(), r.table.value_or(RT_TABLE_MAIN));
    rtnl_route_set_protocol(rt.get(), r.protocol.value_or(RTPROT_KEEPALIVED));
    netlink::check(rtnl_route_set_type(rt.get(), rtn_type(r.type)));
    if (r.scope)
        rtnl_route_set_scope(rt.get(), *r.scope);
    if (r.metric)
        rtnl_route_set_priority(rt.get(), *r.metric);
    if (r.src)
        netlink::check(rtnl_route_set_pref_src(rt.get(), netlink::address(*r.src).get()));
    if (!has_nexthop(r))
        return rt;
    if (r.onlink)  // a single next hop is described by the route itself
        rtnl_route_set_flags(rt.get(), RTNH_F_ONLINK);
    add_nexthop(rt.get(), oif, r.via, r.onlink);
    if (r.or_via)
        add_nexthop(rt.get(), oif, r.or_via, r.onlink);
    return rt;
}

netlink::MsgPtr route_request(rtnl_route* rt, bool add) {
    nl_msg* raw = nullptr;
    netlink::check(add ? rtnl_route_build_add_request(rt, 0, &raw) : rtnl_route_build_del_request(rt, 0, &raw));
    return netlink::MsgPtr(raw);
}

bool is_link_local(const config::IpAddr& a) { return a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80; }

bool is_advert_source(rtnl_addr* a, const config::IpAddr& ip) {
    const unsigned flags = rtnl_addr_get_flags(a);
    if (ip.family == AF_INET)
        return !(flags & IFA_F_SECONDARY);
    return is_link_local(ip) && !(flags & IFA_F_DADFAILED);
}

}  // namespace

AddressManager::AddressManager() : sock_(netlink::open_route_socket()) {
    nl_socket_modify_err_cb(sock_.get(), NL_CB_CUSTOM, on_error, &kernel_errno_);
}

int AddressManager::talk(nl_msg* msg) {
    kernel_errno_ = 0;
    const int err = nl_send_sync(sock_.get(), msg);
    if (err >= 0)
        return 0;
    if (kernel_errno_ == 0)
        throw std::runtime_error(nl_geterror(err));
    return kernel_errno_;
}

std::vector<std::string> AddressManager::add(const std::vector<config::VirtualAddress>& addrs,
                                             int default_ifindex) {
    auto apply = [&](const config::VirtualAddress& v) {
        const Device d = device(v.dev, default_ifindex);
        if (d.ifindex == 0)
            throw std::runtime_error("no such interface");
        netlink::RtAddrPtr a = address_key(v, d.ifindex);
        set_add_attributes(a.get(), v);
        const int e = talk(address_request(v, a.get(), true).release());
        if (e != 0 && e != EEXIST)
            throw std::runtime_error(std::strerror(e));
    };
    auto what = [&](const config::VirtualAddress& v) { return describe(v, device(v.dev, default_ifindex).name); };
    return each(addrs, "add", apply, what);
}

std::vector<std::string> AddressManager::remove(const std::vector<config::VirtualAddress>& addrs,
                                                int default_ifindex) {
    auto apply = [&](const config::VirtualAddress& v) {
        const Device d = device(v.dev, default_ifindex);
        if (d.ifindex == 0)
            return;  // no device, no address
        netlink::RtAddrPtr a = address_key(v, d.ifindex);
        const int e = talk(address_request(v, a.get(), false).release());
        if (e != 0 && e != EADDRNOTAVAIL && e != ENODEV)
            throw std::runtime_error(std::strerror(e));
    };
    auto what = [&](const config::VirtualAddress& v) { return describe(v, device(v.dev, default_ifindex).name); };
    return each(addrs, "remove", apply, what);
}

std::vector<std::string> AddressManager::add_routes(const std::vector<config::VirtualRoute>& routes,
                                                    int default_ifindex) {
    auto apply = [&](const config::VirtualRoute& r) {
        const Device d = route_device(r, default_ifindex);
        if (!d.name.empty() && d.ifindex == 0)
            throw std::runtime_error("no such interface");
        netlink::RoutePtr rt = route_template(r, d.ifindex);
        const int e = talk(route_request(rt.get(), true).release());
        if (e != 0 && e != EEXIST)
            throw std::runtime_error(std::strerror(e));
    };
    auto what = [&](const config::VirtualRoute& r) { return describe(r, route_device(r, default_ifindex).name); };
    return each(routes, "add", apply, what);
}

std::vector<std::string> AddressManager::remove_routes(const std::vector<config::VirtualRoute>& routes,
                                                       int default_ifindex) {
    auto apply = [&](const config::VirtualRoute& r) {
        const Device d = route_device(r, default_ifindex);
        if (!d.name.empty() && d.ifindex == 0)
            return;  // no device, no route through it
        netlink::RoutePtr rt = route_template(r, d.ifindex);
        const int e = talk(route_request(rt.get(), false).release());
        if (e != 0 && e != ESRCH && e != ENODEV)
            throw std::runtime_error(std::strerror(e));
    };
    auto what = [&](const config::VirtualRoute& r) { return describe(r, route_device(r, default_ifindex).name); };
    return each(routes, "remove", apply, what);
}

std::vector<std::string> AddressManager::add_rules(const std::vector<config::IpRule>& rules) {
    auto apply = [&](const config::IpRule& r) {
        const int e = talk(rule_request(r, true).release());
        if (e != 0 && e != EEXIST)
            throw std::runtime_error(std::strerror(e));
    };
    return each(rules, "add", apply, [](const config::IpRule& r) { return describe(r); });
}

std::vector<std::string> AddressManager::remove_rules(const std::vector<config::IpRule>& rules) {
    auto apply = [&](const config::IpRule& r) {
        const int e = talk(rule_request(r, false).release());
        if (e != 0 && e != ENOENT)
            throw std::runtime_error(std::strerror(e));
    };
    return each(rules, "remove", apply, [](const config::IpRule& r) { return describe(r); });
}

std::optional<config::IpAddr> primary_address(int ifindex, int family) {
    netlink::SockPtr s = netlink::open_route_socket();
    nl_cache* raw = nullptr;
    netlink::check(rtnl_addr_alloc_cache(s.get(), &raw));
    netlink::CachePtr cache(raw);
    // The cache keeps the kernel's order, in which primaries come first.
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
        auto* a = reinterpret_cast<rtnl_addr*>(o);
        if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != family || !rtnl_addr_get_local(a))
            continue;
        const config::IpAddr ip = ip_address(rtnl_addr_get_local(a));
        if (is_advert_source(a, ip))
            return ip;
    }
    return std::nullopt;
}

bool ipv6_forwarding(const std::string& ifname) {
    std::ifstream f("/proc/sys/net/ipv6/conf/" + ifname + "/forwarding");
    int value = 0;
    return (f >> value) && value != 0;
}

}  // namespace lbd::vrrp
