// What VRRP instances track and run: vrrp_script, track_file, vrrp_sync_group,
// the track_* lists and notify scripts they share.
#include "config/interpret.h"

#include <fmt/format.h>

#include <algorithm>

namespace lbd::config::detail {
namespace {

using namespace std::chrono_literals;

// A script interval or timeout beyond a day is a typing mistake.
constexpr Duration kMaxScriptTimer = 86400s;
constexpr int64_t kMaxFileWeight = 2147483647;

// keepalived vrrp_sync_group keywords that lbd reads but does not act on.
constexpr std::string_view kIgnoredSyncGroup[] = {
    "track_process", "track_bfd", "notify_priority_changes", "notify_deleted", "global_tracking",
};

// The options after a tracked name: weight N, reverse, noreverse.
void read_track_options(const Node& line, Tracked& t, std::string_view list, int64_t min, int64_t max) {
    const std::string subject = fmt::format("{} {}", list, t.name);
    for (size_t i = 0; i < line.args.size(); ++i) {
        const std::string& opt = line.args[i];
        if (opt == "reverse" || opt == "noreverse") {
            t.reverse = opt == "reverse";
        } else if (opt == "weight") {
            if (++i == line.args.size()) throw ConfigError(line.loc, fmt::format("{}: weight needs a value", subject));
            t.weight = static_cast<int32_t>(signed_arg(line.loc, "weight", line.args[i], min, max));
        } else {
            throw ConfigError(line.loc, fmt::format("{}: unknown option '{}'", subject, opt));
        }
    }
}

void set_weight(const Node& node, int64_t max, int32_t& weight, bool& reverse) {
    reject_block(node);
    if (node.args.empty()) throw ConfigError(node.loc, "weight needs a value");
    if (node.args.size() > 2 ||
        (node.args.size() == 2 && node.args[1] != "reverse" && node.args[1] != "noreverse"))
        throw ConfigError(node.loc, "weight takes a number and an optional 'reverse'");
    weight = static_cast<int32_t>(signed_arg(node.loc, "weight", node.args[0], -max, max));
    reverse = node.args.size() == 2 && node.args[1] == "reverse";
}

using W = Warnings;
constexpr Keyword<VrrpScript> kScriptKeywords[] = {
    {"script", [](const Node& n, VrrpScript& s, W&) { s.command = command_value(n); }},
    {"interval", [](const Node& n, VrrpScript& s, W&) { s.interval = seconds_value(n, 1ms, kMaxScriptTimer); }},
    {"timeout", [](const Node& n, VrrpScript& s, W&) { s.timeout = seconds_value(n, 1ms, kMaxScriptTimer); }},
    {"weight", [](const Node& n, VrrpScript& s, W&) { set_weight(n, kMaxTrackWeight, s.weight, s.reverse); }},
    {"rise", [](const Node& n, VrrpScript& s, W&) { s.rise = number_value(n, 1, 1000000); }},
    {"fall", [](const Node& n, VrrpScript& s, W&) { s.fall = number_value(n, 1, 1000000); }},
    {"user", [](const Node& n, VrrpScript& s, W&) { user_value(n, s.user, s.group); }},
    {"init_fail", [](const Node& n, VrrpScript& s, W&) { flag_value(n); s.init_fail = true; }},
};

void set_init_file(const Node& node, TrackFile& f) {
    reject_block(node);
    f.init_value = 0;
    for (const std::string& arg : node.args) {
        if (arg == "overwrite")
            f.init_overwrite = true;
        else
            f.init_value = signed_arg(node.loc, "init_file", arg, -kMaxFileWeight, kMaxFileWeight);
    }
}

constexpr Keyword<TrackFile> kTrackFileKeywords[] = {
    {"file", [](const Node& n, TrackFile& f, W&) { f.path = single_value(n); }},
    {"weight", [](const Node& n, TrackFile& f, W&) { set_weight(n, kMaxFileWeight, f.weight, f.reverse); }},
    {"init_file", [](const Node& n, TrackFile& f, W&) { set_init_file(n, f); }},
};

void set_members(const Node& node, VrrpSyncGroup& g) {
    require_block(node);
    if (!node.args.empty()) throw ConfigError(node.loc, "group takes its instances in the { ... } block");
    for (const Word& w : list_words(node)) g.members.push_back({w.text, w.loc});
}

constexpr Keyword<VrrpSyncGroup> kSyncGroupKeywords[] = {
    {"group", [](const Node& n, VrrpSyncGroup& g, W&) { set_members(n, g); }},
    {"track_script", [](const Node& n, VrrpSyncGroup& g, W&) {
         append(g.track_scripts, read_tracked(n, -kMaxTrackWeight, kMaxTrackWeight));
     }},
    {"track_interface", [](const Node& n, VrrpSyncGroup& g, W&) {
         append(g.track_interfaces, read_tracked(n, -kMaxTrackWeight, kMaxTrackWeight));
     }},
    {"track_file", [](const Node& n, VrrpSyncGroup& g, W&) {
         append(g.track_files, read_tracked(n, -kMaxTrackFileWeight, kMaxTrackFileWeight));
     }},
    {"notify_master", [](const Node& n, VrrpSyncGroup& g, W&) { read_notify(n, g.notify); }},
    {"notify_backup", [](const Node& n, VrrpSyncGroup& g, W&) { read_notify(n, g.notify); }},
    {"notify_fault", [](const Node& n, VrrpSyncGroup& g, W&) { read_notify(n, g.notify); }},
    {"notify_stop", [](const Node& n, VrrpSyncGroup& g, W&) { read_notify(n, g.notify); }},
    {"notify", [](const Node& n, VrrpSyncGroup& g, W&) { read_notify(n, g.notify); }},
    {"smtp_alert", [](const Node& n, VrrpSyncGroup& g, W&) { g.smtp_alert = bool_value(n); }},
    {"sync_group_tracking_weight", [](const Node& n, VrrpSyncGroup& g, W&) {
         flag_value(n);
         g.sync_group_tracking_weight = true;
     }},
};

// keepalived's grammar takes a group's members in `group { ... }` only, yet
// its own lvs_syncd sample (and its old case study) lists them bare in the
// block; keepalived then runs the instances unsynchronised. lbd reads a
// bare word as the member it was meant to be; check_sync_groups refuses one
// that names no instance as the unknown keyword it then is.
bool is_bare_member(const Node& child) {
    const bool keyword = std::any_of(std::begin(kSyncGroupKeywords), std::end(kSyncGroupKeywords),
                                     [&](const Keyword<VrrpSyncGroup>& k) { return k.name == child.keyword; });
    return child.args.empty() && !child.has_block && !keyword && !one_of(child.keyword, kIgnoredSyncGroup);
}

}  // namespace

std::vector<Tracked> read_tracked(const Node& block, int32_t min_weight, int32_t max_weight) {
    require_block(block);
    if (!block.args.empty())
        throw ConfigError(block.loc, fmt::format("{} takes its names in the {{ ... }} block", block.keyword));
    std::vector<Tracked> out;
    // One entry a line, as keepalived reads them.
    for (const Node& line : block.children) {
        reject_block(line);
        Tracked t{line.keyword, std::nullopt, false, line.loc};
        if (block.keyword == "track_interface") interface_arg(t.loc, "track_interface", t.name);
        read_track_options(line, t, block.keyword, min_weight, max_weight);
        out.push_back(t);
    }
    return out;
}

bool read_notify(const Node& node, NotifyScripts& notify) {
    std::optional<Script>* slot = node.keyword == "notify_master"   ? &notify.master
                                  : node.keyword == "notify_backup" ? &notify.backup
                                  : node.keyword == "notify_fault"  ? &notify.fault
                                  : node.keyword == "notify_stop"   ? &notify.stop
                                  : node.keyword == "notify"        ? &notify.any
                                                                    : nullptr;
    if (slot == nullptr) return false;
    *slot = script_value(node);
    return true;
}

VrrpScript read_vrrp_script(const Node& node, Warnings& warnings) {
    VrrpScript s;
    s.name = block_name(node);
    s.loc = node.loc;
    read_children(node, "vrrp_script", kScriptKeywords, {}, s, warnings);
    if (s.command.empty()) throw ConfigError(node.loc, fmt::format("vrrp_script {} has no script", s.name));
    // keepalived: the timeout defaults to the interval.
    const bool has_timeout = std::any_of(node.children.begin(), node.children.end(),
                                         [](const Node& c) { return c.keyword == "timeout"; });
    if (!has_timeout) s.timeout = s.interval;
    return s;
}

TrackFile read_track_file(const Node& node, Warnings& warnings) {
    TrackFile f;
    f.name = block_name(node);
    f.loc = node.loc;
    read_children(node, node.keyword, kTrackFileKeywords, {}, f, warnings);
    if (f.path.empty()) throw ConfigError(node.loc, fmt::format("{} {} has no file", node.keyword, f.name));
    return f;
}

VrrpSyncGroup read_vrrp_sync_group(const Node& node, Warnings& warnings) {
    VrrpSyncGroup g;
    g.name = block_name(node);
    g.loc = node.loc;
    Node keywords = node;
    keywords.children.clear();
    for (const Node& child : node.children) {
        if (!is_bare_member(child)) {
            keywords.children.push_back(child);
            continue;
        }
        g.members.push_back({child.keyword, child.loc, true});
        warn(child.loc,
             fmt::format("vrrp_sync_group {}: {} is read as a member, as if in group {{ ... }}; keepalived "
                         "reads members only there and reports this line as an unknown keyword",
                         g.name, child.keyword),
             warnings);
    }
    read_children(keywords, "vrrp_sync_group", kSyncGroupKeywords, kIgnoredSyncGroup, g, warnings);
    if (g.members.empty())
        throw ConfigError(node.loc,
                          fmt::format("vrrp_sync_group {} has no group {{ ... }} of instances", g.name));
    return g;
}

}  // namespace lbd::config::detail
