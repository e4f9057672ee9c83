#include "net/netlink.h"

#include <fmt/format.h>

#include <new>
#include <stdexcept>

namespace lbd::netlink {

SockPtr open_route_socket() {
    SockPtr s(nl_socket_alloc());
    if (!s || nl_connect(s.get(), NETLINK_ROUTE) < 0) throw std::runtime_error("cannot open a netlink route socket");
    return s;
}

void check(int err, std::string_view what) {
    if (err >= 0) return;
    if (what.empty()) throw std::runtime_error(nl_geterror(err));
    throw std::runtime_error(fmt::format("{}: {}", what, nl_geterror(err)));
}

AddrPtr address(const IpAddr& a, int prefixlen) {
    const unsigned len = a.family == AF_INET ? 4 : 16;
    AddrPtr p(nl_addr_build(a.family, a.bytes.data(), len));
    if (!p) throw std::bad_alloc();
    nl_addr_set_prefixlen(p.get(), prefixlen < 0 ? int(len * 8) : prefixlen);
    return p;
}

}  // namespace lbd::netlink
