#include "config/model.h"

#include <arpa/inet.h>

#include <fmt/format.h>

namespace lbd::config {

std::string to_string(const Location& loc) {
    return loc.line > 0 ? fmt::format("{}:{}", loc.file, loc.line) : loc.file;
}

ConfigError::ConfigError(const Location& loc, const std::string& message)
    : std::runtime_error(fmt::format("{}: {}", to_string(loc), message)), loc_(loc) {}

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

}  // namespace lbd::config
