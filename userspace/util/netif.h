// What the data plane needs to know of a local network interface.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "util/ip_addr.h"

namespace lbd::netif {

struct Interface {
    std::string name;
    int ifindex = 0;
    std::array<uint8_t, 6> mac{};
    uint32_t mtu = 0;
    std::optional<IpAddr> ipv4;  // first address
    std::optional<IpAddr> ipv6;  // first global address
};

// Throws std::runtime_error naming the interface when it does not exist.
Interface lookup(const std::string& name);
bool exists(const std::string& name);
// Up, non-loopback interfaces: where the lb program goes when the config
// names none.
std::vector<std::string> up_interfaces();

}  // namespace lbd::netif
