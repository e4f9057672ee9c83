#include "dataplane/neighbours.h"

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

namespace lbd::dataplane {
namespace {

// NUD states in which the kernel itself would send to the cached MAC.
constexpr int kUsable = NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT;

size_t addr_len(const config::IpAddr& a) { return a.family == AF_INET ? 4 : 16; }

struct NlAddr {
    nl_addr* p;
    explicit NlAddr(const config::IpAddr& a)
        : p(nl_addr_build(a.family, a.bytes.data(), addr_len(a))) {}
    ~NlAddr() { nl_addr_put(p); }
};

struct RouteReply {
    int ifindex = 0;
    std::optional<config::IpAddr> gateway;
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
        config::IpAddr gw;
        gw.family = out->family;
        size_t n = std::min<size_t>(nla_len(tb[RTA_GATEWAY]), gw.bytes.size());
        memcpy(gw.bytes.data(), nla_data(tb[RTA_GATEWAY]), n);
        out->gateway = gw;
    }
    return NL_OK;
}

}  // namespace

namespace {

nl_sock* open_route_socket() {
    nl_sock* s = nl_socket_alloc();
    if (!s || nl_connect(s, NETLINK_ROUTE) < 0) {
        nl_socket_free(s);
        throw std::runtime_error("cannot open a netlink route socket");
    }
    return s;
}

}  // namespace

Neighbours::Neighbours() : sock_(open_route_socket()) {
    try {
        route_sock_ = open_route_socket();
    } catch (...) {
        nl_socket_free(sock_);
        throw;
    }
    // A route query is answered by the route or by an error; an ACK on top
    // would be left queued and read as the next query's answer.
    nl_socket_disable_auto_ack(route_sock_);
}

Neighbours::~Neighbours() {
    if (cache_)
        nl_cache_free(cache_);
    nl_socket_free(route_sock_);
    nl_socket_free(sock_);
}

void Neighbours::refresh() {
    if (cache_) {
        nl_cache_refill(sock_, cache_);
        return;
    }
    if (rtnl_neigh_alloc_cache(sock_, &cache_) < 0)
        cache_ = nullptr;
}

std::optional<Neighbours::Route> Neighbours::route_to(const config::IpAddr& dst) {
    nl_msg* msg = nlmsg_alloc_simple(RTM_GETROUTE, NLM_F_REQUEST);
    rtmsg rtm{};
    rtm.rtm_family = static_cast<unsigned char>(dst.family);
    rtm.rtm_dst_len = static_cast<unsigned char>(addr_len(dst) * 8);
    RouteReply reply;
    reply.family = dst.family;
    int err = nlmsg_append(msg, &rtm, sizeof(rtm), NLMSG_ALIGNTO);
    if (err == 0)
        err = nla_put(msg, RTA_DST, static_cast<int>(addr_len(dst)), dst.bytes.data());
    if (err == 0)
        err = nl_send_auto(route_sock_, msg);
    nlmsg_free(msg);
    if (err < 0)
        return std::nullopt;
    nl_socket_modify_cb(route_sock_, NL_CB_VALID, NL_CB_CUSTOM, on_route, &reply);
    // An unreachable destination answers with an error: no route.
    if (nl_recvmsgs_default(route_sock_) < 0 || reply.ifindex == 0)
        return std::nullopt;
    return Route{reply.ifindex, reply.gateway.value_or(dst)};
}

void Neighbours::kick(const Route& r) {
    rtnl_neigh* n = rtnl_neigh_alloc();
    NlAddr dst(r.via);
    rtnl_neigh_set_ifindex(n, r.ifindex);
    rtnl_neigh_set_dst(n, dst.p);
    rtnl_neigh_set_state(n, NUD_NONE);
    rtnl_neigh_set_flags(n, NTF_USE);
    // Failure only means the next refresh tries again.
    rtnl_neigh_add(sock_, n, NLM_F_CREATE | NLM_F_REPLACE);
    rtnl_neigh_put(n);
}

std::optional<NextHop> Neighbours::resolve(const config::IpAddr& dst) {
    auto route = route_to(dst);
    if (!route)
        return std::nullopt;
    NlAddr via(route->via);
    rtnl_neigh* n = cache_ ? rtnl_neigh_get(cache_, route->ifindex, via.p) : nullptr;
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

}  // namespace lbd::dataplane
