// An IPv4 or IPv6 address as every part of lbd holds it, and the two ways
// it leaves the process: a socket address, and keepalived's service name.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lbd {

struct IpAddr {
    int family = 0;                   // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};  // network order; IPv4 in the first 4
    static std::optional<IpAddr> parse(std::string_view text);
    std::string str() const;
    bool operator==(const IpAddr&) const = default;
    auto operator<=>(const IpAddr&) const = default;
};

// "IPv4" or "IPv6", for messages.
std::string_view family_name(int family);

// addr:port as a sockaddr_in or sockaddr_in6 in `ss`; returns its length.
socklen_t to_sockaddr(const IpAddr& addr, uint16_t port, sockaddr_storage& ss);

// keepalived's name of a service in its log lines, "[10.0.0.2]:tcp:80",
// for ip_protocol IPPROTO_TCP or IPPROTO_UDP.
std::string service_name(const IpAddr& addr, int ip_protocol, uint16_t port);

}  // namespace lbd
