// Single values of keepalived.conf statements: numbers, times, addresses,
// names, scripts; each refused with the statement's file:line.
#include "config/interpret.h"

#include <net/if.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace lbd::config::detail {
namespace {

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// A whole-second count this long already means years; it bounds the arithmetic.
constexpr size_t kMaxSecondDigits = 9;

}  // namespace

std::optional<uint32_t> parse_decimal(std::string_view text) {
    if (text.empty()) return std::nullopt;
    uint32_t value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end) return std::nullopt;
    return value;
}

std::optional<Duration> parse_seconds(std::string_view text, int max_decimals) {
    const size_t dot = text.find('.');
    const std::string_view whole = text.substr(0, dot);
    const std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
    if (!all_digits(whole) || whole.size() > kMaxSecondDigits) return std::nullopt;
    if (dot != std::string_view::npos && (!all_digits(frac) || frac.size() > static_cast<size_t>(max_decimals)))
        return std::nullopt;
    int64_t us = static_cast<int64_t>(*parse_decimal(whole)) * 1'000'000;
    int64_t scale = 100'000;
    for (char c : frac) {
        us += (c - '0') * scale;
        scale /= 10;
    }
    return Duration(us);
}

std::string seconds_text(Duration d) {
    const int64_t us = d.count();
    if (us % 1'000'000 == 0) return std::to_string(us / 1'000'000);
    std::string frac = fmt::format("{:06}", us % 1'000'000);
    while (frac.back() == '0') frac.pop_back();
    return fmt::format("{}.{}", us / 1'000'000, frac);
}

void reject_block(const Node& node) {
    if (node.has_block) throw ConfigError(node.loc, fmt::format("{} does not take a block", node.keyword));
}

void require_block(const Node& node) {
    if (!node.has_block) throw ConfigError(node.loc, fmt::format("{} needs a {{ ... }} block", node.keyword));
}

const std::string& block_name(const Node& node) {
    if (node.args.empty()) throw ConfigError(node.loc, fmt::format("{} needs a name", node.keyword));
    if (node.args.size() > 1)
        throw ConfigError(node.loc,
                          fmt::format("{} takes one name, got '{}'", node.keyword, fmt::join(node.args, " ")));
    if (!node.has_block)
        throw ConfigError(node.loc, fmt::format("{} {} needs a {{ ... }} block", node.keyword, node.args[0]));
    return node.args[0];
}

const std::string& single_value(const Node& node) {
    reject_block(node);
    if (node.args.empty()) throw ConfigError(node.loc, fmt::format("{} needs a value", node.keyword));
    if (node.args.size() > 1)
        throw ConfigError(node.loc,
                          fmt::format("{} takes one value, got '{}'", node.keyword, fmt::join(node.args, " ")));
    return node.args.front();
}

uint32_t number_arg(const Location& loc, std::string_view what, std::string_view text, uint32_t min,
                    uint32_t max) {
    if (!all_digits(text)) throw ConfigError(loc, fmt::format("{} '{}' is not a whole number", what, text));
    const auto value = parse_decimal(text);
    if (!value || *value < min || *value > max)
        throw ConfigError(loc, fmt::format("{} {} is out of range {}..{}", what, text, min, max));
    return *value;
}

uint32_t number_value(const Node& node, uint32_t min, uint32_t max) {
    return number_arg(node.loc, node.keyword, single_value(node), min, max);
}

int64_t signed_arg(const Location& loc, std::string_view what, std::string_view text, int64_t min,
                   int64_t max) {
    const bool negative = !text.empty() && text.front() == '-';
    const std::string_view digits = negative ? text.substr(1) : text;
    if (!all_digits(digits)) throw ConfigError(loc, fmt::format("{} '{}' is not a whole number", what, text));
    int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || (negative ? -value : value) < min || (negative ? -value : value) > max)
        throw ConfigError(loc, fmt::format("{} {} is out of range {}..{}", what, text, min, max));
    return negative ? -value : value;
}

int64_t signed_value(const Node& node, int64_t min, int64_t max) {
    return signed_arg(node.loc, node.keyword, single_value(node), min, max);
}

Duration seconds_arg(const Location& loc, std::string_view what, std::string_view text, Duration min,
                     Duration max) {
    const auto value = parse_seconds(text);
    if (!value) throw ConfigError(loc, fmt::format("{} '{}' is not a number of seconds", what, text));
    if (*value < min || *value > max)
        throw ConfigError(loc, fmt::format("{} {} is out of range {}..{} seconds", what, text,
                                           seconds_text(min), seconds_text(max)));
    return *value;
}

Duration seconds_value(const Node& node, Duration min, Duration max) {
    return seconds_arg(node.loc, node.keyword, single_value(node), min, max);
}

bool bool_value(const Node& node) {
    reject_block(node);
    if (node.args.empty()) return true;
    const std::string word = lower(single_value(node));
    if (word == "on" || word == "true" || word == "yes") return true;
    if (word == "off" || word == "false" || word == "no") return false;
    throw ConfigError(node.loc, fmt::format("{} '{}' is not one of on, off, true, false, yes, no", node.keyword,
                                            node.args[0]));
}

void flag_value(const Node& node) {
    reject_block(node);
    if (!node.args.empty())
        throw ConfigError(node.loc,
                          fmt::format("{} takes no value, got '{}'", node.keyword, fmt::join(node.args, " ")));
}

IpAddr address_arg(const Location& loc, std::string_view what, std::string_view text) {
    const auto addr = IpAddr::parse(text);
    if (!addr) throw ConfigError(loc, fmt::format("{} '{}' is not an IP address", what, text));
    return *addr;
}

IpAddr address_value(const Node& node) {
    return address_arg(node.loc, node.keyword, single_value(node));
}

uint16_t port_arg(const Location& loc, std::string_view what, std::string_view text) {
    return static_cast<uint16_t>(number_arg(loc, what, text, 1, 65535));
}

const std::string& interface_arg(const Location& loc, std::string_view what, const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        throw ConfigError(loc, fmt::format("{} '{}' is not an interface name of 1 to {} characters", what, name,
                                           IFNAMSIZ - 1));
    // What the kernel refuses in a name (dev_valid_name()).
    if (name.find_first_of("/: \t") != std::string::npos || name == "." || name == "..")
        throw ConfigError(loc, fmt::format("{} '{}' is not an interface name (no '/', ':' or spaces)", what, name));
    return name;
}

Script script_value(const Node& node) {
    reject_block(node);
    if (node.args.empty() || node.args[0].empty())
        throw ConfigError(node.loc, fmt::format("{} needs a command", node.keyword));
    if (node.args.size() > 3)
        throw ConfigError(node.loc, fmt::format("{} takes a command and an optional user and group, got '{}' "
                                                "(quote a command that has arguments)",
                                                node.keyword, fmt::join(node.args, " ")));
    Script s;
    s.command = node.args[0];
    if (node.args.size() > 1) s.user = node.args[1];
    if (node.args.size() > 2) s.group = node.args[2];
    s.loc = node.loc;
    return s;
}

std::string command_value(const Node& node) {
    reject_block(node);
    if (node.args.empty() || node.args[0].empty())
        throw ConfigError(node.loc, fmt::format("{} needs a command", node.keyword));
    // `script "a b" interval 2` is a one-line block gone wrong, not a command.
    const bool some_quoted = std::find(node.quoted.begin(), node.quoted.end(), true) != node.quoted.end();
    if (node.args.size() > 1 && some_quoted)
        throw ConfigError(node.loc, fmt::format("{} takes one command: quote all of it or none of it, got '{}'",
                                                node.keyword, fmt::join(node.args, " ")));
    return fmt::format("{}", fmt::join(node.args, " "));
}

void user_value(const Node& node, std::string& user, std::string& group) {
    reject_block(node);
    if (node.args.empty()) throw ConfigError(node.loc, fmt::format("{} needs a user name", node.keyword));
    if (node.args.size() > 2)
        throw ConfigError(node.loc, fmt::format("{} takes a user and an optional group, got '{}'", node.keyword,
                                                fmt::join(node.args, " ")));
    user = node.args[0];
    group = node.args.size() > 1 ? node.args[1] : "";
}

bool one_of(std::string_view word, std::span<const std::string_view> words) {
    return std::find(words.begin(), words.end(), word) != words.end();
}

void warn_ignored(const Node& node, Warnings& warnings) {
    warn(node.loc, fmt::format("{} is not supported yet; ignored", node.keyword), warnings);
}

void warn(const Location& loc, const std::string& message, Warnings& warnings) {
    warnings.push_back(fmt::format("{}: {}", to_string(loc), message));
}

std::vector<Word> list_words(const Node& block) {
    std::vector<Word> words;
    for (const Node& line : block.children) {
        reject_block(line);
        words.push_back({line.keyword, line.loc});
        for (const std::string& arg : line.args) words.push_back({arg, line.loc});
    }
    return words;
}

}  // namespace lbd::config::detail
