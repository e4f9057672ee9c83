// static_rules and virtual_rules: lines with the syntax of `ip rule add`, as
// keepalived 2.2 reads them, option names in full (keepalived takes no
// abbreviations: `pref` is not `preference`).
#include "config/interpret.h"

#include <sys/socket.h>

#include <fmt/format.h>

#include <charconv>
#include <limits>

namespace lbd::config::detail {
namespace {

constexpr uint64_t kMaxU32 = std::numeric_limits<uint32_t>::max();

// Decimal, or hexadecimal after 0x, as `ip rule` reads marks and tos.
std::optional<uint64_t> parse_number(std::string_view text) {
    const bool hex = text.starts_with("0x") || text.starts_with("0X");
    const std::string_view digits = hex ? text.substr(2) : text;
    uint64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, hex ? 16 : 10);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return value;
}

// protocol numbers `ip rule ipproto` knows by name.
constexpr std::pair<std::string_view, uint8_t> kIpProtocols[] = {
    {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50}, {"ah", 51},
    {"ipv6-icmp", 58}, {"icmpv6", 58}, {"sctp", 132}, {"udplite", 136},
};

struct Action {
    RuleAction action;
    std::string_view word;
};
constexpr Action kBareActions[] = {
    {RuleAction::nop, "nop"},
    {RuleAction::blackhole, "blackhole"},
    {RuleAction::unreachable, "unreachable"},
    {RuleAction::prohibit, "prohibit"},
    {RuleAction::l3mdev, "l3mdev"},
};

// One line of a rules block, read option by option into a draft.
class RuleReader {
public:
    RuleReader(const Node& node, const std::string& subject) : line_(node), subject_(subject) {
        draft_.rule.loc = node.loc;
    }

    RuleDraft read() {
        while (!line_.done()) option(line_.next());
        finish();
        return std::move(draft_);
    }

private:
    Line line_;
    const std::string& subject_;
    RuleDraft draft_;
    int written_family_ = 0;  // inet / inet6
    std::string_view action_word_;

    IpRule& rule() { return draft_.rule; }
    const Location& loc() const { return line_.loc(); }

    [[noreturn]] void fail(const std::string& message) const {
        throw ConfigError(loc(), fmt::format("{}: {}", subject_, message));
    }

    uint64_t number(std::string_view opt, uint64_t max) {
        const std::string& text = line_.value(subject_, opt);
        const auto value = parse_number(text);
        if (!value) fail(fmt::format("{} '{}' is not a number", opt, text));
        if (*value > max) fail(fmt::format("{} {} is out of range 0..{}", opt, text, max));
        return *value;
    }

    // A or A-B, first <= last.
    NumberRange range(std::string_view opt, uint64_t max) {
        const std::string& text = line_.value(subject_, opt);
        const size_t dash = text.find('-');
        const auto first = parse_number(std::string_view(text).substr(0, dash));
        const auto last = dash == std::string::npos ? first : parse_number(std::string_view(text).substr(dash + 1));
        if (!first || !last) fail(fmt::format("{} '{}' is not a number or a range A-B", opt, text));
        if (*last > max || *first > *last) fail(fmt::format("{} {} is not a range within 0..{}", opt, text, max));
        return {static_cast<uint32_t>(*first), static_cast<uint32_t>(*last)};
    }

    std::optional<IpPrefix> selector(std::string_view opt) {
        const std::string& text = line_.value(subject_, opt);
        if (text == "all" || text == "default") return std::nullopt;
        const IpPrefix p = prefix_arg(loc(), fmt::format("{}: {}", subject_, opt), text);
        require_network(loc(), fmt::format("{} {}", subject_, opt), "prefix", p);
        return p;
    }

    void set_action(RuleAction action, std::string_view word) {
        if (!action_word_.empty())
            fail(fmt::format("both {} and {} given; a rule has one action", action_word_, word));
        rule().action = action;
        action_word_ = word;
    }

    void set_fwmark() {
        const std::string_view text = line_.value(subject_, "fwmark");
        const size_t slash = text.find('/');
        const auto bits = [&](std::string_view part) {
            const auto value = parse_number(part);
            if (!value || *value > kMaxU32) fail(fmt::format("fwmark '{}' is not a 32-bit MARK or MARK/MASK", text));
            return static_cast<uint32_t>(*value);
        };
        rule().fwmark = bits(text.substr(0, slash));
        if (slash != std::string_view::npos) rule().fwmask = bits(text.substr(slash + 1));
    }

    void set_realms() {
        const std::string& text = line_.value(subject_, "realms");
        const size_t slash = text.find('/');
        const auto from = slash == std::string::npos ? std::optional<uint64_t>(0)
                                                     : parse_number(std::string_view(text).substr(0, slash));
        const auto to = parse_number(slash == std::string::npos ? std::string_view(text)
                                                                : std::string_view(text).substr(slash + 1));
        if (!from || !to || *from > 0xffff || *to > 0xffff)
            fail(fmt::format("realms '{}' is not [FROM/]TO, each 0..65535", text));
        rule().realms = static_cast<uint32_t>(*from << 16 | *to);
    }

    void set_ipproto() {
        const std::string& text = line_.value(subject_, "ipproto");
        for (const auto& [name, number] : kIpProtocols)
            if (text == name) {
                rule().ipproto = number;
                return;
            }
        const auto value = parse_number(text);
        if (!value || *value > 255) fail(fmt::format("ipproto '{}' is not a protocol name or 0..255", text));
        rule().ipproto = static_cast<uint8_t>(*value);
    }

    void set_table(std::string_view opt) {
        set_action(RuleAction::table, opt);
        rule().table = table_arg(loc(), subject_, line_.value(subject_, opt));
        if (rule().table == 0) fail("table 0 is not a routing table");
    }

    void set_type() {
        const std::string& word = line_.value(subject_, "type");
        for (const Action& a : kBareActions)
            if (word == a.word && a.action != RuleAction::l3mdev && a.action != RuleAction::nop)
                return set_action(a.action, a.word);
        fail(fmt::format("type '{}' is not blackhole, unreachable or prohibit", word));
    }

    bool bare_action(std::string_view opt) {
        for (const Action& a : kBareActions)
            if (opt == a.word) {
                set_action(a.action, a.word);
                return true;
            }
        return false;
    }

    void option(const std::string& opt) {
        if (bare_action(opt)) return;
        IpRule& r = rule();
        if (opt == "from") {
            r.from = selector(opt);
        } else if (opt == "to") {
            r.to = selector(opt);
        } else if (opt == "not") {
            r.invert = true;
        } else if (opt == "priority" || opt == "preference" || opt == "order") {
            r.priority = static_cast<uint32_t>(number(opt, kMaxU32));
            draft_.priority_given = true;
        } else if (opt == "table" || opt == "lookup") {
            set_table(opt);
        } else if (opt == "goto") {
            set_action(RuleAction::goto_, opt);
            r.goto_target = static_cast<uint32_t>(number(opt, kMaxU32));
        } else if (opt == "type") {
            set_type();
        } else if (opt == "tos" || opt == "dsfield") {
            r.tos = static_cast<uint8_t>(number(opt, 255));
        } else if (opt == "fwmark") {
            set_fwmark();
        } else if (opt == "iif") {
            r.iif = interface_arg(loc(), opt, line_.value(subject_, opt));
        } else if (opt == "oif") {
            r.oif = interface_arg(loc(), opt, line_.value(subject_, opt));
        } else if (opt == "realms") {
            set_realms();
        } else if (opt == "suppress_prefixlength" || opt == "sup_pl") {
            r.suppress_prefixlength = static_cast<uint32_t>(number(opt, 128));
        } else if (opt == "suppress_ifgroup" || opt == "sup_group") {
            r.suppress_ifgroup = static_cast<uint32_t>(number(opt, kMaxU32));
        } else if (opt == "tunnel-id") {
            r.tunnel_id = number(opt, std::numeric_limits<uint64_t>::max());
        } else if (opt == "uidrange") {
            r.uidrange = range(opt, kMaxU32);
        } else if (opt == "ipproto") {
            set_ipproto();
        } else if (opt == "sport" || opt == "dport") {
            (opt == "sport" ? r.sport : r.dport) = range(opt, 65535);
        } else if (opt == "protocol") {
            r.protocol = protocol_arg(loc(), subject_, line_.value(subject_, opt));
        } else if (opt == "no_track") {
            r.no_track = true;
        } else if (opt == "track_group" && subject_ == "static_rules") {
            r.track_group = line_.value(subject_, opt);
        } else if (opt == "inet" || opt == "inet6") {
            written_family_ = opt == "inet" ? AF_INET : AF_INET6;
        } else {
            fail(fmt::format("unknown option '{}'", opt));
        }
    }

    // The family the addresses, `inet`/`inet6` and realms agree on.
    void settle_family() {
        IpRule& r = rule();
        int family = written_family_;
        for (const auto* p : {&r.from, &r.to}) {
            if (!*p) continue;
            const int f = (*p)->addr.family;
            if (family != 0 && f != family)
                fail(fmt::format("{} is {}, but the rule is {} by what comes before it", (*p)->str(), family_name(f),
                                 family_name(family)));
            family = f;
        }
        r.family = family != 0 ? family : AF_INET;
        if (r.realms && r.family != AF_INET) fail("realms are for IPv4 rules");
    }

    void finish() {
        IpRule& r = rule();
        settle_family();
        if (action_word_.empty())
            fail("the rule has no action (table, goto, nop, blackhole, unreachable, prohibit or l3mdev)");
        if (r.action == RuleAction::goto_ && !draft_.priority_given)
            fail(fmt::format("goto {} needs a priority on the rule, below its target", r.goto_target));
        if (r.action == RuleAction::goto_ && r.goto_target <= r.priority)
            fail(fmt::format("goto {} must go to a priority after the rule's own {}", r.goto_target, r.priority));
    }
};

}  // namespace

std::vector<RuleDraft> read_ip_rules(const Node& block) {
    require_block(block);
    if (!block.args.empty())
        throw ConfigError(block.loc, fmt::format("{} takes its rules in the {{ ... }} block", block.keyword));
    std::vector<RuleDraft> out;
    for (const Node& node : block.children) out.push_back(RuleReader(node, block.keyword).read());
    return out;
}

std::vector<IpRule> number_rules(std::vector<RuleDraft> drafts, uint32_t& next, Warnings& warnings) {
    std::vector<IpRule> out;
    for (RuleDraft& d : drafts) {
        if (!d.priority_given) {
            d.rule.priority = next--;
            warn(d.rule.loc,
                 fmt::format("the rule has no priority; it gets {}, as keepalived numbers such rules in file "
                             "order (give it one: rules are matched by priority)",
                             d.rule.priority),
                 warnings);
        }
        out.push_back(std::move(d.rule));
    }
    return out;
}

}  // namespace lbd::config::detail
