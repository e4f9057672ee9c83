// Owners and checks for libnl objects, shared by everything that talks
// rtnetlink (addresses, routes, rules, links, vmacs, neighbours): a libnl object
// is freed by its owner, and a libnl error becomes an exception that says
// what was attempted.
#pragma once

#include <netlink/addr.h>
#include <netlink/cache.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rule.h>
#include <netlink/socket.h>

#include <memory>
#include <string_view>

#include "util/ip_addr.h"

namespace lbd::netlink {

template <class T, void (*Free)(T*)>
struct Freer {
    void operator()(T* p) const { Free(p); }
};
using SockPtr = std::unique_ptr<nl_sock, Freer<nl_sock, nl_socket_free>>;
using MsgPtr = std::unique_ptr<nl_msg, Freer<nl_msg, nlmsg_free>>;
using CachePtr = std::unique_ptr<nl_cache, Freer<nl_cache, nl_cache_free>>;
using AddrPtr = std::unique_ptr<nl_addr, Freer<nl_addr, nl_addr_put>>;
using LinkPtr = std::unique_ptr<rtnl_link, Freer<rtnl_link, rtnl_link_put>>;
using RtAddrPtr = std::unique_ptr<rtnl_addr, Freer<rtnl_addr, rtnl_addr_put>>;
using RoutePtr = std::unique_ptr<rtnl_route, Freer<rtnl_route, rtnl_route_put>>;
using RulePtr = std::unique_ptr<rtnl_rule, Freer<rtnl_rule, rtnl_rule_put>>;

// A NETLINK_ROUTE socket, connected; throws std::runtime_error.
SockPtr open_route_socket();

// Throws std::runtime_error "what: libnl's message" (just the message when
// `what` is empty) for a negative libnl return value.
void check(int err, std::string_view what = {});

// `a` as a libnl address with the given prefix length (the full length
// when negative); throws std::bad_alloc.
AddrPtr address(const IpAddr& a, int prefixlen = -1);

}  // namespace lbd::netlink
