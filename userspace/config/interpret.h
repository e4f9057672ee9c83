// Shared by the files that give the block tree its meaning; not part of the
// config API. values.cpp reads single values, the other files read blocks.
#pragma once

#include "config/block_parser.h"
#include "config/model.h"

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lbd::config::detail {

using Warnings = std::vector<std::string>;

// ---- values (values.cpp) ----

// Digits only, no sign or spaces; nullopt if it does not fit 32 bits.
std::optional<uint32_t> parse_decimal(std::string_view text);

// Seconds with at most `max_decimals` decimals ("1", "0.25"), in microseconds.
std::optional<Duration> parse_seconds(std::string_view text, int max_decimals = 6);

// "1", "0.5", "40.95": a duration as keepalived.conf would write it.
std::string seconds_text(Duration d);

// The one argument of a statement that takes no block.
const std::string& single_value(const Node& node);

// single_value() as a decimal in [min, max].
uint32_t number_value(const Node& node, uint32_t min, uint32_t max);
// The same for one word `text` of a statement: "WHAT 'x' is not a whole number", "WHAT 7 is out of range".
uint32_t number_arg(const Location& loc, std::string_view what, std::string_view text, uint32_t min,
                    uint32_t max);
int64_t signed_arg(const Location& loc, std::string_view what, std::string_view text, int64_t min, int64_t max);
int64_t signed_value(const Node& node, int64_t min, int64_t max);

// Seconds in [min, max].
Duration seconds_arg(const Location& loc, std::string_view what, std::string_view text, Duration min,
                     Duration max);
Duration seconds_value(const Node& node, Duration min, Duration max);

// keepalived <BOOL>: on|off|true|false|yes|no; no value is true.
bool bool_value(const Node& node);

// A keyword that takes no value and no block.
void flag_value(const Node& node);

IpAddr address_arg(const Location& loc, std::string_view what, std::string_view text);
IpAddr address_value(const Node& node);
uint16_t port_arg(const Location& loc, std::string_view what, std::string_view text);

// 1..15 characters, no '/', ':' or spaces: what the kernel accepts as a name.
const std::string& interface_arg(const Location& loc, std::string_view what, const std::string& name);

// COMMAND [USER [GROUP]]: notify scripts, FIFOs.
Script script_value(const Node& node);
// The command of `script`, `misc_path`: one quoted word, or unquoted words joined by spaces.
std::string command_value(const Node& node);
// USER [GROUP] into the two strings.
void user_value(const Node& node, std::string& user, std::string& group);

// `KEYWORD NAME { ... }`: the name, after checking there is one and a block.
const std::string& block_name(const Node& node);
void require_block(const Node& node);
void reject_block(const Node& node);

bool one_of(std::string_view word, std::span<const std::string_view> words);

// "file:line: KEYWORD is not supported yet; ignored"
void warn_ignored(const Node& node, Warnings& warnings);
void warn(const Location& loc, const std::string& message, Warnings& warnings);

// ---- blocks read through keyword tables ----

template <class T>
struct Keyword {
    std::string_view name;
    void (*read)(const Node& node, T& out, Warnings& warnings);
};

// Each child of `block` through its table entry; keepalived keywords in
// `ignored` are warned about; anything else is "unknown keyword 'x' in WHERE".
template <class T, size_t N>
void read_children(const Node& block, std::string_view where, const Keyword<T> (&table)[N],
                   std::span<const std::string_view> ignored, T& out, Warnings& warnings) {
    for (const Node& child : block.children) {
        const Keyword<T>* found = nullptr;
        for (const Keyword<T>& k : table)
            if (k.name == child.keyword) found = &k;
        if (found != nullptr)
            found->read(child, out, warnings);
        else if (one_of(child.keyword, ignored))
            warn_ignored(child, warnings);
        else
            throw ConfigError(child.loc, fmt::format("unknown keyword '{}' in {}", child.keyword, where));
    }
}

template <class T>
void append(std::vector<T>& to, std::vector<T> from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

// The words of a list block: every keyword and argument of every line, in
// order, each with its line (`group { VI_1 VI_2 }` or one per line).
struct Word {
    std::string text;
    Location loc;
};
std::vector<Word> list_words(const Node& block);

// ---- addresses.cpp, rules.cpp: lines in `ip` syntax ----

// The words of one line, keyword first, consumed left to right.
class Line {
public:
    explicit Line(const Node& node) : loc_(node.loc) {
        reject_block(node);
        words_.push_back(node.keyword);
        words_.insert(words_.end(), node.args.begin(), node.args.end());
    }
    bool done() const { return pos_ == words_.size(); }
    const std::string& next() { return words_[pos_++]; }
    const std::string& peek() const { return words_[pos_]; }
    // The value after option `opt`; `subject` names the line in the message.
    const std::string& value(std::string_view subject, std::string_view opt) {
        if (done()) throw ConfigError(loc_, fmt::format("{}: {} needs a value", subject, opt));
        return next();
    }
    const Location& loc() const { return loc_; }

private:
    std::vector<std::string> words_;
    size_t pos_ = 0;
    Location loc_;
};

// ADDR or ADDR/LEN; without a length, the host prefix. nullopt: not one.
std::optional<IpPrefix> parse_prefix(std::string_view text);
IpPrefix prefix_arg(const Location& loc, std::string_view what, std::string_view text);
// The address with every bit after the prefix set (`set`) or cleared.
IpAddr host_bits(const IpPrefix& p, bool set);
// "SUBJECT P: the WHAT has host bits set (the network is N)" unless p is a network.
void require_network(const Location& loc, std::string_view subject, std::string_view what, const IpPrefix& p);
// main, local, default or a number; protocol names as `ip route` knows them.
uint32_t table_arg(const Location& loc, std::string_view subject, std::string_view text);
uint8_t protocol_arg(const Location& loc, std::string_view subject, std::string_view text);

// The block's keyword says which: virtual_ipaddress(_excluded) or
// static_ipaddress, virtual_routes or static_routes (the static ones take
// `track_group` too).
std::vector<VirtualAddress> read_virtual_addresses(const Node& block);
std::vector<VirtualRoute> read_virtual_routes(const Node& block);

// A rule as read; keepalived numbers the ones written without a priority
// once their place in the file is known.
struct RuleDraft {
    IpRule rule;
    bool priority_given = false;
};
// static_rules or virtual_rules.
std::vector<RuleDraft> read_ip_rules(const Node& block);
// keepalived's first priority for a rule written without one; each next
// such rule of the file gets one less.
constexpr uint32_t kFirstRulePriority = 16384;
// The rules, each draft without a priority given `next` (then one less),
// with a warning saying so.
std::vector<IpRule> number_rules(std::vector<RuleDraft> drafts, uint32_t& next, Warnings& warnings);

// ---- vrrp.cpp, vrrp_tracking.cpp ----

// An instance as read, with the keywords that were written: what was not
// is filled from global_defs once the whole file is read.
struct InstanceDraft {
    VrrpInstance instance;
    std::vector<RuleDraft> virtual_rules;  // numbered into instance.virtual_rules by the loader
    std::map<std::string, Location> written;  // keyword -> its (last) line
    bool auth_type_given = false;
    // Where `kw` was written; nullptr when it was not.
    const Location* where(const std::string& kw) const {
        const auto it = written.find(kw);
        return it == written.end() ? nullptr : &it->second;
    }
};

InstanceDraft read_vrrp_instance(const Node& node, Warnings& warnings);
VrrpScript read_vrrp_script(const Node& node, Warnings& warnings);
VrrpSyncGroup read_vrrp_sync_group(const Node& node, Warnings& warnings);
TrackFile read_track_file(const Node& node, Warnings& warnings);
// keepalived: tracking weights move a priority within 1..254; a file's
// value may need one more.
constexpr int32_t kMaxTrackWeight = 253;
constexpr int32_t kMaxTrackFileWeight = 254;

// Entries of track_script / track_interface / track_file: NAME [weight N] [reverse|noreverse].
std::vector<Tracked> read_tracked(const Node& block, int32_t min_weight, int32_t max_weight);
// notify_master / _backup / _fault / _stop / notify into `notify`; false for other keywords.
bool read_notify(const Node& node, NotifyScripts& notify);

// ---- global_defs.cpp, virtual_server.cpp, checkers.cpp ----

void read_global_defs(const Node& node, GlobalDefs& global, Warnings& warnings);
// net_namespace NAME: keepalived reads it at the top level, lbd in global_defs too.
void set_net_namespace(const Node& node, GlobalDefs& global);
VirtualServerGroup read_virtual_server_group(const Node& node);
// One VirtualServer, or one per member of the group it names.
std::vector<VirtualServer> read_virtual_server(const Node& node, const std::vector<VirtualServerGroup>& groups,
                                               Warnings& warnings);

// Checker timing as written at one level (virtual_server, real_server, checker).
struct TimingWritten {
    std::optional<Duration> connect_timeout, delay_loop, delay_before_retry, warmup;
    std::optional<uint32_t> retry;
    std::optional<bool> alpha, log_all_failures;
};
// Reads `node` into `t` if it is a timing keyword; false if it is not one.
bool read_timing(const Node& node, TimingWritten& t);

struct CheckerDraft {
    Checker checker;
    TimingWritten timing;
    std::string virtualhost;  // HTTP_GET / SSL_GET: the urls' default
    bool port_given = false;
};
bool is_checker(std::string_view keyword);
CheckerDraft read_checker(const Node& node, Warnings& warnings);
// Fills what the checker left out from the real server and virtual server.
Checker resolve_checker(CheckerDraft draft, const RealServer& real, const TimingWritten& real_timing,
                        const VirtualServer& vs, const TimingWritten& vs_timing);

// ---- validate.cpp ----

// Resolves instances against global_defs, then checks what spans blocks.
void finish(Config& config, std::vector<InstanceDraft>& instances);

}  // namespace lbd::config::detail
