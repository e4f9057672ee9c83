#include "net/host_routes.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

namespace lbd::net {
namespace {

using CbPtr = std::unique_ptr<nl_cb, netlink::Freer<nl_cb, nl_cb_put>>;

struct Dump {
    uint32_t table;
    uint8_t protocol;
    std::set<IpAddr> found;
};

int on_route(nl_msg* msg, void* arg) {
    auto& dump = *static_cast<Dump*>(arg);
    rtnl_route* raw = nullptr;
    if (rtnl_route_parse(nlmsg_hdr(msg), &raw) < 0 || !raw) return NL_OK;
    netlink::RoutePtr route(raw);
    if (rtnl_route_get_table(raw) != dump.table || rtnl_route_get_protocol(raw) != dump.protocol) return NL_OK;
    nl_addr* dst = rtnl_route_get_dst(raw);
    const int family = rtnl_route_get_family(raw);
    const unsigned len = family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
    if (!dst || len == 0 || nl_addr_get_len(dst) != len || nl_addr_get_prefixlen(dst) != len * 8) return NL_OK;
    IpAddr a;
    a.family = family;
    memcpy(a.bytes.data(), nl_addr_get_binary_addr(dst), len);
    dump.found.insert(a);
    return NL_OK;
}

}  // namespace

HostRoutes::HostRoutes(uint32_t table, uint8_t protocol)
    : table_(table), protocol_(protocol), sock_(netlink::open_route_socket()), lo_(static_cast<int>(if_nametoindex("lo"))) {
    if (lo_ == 0) throw std::runtime_error("no interface lo");
    // The kernel then sends this table's routes of this protocol only; a
    // kernel without it sends all of them, and on_route() sorts.
    const int on = 1;
    setsockopt(nl_socket_get_fd(sock_.get()), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
}

std::set<IpAddr> HostRoutes::read() {
    rtmsg rtm{};
    rtm.rtm_family = AF_UNSPEC;
    rtm.rtm_table = static_cast<uint8_t>(table_ < 256 ? table_ : uint32_t{RT_TABLE_UNSPEC});
    rtm.rtm_protocol = protocol_;
    netlink::MsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_DUMP));
    if (!msg) throw std::bad_alloc();
    netlink::check(nlmsg_append(msg.get(), &rtm, sizeof(rtm), NLMSG_ALIGNTO), "route dump request");
    netlink::check(nla_put_u32(msg.get(), RTA_TABLE, table_), "route dump request");
    const std::string what = fmt::format("reading routing table {}", table_);
    netlink::check(nl_send_auto(sock_.get(), msg.get()), what);
    Dump dump{table_, protocol_, {}};
    CbPtr cb(nl_cb_alloc(NL_CB_DEFAULT));
    if (!cb) throw std::bad_alloc();
    nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_route, &dump);
    netlink::check(nl_recvmsgs(sock_.get(), cb.get()), what);
    return std::move(dump.found);
}

netlink::RoutePtr HostRoutes::route_to(const IpAddr& addr) const {
    netlink::RoutePtr rt(rtnl_route_alloc());
    if (!rt) throw std::bad_alloc();
    netlink::check(rtnl_route_set_family(rt.get(), static_cast<uint8_t>(addr.family)));
    netlink::check(rtnl_route_set_dst(rt.get(), netlink::address(addr).get()));
    rtnl_route_set_table(rt.get(), table_);
    rtnl_route_set_protocol(rt.get(), protocol_);
    netlink::check(rtnl_route_set_type(rt.get(), RTN_UNICAST));
    // As `ip route add ADDR dev lo` makes them: a route without a gateway
    // is link-scoped in IPv4; IPv6 routes are global.
    rtnl_route_set_scope(rt.get(), addr.family == AF_INET ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    if (!nh) throw std::bad_alloc();
    rtnl_route_nh_set_ifindex(nh, lo_);
    rtnl_route_add_nexthop(rt.get(), nh);
    return rt;
}

void HostRoutes::add(const IpAddr& addr) {
    netlink::check(rtnl_route_add(sock_.get(), route_to(addr).get(), NLM_F_REPLACE),
                   fmt::format("adding {} to routing table {}", addr.str(), table_));
}

void HostRoutes::remove(const IpAddr& addr) {
    const int err = rtnl_route_delete(sock_.get(), route_to(addr).get(), 0);
    if (err == -NLE_OBJ_NOTFOUND) return;
    netlink::check(err, fmt::format("removing {} from routing table {}", addr.str(), table_));
}

}  // namespace lbd::net
