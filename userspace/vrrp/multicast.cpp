#include "vrrp/multicast.h"

#include "vrrp/packet.h"

#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace lbd::vrrp {

namespace {

UniqueFd listener(int family) {
    UniqueFd fd(socket(family, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, kIpProtoVrrp));
    if (!fd)
        throw std::runtime_error(std::string("VRRP raw socket: ") + strerror(errno));
    sock_filter drop_all[] = {{BPF_RET | BPF_K, 0, 0, 0}};
    sock_fprog prog{1, drop_all};
    if (setsockopt(fd.get(), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
        throw std::runtime_error(std::string("VRRP raw socket filter: ") + strerror(errno));
    return fd;
}

int join_group(int fd, int ifindex, const IpAddr& group) {
    if (group.family == AF_INET) {
        ip_mreqn m{};
        memcpy(&m.imr_multiaddr, group.bytes.data(), 4);
        m.imr_ifindex = ifindex;
        return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m,
                          sizeof(m));
    }
    ipv6_mreq m{};
    memcpy(&m.ipv6mr_multiaddr, group.bytes.data(), 16);
    m.ipv6mr_interface = ifindex;
    return setsockopt(fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &m,
                      sizeof(m));
}

}  // namespace

GroupMembership::GroupMembership() : v4_(listener(AF_INET)), v6_(listener(AF_INET6)) {}

void GroupMembership::join(int ifindex, const IpAddr& group) {
    if (joined_.contains({ifindex, group}))
        return;
    int fd = group.family == AF_INET ? v4_.get() : v6_.get();
    if (join_group(fd, ifindex, group) < 0 && errno != EADDRINUSE)
        throw std::runtime_error("joining " + group.str() + " on ifindex " +
                                 std::to_string(ifindex) + ": " + strerror(errno));
    joined_.insert({ifindex, group});
}

}  // namespace lbd::vrrp
