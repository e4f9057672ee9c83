#include "util/ip_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>

#include <cstring>

namespace lbd {

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
    // inet_pton would stop at an embedded NUL and accept "10.0.0.1\0junk".
    if (text.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string s(text);
    IpAddr a;
    for (int family : {AF_INET, AF_INET6}) {
        if (::inet_pton(family, s.c_str(), a.bytes.data()) == 1) {
            a.family = family;
            return a;
        }
    }
    return std::nullopt;
}

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN];
    if (::inet_ntop(family, bytes.data(), buf, sizeof buf) == nullptr) return "<no address>";
    return buf;
}

std::string_view family_name(int family) { return family == AF_INET6 ? "IPv6" : "IPv4"; }

socklen_t to_sockaddr(const IpAddr& addr, uint16_t port, sockaddr_storage& ss) {
    std::memset(&ss, 0, sizeof ss);
    if (addr.family == AF_INET6) {
        auto& s6 = reinterpret_cast<sockaddr_in6&>(ss);
        s6.sin6_family = AF_INET6;
        s6.sin6_port = htons(port);
        std::memcpy(&s6.sin6_addr, addr.bytes.data(), 16);
        return sizeof s6;
    }
    auto& s4 = reinterpret_cast<sockaddr_in&>(ss);
    s4.sin_family = AF_INET;
    s4.sin_port = htons(port);
    std::memcpy(&s4.sin_addr, addr.bytes.data(), 4);
    return sizeof s4;
}

std::string service_name(const IpAddr& addr, int ip_protocol, uint16_t port) {
    return fmt::format("[{}]:{}:{}", addr.str(), ip_protocol == IPPROTO_UDP ? "udp" : "tcp", port);
}

}  // namespace lbd
