// The top level of keepalived.conf: which block goes where.
#include "config/load.h"

#include "config/block_parser.h"
#include "config/interpret.h"
#include "config/lexer.h"

#include <sys/utsname.h>

#include <fmt/format.h>

#include <algorithm>

namespace lbd::config {
namespace {

// keepalived top-level blocks that lbd reads but does not act on yet.
constexpr std::string_view kIgnoredTopLevel[] = {
    "vrrp_track_process", "garp_group", "static_track_group", "track_group", "bfd_instance", "SSL",
    "linkbeat_use_polling", "linkbeat_interfaces", "interface_up_down_delays", "net_namespace_ipvs",
    "namespace_with_ipsets", "instance", "use_pid_dir", "child_wait_time",
};

void add_virtual_server(Config& config, VirtualServer vs) {
    for (const VirtualServer& other : config.virtual_servers) {
        if (other.addr == vs.addr && other.port == vs.port && other.proto == vs.proto)
            throw ConfigError(
                vs.loc, fmt::format("virtual_server {} {} {} is already defined at {}", vs.addr.str(), vs.port,
                                    to_string(vs.proto), to_string(other.loc)));
    }
    config.virtual_servers.push_back(std::move(vs));
}

template <class T>
void add_named(std::vector<T>& list, T item, std::string_view kind) {
    for (const T& other : list)
        if (other.name == item.name)
            throw ConfigError(
                item.loc, fmt::format("{} {} is already defined at {}", kind, item.name, to_string(other.loc)));
    list.push_back(std::move(item));
}

Config interpret(const std::vector<Node>& tree) {
    Config config;
    detail::Warnings& warnings = config.warnings;
    // Groups first: a virtual_server may name one defined further down.
    for (const Node& node : tree)
        if (node.keyword == "virtual_server_group")
            add_named(config.virtual_server_groups, detail::read_virtual_server_group(node),
                      "virtual_server_group");

    std::vector<detail::InstanceDraft> instances;
    uint32_t next_rule_priority = detail::kFirstRulePriority;
    for (const Node& node : tree) {
        const std::string& kw = node.keyword;
        if (kw == "global_defs") {
            detail::read_global_defs(node, config.global, warnings);
        } else if (kw == "net_namespace") {
            detail::set_net_namespace(node, config.global);
        } else if (kw == "static_ipaddress") {
            detail::append(config.static_addresses, detail::read_virtual_addresses(node));
        } else if (kw == "static_routes") {
            detail::append(config.static_routes, detail::read_virtual_routes(node));
        } else if (kw == "static_rules") {
            detail::append(config.static_rules,
                           detail::number_rules(detail::read_ip_rules(node), next_rule_priority, warnings));
        } else if (kw == "virtual_server") {
            for (VirtualServer& vs : detail::read_virtual_server(node, config.virtual_server_groups, warnings))
                add_virtual_server(config, std::move(vs));
        } else if (kw == "virtual_server_group") {
            // read above
        } else if (kw == "vrrp_instance") {
            detail::InstanceDraft draft = detail::read_vrrp_instance(node, warnings);
            draft.instance.virtual_rules =
                detail::number_rules(std::move(draft.virtual_rules), next_rule_priority, warnings);
            for (const detail::InstanceDraft& other : instances)
                if (other.instance.name == draft.instance.name)
                    throw ConfigError(
                        node.loc, fmt::format("vrrp_instance {} is already defined at {}", draft.instance.name,
                                              to_string(other.instance.loc)));
            instances.push_back(std::move(draft));
        } else if (kw == "vrrp_script") {
            add_named(config.vrrp_scripts, detail::read_vrrp_script(node, warnings), "vrrp_script");
        } else if (kw == "vrrp_sync_group") {
            add_named(config.vrrp_sync_groups, detail::read_vrrp_sync_group(node, warnings), "vrrp_sync_group");
        } else if (kw == "track_file" || kw == "vrrp_track_file") {
            add_named(config.track_files, detail::read_track_file(node, warnings), "track_file");
        } else if (detail::one_of(kw, kIgnoredTopLevel)) {
            detail::warn_ignored(node, warnings);
        } else {
            throw ConfigError(node.loc, fmt::format("unknown keyword '{}'", kw));
        }
    }
    detail::finish(config, instances);
    return config;
}

}  // namespace

std::string default_config_id() {
    utsname host{};
    if (uname(&host) != 0) return {};
    const std::string_view node(host.nodename);
    return std::string(node.substr(0, node.find('.')));
}

Config load(const std::string& path, const std::string& config_id) {
    return interpret(parse_blocks(tokenize_file(path, config_id)));
}

Config parse_string(std::string_view text, const std::string& name, const std::string& config_id) {
    return interpret(parse_blocks(tokenize_string(text, name, config_id)));
}

}  // namespace lbd::config
