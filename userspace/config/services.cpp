#include "config/services.h"

#include "config/block_parser.h"
#include "config/interpret.h"
#include "config/lexer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>

namespace lbd::config {
namespace detail {

std::optional<uint32_t> parse_decimal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint32_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

void reject_block(const Node& node) {
    if (node.has_block) throw ConfigError(node.loc, fmt::format("{} does not take a block", node.keyword));
}

const std::string& single_value(const Node& node) {
    reject_block(node);
    if (node.args.empty()) throw ConfigError(node.loc, fmt::format("{} needs a value", node.keyword));
    if (node.args.size() > 1)
        throw ConfigError(
            node.loc, fmt::format("{} takes one value, got '{}'", node.keyword, fmt::join(node.args, " ")));
    return node.args.front();
}

uint32_t number_value(const Node& node, uint32_t min, uint32_t max) {
    const std::string& text = single_value(node);
    if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        throw ConfigError(node.loc, fmt::format("{} '{}' is not a whole number", node.keyword, text));
    const auto value = parse_decimal(text);
    if (!value || *value < min || *value > max)
        throw ConfigError(node.loc,
                          fmt::format("{} {} is out of range {}..{}", node.keyword, text, min, max));
    return *value;
}

bool one_of(std::string_view word, std::span<const std::string_view> words) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

void warn_ignored(const Node& node, std::vector<std::string>& warnings) {
    warnings.push_back(
        fmt::format("{}: {} is not supported yet; ignored", to_string(node.loc), node.keyword));
}

}  // namespace detail

namespace {

// keepalived top-level blocks that lbd reads but does not act on yet.
constexpr std::string_view kIgnoredTopLevel[] = {
    "vrrp_instance", "vrrp_script", "vrrp_sync_group", "vrrp_track_process", "vrrp_track_file",
    "track_file", "garp_group", "virtual_server_group", "static_ipaddress", "static_routes",
    "static_rules", "bfd_instance", "SSL", "linkbeat_use_polling", "net_namespace", "net_namespace_ipvs",
    "namespace_with_ipsets", "instance", "use_pid_dir", "child_wait_time",
};

void add_virtual_server(Config& config, VirtualServer vs) {
    for (const VirtualServer& other : config.virtual_servers) {
        if (other.addr == vs.addr && other.port == vs.port && other.proto == vs.proto)
            throw ConfigError(vs.loc,
                              fmt::format("virtual_server {} {} {} is already defined at {}", vs.addr.str(),
                                          vs.port, to_string(vs.proto), to_string(other.loc)));
    }
    config.virtual_servers.push_back(std::move(vs));
}

Config interpret(const std::vector<Node>& tree) {
    Config config;
    for (const Node& node : tree) {
        if (node.keyword == "global_defs")
            detail::read_global_defs(node, config.global, config.warnings);
        else if (node.keyword == "virtual_server")
            add_virtual_server(config, detail::read_virtual_server(node, config.warnings));
        else if (detail::one_of(node.keyword, kIgnoredTopLevel))
            detail::warn_ignored(node, config.warnings);
        else
            throw ConfigError(node.loc, fmt::format("unknown keyword '{}'", node.keyword));
    }
    return config;
}

}  // namespace

Config load(const std::string& path) { return interpret(parse_blocks(tokenize_file(path))); }

Config parse_string(std::string_view text, const std::string& name) {
    return interpret(parse_blocks(tokenize_string(text, name)));
}

}  // namespace lbd::config
