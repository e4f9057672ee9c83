// The configuration lbd runs from, as read from a keepalived.conf: immutable
// once loaded; the data plane and (later) the VRRP engine are built from it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace lbd::config {

struct Location {
    std::string file;
    int line = 0;
};

// "file:line", or just "file" for line 0 (the file as a whole).
std::string to_string(const Location& loc);

// what() is "file:line: message" ("file: message" at line 0), ready for the operator.
class ConfigError : public std::runtime_error {
public:
    ConfigError(const Location& loc, const std::string& message);
    const Location& location() const { return loc_; }

private:
    Location loc_;
};

struct IpAddr {
    int family = 0;                    // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};   // network order; IPv4 in the first 4
    static std::optional<IpAddr> parse(std::string_view text);
    std::string str() const;
    bool operator==(const IpAddr&) const = default;
    auto operator<=>(const IpAddr&) const = default;
};

enum class Proto { TCP, UDP };
enum class Mode { DR, TUN };

// As keepalived.conf spells them: "TCP", "DR".
constexpr std::string_view to_string(Proto p) { return p == Proto::TCP ? "TCP" : "UDP"; }
constexpr std::string_view to_string(Mode m) { return m == Mode::DR ? "DR" : "TUN"; }

struct RealServer {
    IpAddr addr;
    uint16_t port = 0;
    uint32_t weight = 1;
    Location loc;
};

struct VirtualServer {
    IpAddr addr;
    uint16_t port = 0;  // 0: every port of the address
    Proto proto = Proto::TCP;
    Mode mode = Mode::DR;
    std::string algo = "wrr";         // lb_algo as written; weighted spread when unset
    uint32_t persistence_timeout = 0; // seconds; >0 pins a client to one real
    bool hash_source = false;         // sh/mh without -port, or persistence: by client address only
    std::vector<RealServer> reals;
    Location loc;
};

struct GlobalDefs {
    std::string router_id;
    std::vector<std::string> lb_interfaces;  // lbd: where the lb program attaches
    std::optional<IpAddr> tunnel_source4;    // lbd: outer source of TUN packets
    std::optional<IpAddr> tunnel_source6;
    uint32_t ring_size = 65537;              // lbd: Maglev slots per VIP (prime)
};

struct Config {
    GlobalDefs global;
    std::vector<VirtualServer> virtual_servers;
    std::vector<std::string> warnings;  // "file:line: ..." for what is read but not acted on
};

}  // namespace lbd::config
