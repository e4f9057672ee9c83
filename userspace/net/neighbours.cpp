#include "net/neighbours.h"

#include "net/netlink.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace lbd::net {
namespace {

// NUD states in which the kernel itself would send to the cached MAC.
constexpr int kUsable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

size_t addr_len(const IpAddr& a) { return a.family == AF_INET ? 4 : 16; }

struct RouteReply {
    int ifindex = 0;
    std::optional<IpAddr> gateway;
    int family = 0;
};

int on_route(nl_msg* msg, void* arg) {
    auto* out = static_cast<RouteReply*>(arg);
    nlmsghdr* hdr = nlmsg_hdr(msg);
    if (hdr->nlmsg_type != RTM_NEWROUTE)
        return NL_OK;
    nlattr* tb[RTA_MAX + 1];
    if (nlmsg_parse(hdr, sizeof(rtmsg), tb, RTA_MAX, nullptr) < 0)
        return NL_SKIP;
    if (tb[RTA_OIF])
        out->ifindex = static_cast<int>(nla_get_u32(tb[RTA_OIF]));
    if (tb[RTA_GATEWAY]) {
        IpAddr gw;
        gw.family = out->family;
        size_t n = std::min<size_t>(nla_len(tb[RTA_GATEWAY]), gw.bytes.size());
        memcpy(gw.bytes.data(), nla_data(tb[RTA_GATEWAY]), n);
        out->gateway = gw;
    }
    return NL_OK;
}

}  // namespace

Neighbours::Neighbours() : sock_(netlink::open_route_socket()), route_sock_(netlink::open_route_socket()) {
    // A route query is answered by the route or by an error; an ACK on top
    // would be left queued and read as the next query's answer.
    nl_socket_disable_auto_ack(route_sock_.get());
}

void Neighbours::refresh() {
    if (cache_) {
        nl_cache_refill(sock_.get(), cache_.get());
        return;
    }
    nl_cache* raw = nullptr;
    if (rtnl_neigh_alloc_cache(sock_.get(), &raw) == 0) cache_.reset(raw);
}

std::optional<Neighbours::Route> Neighbours::route_to(const IpAddr& dst) {
    netlink::MsgPtr msg(nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST));
    if (!msg) return std::nullopt;
    rtmsg rtm{};
    rtm.rtm_family = static_cast<unsigned char>(dst.family);
    rtm.rtm_dst_len = static_cast<unsigned char>(addr_len(dst) * 8);
    RouteReply reply;
    reply.family = dst.family;
    int err = nlmsg_append(msg.get(), &rtm, sizeof(rtm), NLMSG_ALIGNTO);
    if (err == 0)
        err = nla_put(msg.get(), RTA_DST, static_cast<int>(addr_len(dst)), dst.bytes.data());
    if (err == 0)
        err = nl_send_auto(route_sock_.get(), msg.get());
    if (err < 0)
        return std::nullopt;
    nl_socket_modify_cb(route_sock_.get(), NL_CB_VALID, NL_CB_CUSTOM, on_route, &reply);
    // An unreachable destination answers with an error: no route.
    if (nl_recvmsgs_default(route_sock_.get()) < 0 || reply.ifindex == 0)
        return std::nullopt;
    return Route{reply.ifindex, reply.gateway.value_or(dst)};
}

void Neighbours::kick(const Route& r) {
    std::unique_ptr<rtnl_neigh, netlink::Freer<rtnl_neigh, rtnl_neigh_put>> n(rtnl_neigh_alloc());
    if (!n) return;
    rtnl_neigh_set_ifindex(n.get(), r.ifindex);
    rtnl_neigh_set_dst(n.get(), netlink::address(r.via).get());
    rtnl_neigh_set_state(n.get(), NUD_NONE);
    rtnl_neigh_set_flags(n.get(), NTF_USE);
    // Failure only means the next refresh tries again.
    rtnl_neigh_add(sock_.get(), n.get(), NLM_F_CREATE | NLM_F_REPLACE);
}

std::optional<NextHop> Neighbours::resolve(const IpAddr& dst) {
    auto route = route_to(dst);
    if (!route)
        return std::nullopt;
    rtnl_neigh* n = cache_ ? rtnl_neigh_get(cache_.get(), route->ifindex, netlink::address(route->via).get()) : nullptr;
    std::optional<NextHop> hop;
    if (n && (rtnl_neigh_get_state(n) & kUsable)) {
        nl_addr* ll = rtnl_neigh_get_lladdr(n);
        if (ll && nl_addr_get_len(ll) == 6) {
            hop = NextHop{route->ifindex, {}};
            memcpy(hop->mac.data(), nl_addr_get_binary_addr(ll), 6);
        }
    }
    if (n)
        rtnl_neigh_put(n);
    if (!hop)
        kick(*route);
    return hop;
}

}  // namespace lbd::net
