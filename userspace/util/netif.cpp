#include "util/netif.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

namespace lbd::netif {
namespace {

struct Socket {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ~Socket() {
        if (fd >= 0)
            close(fd);
    }
};

void ioctl_or_throw(int fd, unsigned long request, ifreq& ifr, const char* what) {
    if (ioctl(fd, request, &ifr) < 0)
        throw std::runtime_error(fmt::format("interface {}: cannot read its {}: {}", ifr.ifr_name,
                                             what, strerror(errno)));
}

IpAddr from_sockaddr(const sockaddr* sa) {
    IpAddr a;
    a.family = sa->sa_family;
    if (sa->sa_family == AF_INET)
        memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, 4);
    else
        memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, 16);
    return a;
}

}  // namespace

bool exists(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

Interface lookup(const std::string& name) {
    Interface i;
    i.name = name;
    i.ifindex = static_cast<int>(if_nametoindex(name.c_str()));
    if (i.ifindex == 0)
        throw std::runtime_error(fmt::format("interface {} does not exist", name));
    Socket s;
    if (s.fd < 0)
        throw std::runtime_error(fmt::format("socket: {}", strerror(errno)));
    ifreq ifr{};
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name.c_str());
    ioctl_or_throw(s.fd, SIOCGIFHWADDR, ifr, "MAC address");
    memcpy(i.mac.data(), ifr.ifr_hwaddr.sa_data, 6);
    ioctl_or_throw(s.fd, SIOCGIFMTU, ifr, "MTU");
    i.mtu = static_cast<uint32_t>(ifr.ifr_mtu);

    ifaddrs* list = nullptr;
    if (getifaddrs(&list) < 0)
        throw std::runtime_error(fmt::format("getifaddrs: {}", strerror(errno)));
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || name != a->ifa_name)
            continue;
        if (a->ifa_addr->sa_family == AF_INET && !i.ipv4)
            i.ipv4 = from_sockaddr(a->ifa_addr);
        if (a->ifa_addr->sa_family == AF_INET6 && !i.ipv6) {
            auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a->ifa_addr);
            if (!IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
                i.ipv6 = from_sockaddr(a->ifa_addr);
        }
    }
    freeifaddrs(list);
    return i;
}

std::vector<std::string> up_interfaces() {
    std::vector<std::string> names;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) < 0)
        return names;
    for (ifaddrs* a = list; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_PACKET)
            continue;
        if ((a->ifa_flags & IFF_UP) && !(a->ifa_flags & IFF_LOOPBACK))
            names.emplace_back(a->ifa_name);
    }
    freeifaddrs(list);
    return names;
}

}  // namespace lbd::netif
