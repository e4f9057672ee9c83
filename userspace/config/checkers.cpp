// Checker blocks of a real_server (TCP_CHECK, HTTP_GET, ...), read and then
// resolved against the real_server and virtual_server they sit in.
#include "config/interpret.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace lbd::config::detail {
namespace {

using namespace std::chrono_literals;

// keepalived's checker defaults (keepalived.conf(5), LVS CONFIGURATION).
constexpr Duration kDefaultConnectTimeout = 5s;
constexpr Duration kDefaultHttpRetryDelay = 3s;
constexpr Duration kDefaultRetryDelay = 1s;
constexpr Duration kMaxCheckTimer = 86400s;
constexpr int64_t kMaxFileWeight = 2147483647;

constexpr std::pair<std::string_view, CheckerType> kTypes[] = {
    {"TCP_CHECK", CheckerType::TCP_CHECK},   {"HTTP_GET", CheckerType::HTTP_GET},
    {"SSL_GET", CheckerType::SSL_GET},       {"UDP_CHECK", CheckerType::UDP_CHECK},
    {"PING_CHECK", CheckerType::PING_CHECK}, {"DNS_CHECK", CheckerType::DNS_CHECK},
    {"SMTP_CHECK", CheckerType::SMTP_CHECK}, {"MISC_CHECK", CheckerType::MISC_CHECK},
    {"FILE_CHECK", CheckerType::FILE_CHECK},
};

constexpr std::string_view kDnsTypes[] = {"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"};
constexpr std::string_view kHttpProtocols[] = {"1.0", "1.0C", "1.1"};
constexpr std::string_view kIgnoredUrl[] = {"tls_compliant"};
// A JIT stack grows to its max as a match needs it: bounded, so that a
// config cannot let one hostile page take the memory of the host.
constexpr uint32_t kMaxRegexStack = uint32_t{64} << 20;

// Where a checker connects: connect_ip, connect_port, bindto, bind_if, bind_port, fwmark.
bool read_target(const Node& n, CheckTarget& t, bool& port_given) {
    if (n.keyword == "connect_ip")
        t.connect_ip = address_value(n);
    else if (n.keyword == "connect_port") {
        t.connect_port = port_arg(n.loc, n.keyword, single_value(n));
        port_given = true;
    } else if (n.keyword == "bindto")
        t.bindto = address_value(n);
    else if (n.keyword == "bind_if")
        t.bind_if = interface_arg(n.loc, n.keyword, single_value(n));
    else if (n.keyword == "bind_port")
        t.bind_port = port_arg(n.loc, n.keyword, single_value(n));
    else if (n.keyword == "fwmark")
        t.fwmark = number_value(n, 0, 0xffffffff);
    else
        return false;
    return true;
}

// `Ab12f 3 456`: bytes from pairs of hex digits, left to right; an odd last
// digit is a byte of its own (keepalived's UDP_CHECK payload syntax).
std::string hex_words(const Node& n, bool wildcards) {
    std::string out;
    for (const std::string& word : n.args) {
        for (char c : word)
            if (!std::isxdigit(static_cast<unsigned char>(c)) && !(wildcards && (c == 'x' || c == 'X')))
                throw ConfigError(n.loc, fmt::format("{} '{}' is not hex digits", n.keyword, word));
        for (size_t i = 0; i < word.size(); ++i) {
            if (i + 1 == word.size() && word.size() % 2 == 1) out.push_back('0');
            out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(word[i]))));
        }
    }
    return out;
}

// genhash's output: an MD5 digest in hex.
std::string digest_value(const Node& n) {
    std::string d = single_value(n);
    std::transform(d.begin(), d.end(), d.begin(), [](unsigned char c) { return std::tolower(c); });
    if (d.size() != 32 || !std::all_of(d.begin(), d.end(), [](unsigned char c) { return std::isxdigit(c); }))
        throw ConfigError(n.loc, fmt::format("digest '{}' is not an MD5 digest (32 hex digits)", n.args[0]));
    return d;
}

void read_status_codes(const Node& n, HttpUrl& url) {
    reject_block(n);
    if (n.args.empty()) throw ConfigError(n.loc, "status_code needs a code or a range like 200-299");
    for (const std::string& arg : n.args) {
        const size_t dash = arg.find('-');
        const std::string lo_text = arg.substr(0, dash);
        const std::string hi_text = dash == std::string::npos ? lo_text : arg.substr(dash + 1);
        if (!parse_decimal(lo_text) || !parse_decimal(hi_text))
            throw ConfigError(n.loc,
                              fmt::format("status_code '{}' is not a code or a range like 200-299", arg));
        const auto lo = static_cast<uint16_t>(number_arg(n.loc, "status_code", lo_text, 100, 599));
        const auto hi = static_cast<uint16_t>(number_arg(n.loc, "status_code", hi_text, 100, 599));
        if (hi < lo) throw ConfigError(n.loc, fmt::format("status_code range {} is empty", arg));
        url.status_codes.emplace_back(lo, hi);
    }
}

void read_regex_options(const Node& n, HttpUrl& url) {
    reject_block(n);
    for (const std::string& option : n.args) {
        if (!one_of(option, kRegexOptionNames))
            throw ConfigError(n.loc, fmt::format("regex_options '{}' is not one of {}", option,
                                                 fmt::join(kRegexOptionNames, " ")));
        url.regex_options.push_back(option);
    }
}

void read_regex_stack(const Node& n, HttpUrl& url) {
    reject_block(n);
    if (n.args.size() != 2) throw ConfigError(n.loc, "regex_stack takes START and MAX, in bytes");
    const uint64_t start = number_arg(n.loc, "regex_stack start", n.args[0], 1, kMaxRegexStack);
    const uint64_t max = number_arg(n.loc, "regex_stack max", n.args[1], 1, kMaxRegexStack);
    if (start > max) throw ConfigError(n.loc, fmt::format("regex_stack start {} is over its max {}", start, max));
    url.regex_stack = RegexStack{start, max};
}

// keepalived's url_check(): regex settings without a regex are dropped, and
// offsets the wrong way round ignored, each with a word in the log.
void check_regex_settings(const Node& n, HttpUrl& url, Warnings& warnings) {
    const bool settings = !url.regex_options.empty() || url.regex_no_match || url.regex_min_offset != 0 ||
                          url.regex_max_offset || url.regex_stack;
    if (url.regex.empty() && settings) {
        warn(n.loc, "regex parameters specified without regex; ignored", warnings);
        url.regex_options.clear();
        url.regex_no_match = false;
        url.regex_min_offset = 0;
        url.regex_max_offset.reset();
        url.regex_stack.reset();
    }
    if (url.regex_max_offset && url.regex_min_offset > *url.regex_max_offset) {
        warn(n.loc,
             fmt::format("regex_min_offset {} > regex_max_offset {}; both ignored", url.regex_min_offset,
                         *url.regex_max_offset),
             warnings);
        url.regex_min_offset = 0;
        url.regex_max_offset.reset();
    }
}

using W = Warnings;
constexpr Keyword<HttpUrl> kUrlKeywords[] = {
    {"path", [](const Node& n, HttpUrl& u, W&) { u.path = single_value(n); }},
    {"digest", [](const Node& n, HttpUrl& u, W&) { u.digest = digest_value(n); }},
    {"status_code", [](const Node& n, HttpUrl& u, W&) { read_status_codes(n, u); }},
    {"virtualhost", [](const Node& n, HttpUrl& u, W&) { u.virtualhost = single_value(n); }},
    {"regex", [](const Node& n, HttpUrl& u, W&) { u.regex = single_value(n); }},
    {"regex_no_match", [](const Node& n, HttpUrl& u, W&) { flag_value(n); u.regex_no_match = true; }},
    {"regex_options", [](const Node& n, HttpUrl& u, W&) { read_regex_options(n, u); }},
    {"regex_min_offset", [](const Node& n, HttpUrl& u, W&) { u.regex_min_offset = number_value(n, 0, UINT32_MAX); }},
    {"regex_max_offset", [](const Node& n, HttpUrl& u, W&) { u.regex_max_offset = number_value(n, 0, UINT32_MAX); }},
    {"regex_stack", [](const Node& n, HttpUrl& u, W&) { read_regex_stack(n, u); }},
};

bool read_http(const Node& n, CheckerDraft& d, HttpCheck& h, Warnings& warnings) {
    const bool ssl = d.checker.type == CheckerType::SSL_GET;
    const std::string& kw = n.keyword;
    if (kw == "url") {
        require_block(n);
        HttpUrl url;
        url.loc = n.loc;
        read_children(n, "url", kUrlKeywords, kIgnoredUrl, url, warnings);
        if (url.path.empty()) throw ConfigError(n.loc, "url has no path");
        check_regex_settings(n, url, warnings);
        h.urls.push_back(std::move(url));
    } else if (kw == "http_protocol") {
        h.http_protocol = single_value(n);
        if (!one_of(h.http_protocol, kHttpProtocols))
            throw ConfigError(n.loc,
                              fmt::format("http_protocol '{}' is not 1.0, 1.0C or 1.1", h.http_protocol));
    } else if (kw == "fast_recovery") {
        h.fast_recovery = bool_value(n);
    } else if (kw == "virtualhost") {
        d.virtualhost = single_value(n);
    } else if (ssl && kw == "enable_sni") {
        h.enable_sni = bool_value(n);
    } else if (ssl && kw == "sni_name") {
        h.sni_name = single_value(n);
        h.enable_sni = true;
    } else if (ssl && kw == "tls_compliant") {
        h.tls_compliant = bool_value(n);
    } else {
        return false;
    }
    return true;
}

bool read_udp(const Node& n, UdpCheck& u) {
    if (n.keyword == "payload") {
        reject_block(n);
        if (n.args.empty()) throw ConfigError(n.loc, "payload needs hex digits");
        const std::string hex = hex_words(n, false);
        for (size_t i = 0; i < hex.size(); i += 2)
            u.payload.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
    } else if (n.keyword == "require_reply") {
        reject_block(n);
        u.require_reply = true;
        u.reply_pattern = hex_words(n, true);
    } else if (n.keyword == "min_reply_length") {
        u.min_reply_length = number_value(n, 0, 65507);
    } else if (n.keyword == "max_reply_length") {
        u.max_reply_length = number_value(n, 0, 65507);
    } else {
        return false;
    }
    return true;
}

bool read_smtp(const Node& n, SmtpCheck& s) {
    if (n.keyword == "helo_name") {
        s.helo_name = single_value(n);
    } else if (n.keyword == "host") {
        require_block(n);
        CheckTarget host;
        host.loc = n.loc;
        bool port_given = false;
        for (const Node& child : n.children)
            if (!read_target(child, host, port_given))
                throw ConfigError(child.loc, fmt::format("unknown keyword '{}' in host", child.keyword));
        s.hosts.push_back(host);
    } else {
        return false;
    }
    return true;
}

bool read_dns(const Node& n, DnsCheck& dns) {
    if (n.keyword == "type") {
        dns.type = single_value(n);
        std::transform(dns.type.begin(), dns.type.end(), dns.type.begin(),
                       [](unsigned char c) { return std::toupper(c); });
        if (!one_of(dns.type, kDnsTypes))
            throw ConfigError(n.loc,
                              fmt::format("type '{}' is not one of {}", n.args[0], fmt::join(kDnsTypes, " ")));
    } else if (n.keyword == "name") {
        dns.name = single_value(n);
    } else {
        return false;
    }
    return true;
}

bool read_misc(const Node& n, MiscCheck& m) {
    if (n.keyword == "misc_path") {
        m.command = command_value(n);
    } else if (n.keyword == "misc_timeout") {
        m.timeout = seconds_value(n, 1ms, kMaxCheckTimer);
    } else if (n.keyword == "misc_dynamic") {
        flag_value(n);
        m.dynamic = true;
    } else if (n.keyword == "user") {
        user_value(n, m.user, m.group);
    } else {
        return false;
    }
    return true;
}

bool read_file(const Node& n, FileCheck& f) {
    if (n.keyword == "track_file") {
        f.track_file = single_value(n);
    } else if (n.keyword == "dynamic") {
        flag_value(n);
        f.dynamic = true;
    } else if (n.keyword == "weight") {
        reject_block(n);
        if (n.args.empty() || n.args.size() > 2 || (n.args.size() == 2 && n.args[1] != "reverse"))
            throw ConfigError(n.loc, "weight takes a number and an optional 'reverse'");
        f.weight = static_cast<int32_t>(signed_arg(n.loc, "weight", n.args[0], -kMaxFileWeight, kMaxFileWeight));
        f.reverse = n.args.size() == 2;
    } else {
        return false;
    }
    return true;
}

// The keywords of one checker type; false for a keyword it does not have.
bool read_detail(const Node& n, CheckerDraft& d, Warnings& warnings) {
    auto& detail = d.checker.detail;
    if (auto* h = std::get_if<HttpCheck>(&detail)) return read_http(n, d, *h, warnings);
    if (auto* u = std::get_if<UdpCheck>(&detail)) return read_udp(n, *u);
    if (auto* s = std::get_if<SmtpCheck>(&detail)) return read_smtp(n, *s);
    if (auto* dns = std::get_if<DnsCheck>(&detail)) return read_dns(n, *dns);
    if (auto* m = std::get_if<MiscCheck>(&detail)) return read_misc(n, *m);
    if (auto* f = std::get_if<FileCheck>(&detail)) return read_file(n, *f);
    return false;
}

// Checkers that connect to a port: a real of port 0 (every port) cannot lend them its own.
bool needs_port(CheckerType t) {
    return t != CheckerType::PING_CHECK && t != CheckerType::MISC_CHECK && t != CheckerType::FILE_CHECK;
}

CheckTarget resolve_target(CheckTarget t, bool port_given, const RealServer& real, CheckerType type) {
    if (t.connect_ip.family == 0) t.connect_ip = real.addr;
    if (!port_given) t.connect_port = real.port;
    if (t.connect_port == 0 && needs_port(type))
        throw ConfigError(t.loc, fmt::format("{} needs a connect_port: real_server {} has port 0",
                                             to_string(type), real.addr.str()));
    return t;
}

}  // namespace

bool read_timing(const Node& n, TimingWritten& t) {
    const std::string& kw = n.keyword;
    if (kw == "connect_timeout")
        t.connect_timeout = seconds_value(n, 1ms, kMaxCheckTimer);
    else if (kw == "delay_loop")
        t.delay_loop = seconds_value(n, 1ms, kMaxCheckTimer);
    else if (kw == "delay_before_retry")
        t.delay_before_retry = seconds_value(n, 0s, kMaxCheckTimer);
    else if (kw == "warmup")
        t.warmup = seconds_value(n, 0s, kMaxCheckTimer);
    else if (kw == "retry" || kw == "nb_get_retry")
        t.retry = number_value(n, 0, 1000);
    else if (kw == "alpha")
        t.alpha = bool_value(n);
    else if (kw == "log_all_failures")
        t.log_all_failures = bool_value(n);
    else
        return false;
    return true;
}

bool is_checker(std::string_view keyword) {
    return std::any_of(std::begin(kTypes), std::end(kTypes), [&](const auto& t) { return t.first == keyword; });
}

CheckerDraft read_checker(const Node& node, Warnings& warnings) {
    require_block(node);
    if (!node.args.empty())
        throw ConfigError(
            node.loc, fmt::format("{} takes no arguments, got '{}'", node.keyword, fmt::join(node.args, " ")));
    CheckerDraft d;
    for (const auto& [name, type] : kTypes)
        if (name == node.keyword) d.checker.type = type;
    d.checker.loc = d.checker.target.loc = node.loc;
    switch (d.checker.type) {
        case CheckerType::HTTP_GET:
        case CheckerType::SSL_GET:
            d.checker.detail = HttpCheck{};
            break;
        case CheckerType::UDP_CHECK:
            d.checker.detail = UdpCheck{};
            break;
        case CheckerType::DNS_CHECK:
            d.checker.detail = DnsCheck{};
            break;
        case CheckerType::SMTP_CHECK:
            d.checker.detail = SmtpCheck{};
            break;
        case CheckerType::MISC_CHECK:
            d.checker.detail = MiscCheck{};
            break;
        case CheckerType::FILE_CHECK:
            d.checker.detail = FileCheck{};
            break;
        case CheckerType::TCP_CHECK:
        case CheckerType::PING_CHECK:
            break;
    }
    const CheckerType type = d.checker.type;
    const bool connects = type != CheckerType::MISC_CHECK && type != CheckerType::FILE_CHECK;
    for (const Node& child : node.children) {
        if (type != CheckerType::FILE_CHECK && read_timing(child, d.timing)) continue;
        if (connects && read_target(child, d.checker.target, d.port_given)) continue;
        if (read_detail(child, d, warnings)) continue;
        throw ConfigError(child.loc, fmt::format("unknown keyword '{}' in {}", child.keyword, node.keyword));
    }
    if (const auto* h = std::get_if<HttpCheck>(&d.checker.detail); h && h->urls.empty())
        throw ConfigError(node.loc, fmt::format("{} has no url {{ ... }} to check", node.keyword));
    if (const auto* m = std::get_if<MiscCheck>(&d.checker.detail); m && m->command.empty())
        throw ConfigError(node.loc, "MISC_CHECK has no misc_path");
    if (const auto* f = std::get_if<FileCheck>(&d.checker.detail); f && f->track_file.empty())
        throw ConfigError(node.loc, "FILE_CHECK has no track_file");
    return d;
}

Checker resolve_checker(CheckerDraft draft, const RealServer& real, const TimingWritten& real_timing,
                        const VirtualServer& vs, const TimingWritten& vs_timing) {
    Checker c = std::move(draft.checker);
    const auto pick = [&](auto member) {
        return draft.timing.*member  ? draft.timing.*member
               : real_timing.*member ? real_timing.*member
                                     : vs_timing.*member;
    };
    CheckTiming& t = c.timing;
    t.delay_loop = pick(&TimingWritten::delay_loop).value_or(vs.delay_loop);
    t.connect_timeout = pick(&TimingWritten::connect_timeout).value_or(kDefaultConnectTimeout);
    const bool http = c.type == CheckerType::HTTP_GET || c.type == CheckerType::SSL_GET;
    const bool dns = c.type == CheckerType::DNS_CHECK;
    t.delay_before_retry = pick(&TimingWritten::delay_before_retry)
                               .value_or(http  ? kDefaultHttpRetryDelay
                                         : dns ? t.delay_loop
                                               : kDefaultRetryDelay);
    t.warmup = pick(&TimingWritten::warmup).value_or(t.delay_loop);
    t.retry = pick(&TimingWritten::retry).value_or(c.type == CheckerType::MISC_CHECK ? 0 : dns ? 3 : 1);
    t.alpha = pick(&TimingWritten::alpha).value_or(vs.alpha);
    t.log_all_failures = draft.timing.log_all_failures.value_or(false);

    if (c.type != CheckerType::MISC_CHECK && c.type != CheckerType::FILE_CHECK)
        c.target = resolve_target(c.target, draft.port_given, real, c.type);
    if (auto* h = std::get_if<HttpCheck>(&c.detail)) {
        for (HttpUrl& url : h->urls) {
            if (url.virtualhost.empty())
                url.virtualhost = draft.virtualhost.empty() ? real.virtualhost : draft.virtualhost;
            if (url.status_codes.empty()) url.status_codes.emplace_back(200, 299);
        }
    } else if (auto* s = std::get_if<SmtpCheck>(&c.detail)) {
        for (CheckTarget& host : s->hosts) host = resolve_target(host, host.connect_port != 0, real, c.type);
    } else if (auto* m = std::get_if<MiscCheck>(&c.detail)) {
        if (m->timeout == Duration{0}) m->timeout = t.delay_loop;
    }
    return c;
}

}  // namespace lbd::config::detail
