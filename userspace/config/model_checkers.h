// Health checkers of a real_server, as keepalived's checker blocks describe
// them. Values are resolved: a setting left out of the checker comes from the
// real_server, then the virtual_server, then keepalived's default.
#pragma once

#include "config/model_base.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace lbd::config {

enum class CheckerType {
    TCP_CHECK,
    HTTP_GET,
    SSL_GET,
    UDP_CHECK,
    PING_CHECK,
    DNS_CHECK,
    SMTP_CHECK,
    MISC_CHECK,
    FILE_CHECK
};

std::string_view to_string(CheckerType t);

// Where a check connects, and from where.
struct CheckTarget {
    IpAddr connect_ip;          // default: the real server
    uint16_t connect_port = 0;  // default: the real server's port
    std::optional<IpAddr> bindto;
    std::string bind_if;
    uint16_t bind_port = 0;  // 0: any
    uint32_t fwmark = 0;
    Location loc;  // of the checker, or of its SMTP_CHECK host block
};

// When a check runs and how many failures take the real down.
struct CheckTiming {
    Duration connect_timeout{};     // default 5 s
    Duration delay_loop{};          // default 60 s
    Duration delay_before_retry{};  // default 3 s for HTTP_GET/SSL_GET, delay_loop for DNS_CHECK, else 1 s
    Duration warmup{};              // default delay_loop: first check at a random time up to it
    uint32_t retry = 1;             // also nb_get_retry; default 0 for MISC_CHECK, 3 for DNS_CHECK
    bool alpha = false;             // start the real as down
    bool log_all_failures = false;
};

// keepalived's regex_options, in its order (check_http.c): each names a
// PCRE2 compile option (pcre2api(3)), PCRE2_CASELESS for `caseless`, ...
inline constexpr std::string_view kRegexOptionNames[] = {
    "allow_empty_class", "alt_bsux",         "auto_callout",        "caseless",      "dollar_endonly",
    "dotall",            "dupnames",         "extended",            "firstline",     "match_unset_backref",
    "multiline",         "never_ucp",        "never_utf",           "no_auto_capture", "no_auto_possess",
    "no_dotstar_anchor", "no_start_optimize", "ucp",                "ungreedy",      "utf",
    "never_backslash_c", "alt_circumflex",   "alt_verbnames",       "use_offset_limit",
};

// keepalived's regex_stack: the start and most bytes of the stack PCRE2's
// JIT matches on (pcre2_jit_stack_create(3)).
struct RegexStack {
    uint64_t start = 0;
    uint64_t max = 0;
    bool operator==(const RegexStack&) const = default;
};

struct HttpUrl {
    std::string path;
    std::string digest;                                       // lower-case MD5 hex, or empty
    std::vector<std::pair<uint16_t, uint16_t>> status_codes;  // inclusive ranges; default 200-299
    std::string virtualhost;  // url's, else checker's, real's, virtual_server's; may be empty
    std::string regex;  // PCRE2, as keepalived
    bool regex_no_match = false;
    std::vector<std::string> regex_options;   // names from kRegexOptionNames
    uint64_t regex_min_offset = 0;            // where in the body the search starts
    std::optional<uint64_t> regex_max_offset;  // the last offset a match may start at
    std::optional<RegexStack> regex_stack;     // none: PCRE2's own 32 KiB
    Location loc;
};

struct HttpCheck {                      // HTTP_GET and SSL_GET
    std::vector<HttpUrl> urls;          // at least one
    std::string http_protocol = "1.0";  // 1.0, 1.0C or 1.1
    bool fast_recovery = false;
    bool enable_sni = false;     // SSL_GET
    std::string sni_name;        // SSL_GET
    bool tls_compliant = false;  // SSL_GET
};

struct UdpCheck {
    std::vector<uint8_t> payload;  // empty: keepalived's "keepalived check - " text (check/udp_probe.cpp)
    bool require_reply = false;
    std::string reply_pattern;  // hex digits, x for "any"; empty: any reply
    uint32_t min_reply_length = 0;
    uint32_t max_reply_length = 255;
};

struct DnsCheck {
    std::string type = "SOA";  // A NS CNAME SOA MX TXT AAAA
    std::string name = ".";
};

struct SmtpCheck {
    std::string helo_name;           // empty: the host name
    std::vector<CheckTarget> hosts;  // `host { }` blocks; without any, the checker's target
};

struct MiscCheck {
    std::string command;   // misc_path, whole
    Duration timeout{};    // misc_timeout; default delay_loop
    bool dynamic = false;  // exit status 2..255 sets the weight
    std::string user;
    std::string group;
};

struct FileCheck {
    std::string track_file;  // a top-level track_file block
    int32_t weight = 1;
    bool reverse = false;
    bool dynamic = false;
};

struct Checker {
    CheckerType type = CheckerType::TCP_CHECK;
    CheckTarget target;  // unused by MISC_CHECK and FILE_CHECK
    CheckTiming timing;  // unused by FILE_CHECK
    // TCP_CHECK and PING_CHECK have nothing of their own (monostate).
    std::variant<std::monostate, HttpCheck, UdpCheck, DnsCheck, SmtpCheck, MiscCheck, FileCheck> detail;
    Location loc;
};

}  // namespace lbd::config
