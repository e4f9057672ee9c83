// render_metrics() from a hand-built data plane snapshot and engine status:
// the exact lines, label escaping, a checker of the text exposition format
// 0.0.4 that every line of the output must pass, Prometheus' naming rules,
// and the dashboard and alert rules of config/ asking only for what lbd
// serves.
#include "ctl/metrics.h"
#include "util/version.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace lbd::ctl {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::Not;

// ---- a checker of the exposition format (version 0.0.4) ----

bool metric_name(std::string_view s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') return false;
    return true;
}

bool label_name(std::string_view s) {
    return metric_name(s) && s.find(':') == std::string_view::npos && !s.starts_with("__");
}

bool sample_value(std::string_view s) {
    if (s == "NaN" || s == "+Inf" || s == "-Inf") return true;
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && ptr == s.data() + s.size();
}

using LabelNames = std::set<std::string, std::less<>>;

// Reads `{name="value",...}` from the front of `s`; the series key (labels as
// written) into `labels`, their names into `names`. Empty on success, else
// what is wrong.
std::string read_labels(std::string_view& s, std::string& labels, LabelNames& names) {
    const std::string_view start = s;
    s.remove_prefix(1);
    while (!s.starts_with('}')) {
        const size_t eq = s.find('=');
        if (eq == std::string_view::npos) return "label without '='";
        const std::string_view name = s.substr(0, eq);
        if (!label_name(name)) return "bad label name '" + std::string(name) + "'";
        if (!names.emplace(name).second) return "label '" + std::string(name) + "' twice";
        s.remove_prefix(eq + 1);
        if (!s.starts_with('"')) return "label value not quoted";
        s.remove_prefix(1);
        for (;;) {
            if (s.empty()) return "label value never closed";
            if (s[0] == '"') break;
            if (s[0] == '\n') return "raw line feed in a label value";
            if (s[0] == '\\') {
                if (s.size() < 2 || (s[1] != '\\' && s[1] != '"' && s[1] != 'n')) return "bad escape";
                s.remove_prefix(1);
            }
            s.remove_prefix(1);
        }
        s.remove_prefix(1);
        if (s.starts_with(',')) s.remove_prefix(1);
        else if (!s.starts_with('}')) return "',' or '}' expected after a label";
    }
    s.remove_prefix(1);
    labels = std::string(start.substr(0, start.size() - s.size()));
    return "";
}

struct Family {
    std::string type;
    int helps = 0;
    int types = 0;
    int samples = 0;
    LabelNames labels;                // of all its samples
    std::vector<std::string> values;  // of its samples, as written
};

// Every problem of `text`, one per entry, with its line number; empty when
// Prometheus would take it.
std::vector<std::string> check_exposition(const std::string& text, std::map<std::string, Family>& families) {
    std::vector<std::string> errors;
    if (!text.empty() && text.back() != '\n') errors.push_back("the last line has no line feed");
    std::set<std::string> series;
    std::set<std::string> finished;  // families whose samples are over
    std::string current;
    std::istringstream in(text);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        const auto bad = [&](const std::string& why) {
            errors.push_back(std::to_string(n) + ": " + why + ": " + line);
        };
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            const std::string_view rest = std::string_view(line).substr(7);
            const size_t sp = rest.find(' ');
            const std::string name(rest.substr(0, sp));
            if (!metric_name(name) || sp == std::string_view::npos) bad("bad metadata line");
            Family& f = families[name];
            if (line[2] == 'H') {
                if (++f.helps > 1) bad("second HELP");
            } else {
                f.type = std::string(rest.substr(sp + 1));
                if (++f.types > 1) bad("second TYPE");
                if (f.samples > 0) bad("TYPE after samples");
                static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
                if (!kTypes.contains(f.type)) bad("unknown type");
            }
            if (name != current && !current.empty()) finished.insert(current);
            current = name;
            continue;
        }
        if (line.starts_with('#')) continue;
        if (line.empty()) {
            bad("empty line");
            continue;
        }
        std::string_view s = line;
        const size_t name_end = s.find_first_of("{ ");
        const std::string name(s.substr(0, name_end));
        if (!metric_name(name) || name_end == std::string_view::npos) {
            bad("bad metric name");
            continue;
        }
        s.remove_prefix(name_end);
        std::string labels;
        LabelNames names;
        if (s.starts_with('{')) {
            const std::string why = read_labels(s, labels, names);
            if (!why.empty()) {
                bad(why);
                continue;
            }
        }
        if (!s.starts_with(' ') || !sample_value(s.substr(1, s.find(' ', 1) - 1))) bad("bad value");
        if (!series.insert(name + labels).second) bad("series twice");
        if (finished.contains(name)) bad("samples of a family apart");
        if (name != current && !current.empty()) finished.insert(current);
        current = name;
        Family& f = families[name];
        if (f.types == 0) bad("sample before its TYPE");
        ++f.samples;
        f.labels.insert(names.begin(), names.end());
        f.values.emplace_back(s.substr(1, s.find(' ', 1) - 1));
    }
    return errors;
}

// ---- the input ----

lbd_addr v4(const char* text) {
    lbd_addr a{};
    inet_pton(AF_INET, text, &a.v4);
    return a;
}

lbd_addr v6(const char* text) {
    lbd_addr a{};
    inet_pton(AF_INET6, text, a.bytes);
    return a;
}

dataplane::Snapshot snapshot() {
    dataplane::Snapshot s;
    dataplane::VipView web;
    web.key = {v4("10.213.0.100"), htons(80), IPPROTO_TCP, LBD_AF_INET};
    web.meta.mode = LBD_MODE_DR;
    web.active = true;
    web.counters = {1000, 1500000, 20};
    dataplane::VipView dns;
    dns.key = {v6("2001:db8::100"), htons(53), IPPROTO_UDP, LBD_AF_INET6};
    dns.meta.mode = LBD_MODE_TUN;
    dns.active = false;
    dns.counters = {7, 700, 7};
    s.vips = {web, dns};

    dataplane::RealView r1;
    r1.index = 0;
    r1.real.addr = v4("10.213.0.12");
    r1.real.family = LBD_AF_INET;
    r1.counters = {600, 900000, 12};
    dataplane::RealView r2;
    r2.index = 3;
    r2.real.addr = v6("2001:db8::12");
    r2.real.family = LBD_AF_INET6;
    r2.counters = {7, 700, 7};
    s.reals = {r1, r2};

    s.reasons.assign(LBD_REASON_MAX, 0);
    s.reasons[LBD_R_FWD_TX] = 1007;
    s.reasons[LBD_R_PASS_NOT_VIP] = 42;
    s.vrrp_reasons.assign(LBD_VRRP_REASON_MAX, 0);
    s.vrrp_reasons[LBD_VR_RX_QUEUED] = 300;
    s.vrrp_reasons[LBD_VR_DROP_BAD_AUTH] = 2;
    s.flow_events.assign(LBD_FE_MAX, 0);
    s.flow_events[LBD_FE_INSERTED] = 31;
    s.flow_events[LBD_FE_GUARDED] = 5;
    return s;
}

ctl::FlowState flows() {
    ctl::FlowState f;
    f.counts.entries = 23;
    f.counts.live = 19;
    f.counts.capacity = 1048576;
    f.guard_active = true;
    return f;
}

std::vector<vrrp::InstanceStatus> instances() {
    vrrp::InstanceStatus vi1;
    vi1.name = "VI_1";
    vi1.state = vrrp::State::MASTER;
    vi1.priority = 150;
    vi1.effective_priority = 130;
    vi1.transitions = 2;
    vi1.adverts_sent = 1234;
    vi1.adverts_received = 5;
    vrrp::InstanceStatus odd;
    odd.name = "odd\"name\\with\nnewline";
    odd.state = vrrp::State::BACKUP;
    odd.priority = 100;
    odd.effective_priority = 100;
    return {vi1, odd};
}

std::vector<check::RealStatus> checked_reals() {
    check::RealStatus up;
    up.vs = "[10.213.0.100]:tcp:80";
    up.real = "[10.213.0.12]:tcp:80";
    up.address = *IpAddr::parse("10.213.0.12");
    up.port = 80;
    up.weight = 3;
    up.configured_weight = 3;
    up.last_latency_ms = 12.5;
    up.last_check_unix_ms = 1'700'000'000'000;
    up.checks = 40;
    up.failures = 1;
    check::RealStatus unchecked;
    unchecked.vs = "[2001:db8::100]:tcp:443";
    unchecked.real = "[2001:db8::12]:tcp:8443";
    unchecked.address = *IpAddr::parse("2001:db8::12");
    unchecked.port = 8443;
    unchecked.up = false;
    unchecked.drained = true;
    return {up, unchecked};
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

// The families metrics.h lists, with their types.
const std::map<std::string, std::string> kFamilies = {
    {"lbd_build_info", "gauge"},
    {"lbd_config_last_reload_successful", "gauge"},
    {"lbd_config_last_reload_success_timestamp_seconds", "gauge"},
    {"lbd_config_reloads_total", "counter"},
    {"lbd_vip_packets_total", "counter"},
    {"lbd_vip_bytes_total", "counter"},
    {"lbd_vip_new_flows_total", "counter"},
    {"lbd_vip_active", "gauge"},
    {"lbd_real_packets_total", "counter"},
    {"lbd_real_bytes_total", "counter"},
    {"lbd_real_new_flows_total", "counter"},
    {"lbd_packets_total", "counter"},
    {"lbd_vrrp_rx_packets_total", "counter"},
    {"lbd_conntrack_entries", "gauge"},
    {"lbd_conntrack_flows", "gauge"},
    {"lbd_conntrack_capacity", "gauge"},
    {"lbd_flow_events_total", "counter"},
    {"lbd_flood_guard_active", "gauge"},
    {"lbd_vrrp_state", "gauge"},
    {"lbd_vrrp_priority", "gauge"},
    {"lbd_vrrp_effective_priority", "gauge"},
    {"lbd_vrrp_transitions_total", "counter"},
    {"lbd_vrrp_adverts_sent_total", "counter"},
    {"lbd_vrrp_adverts_received_total", "counter"},
    {"lbd_real_up", "gauge"},
    {"lbd_real_drained", "gauge"},
    {"lbd_real_weight", "gauge"},
    {"lbd_real_checks_total", "counter"},
    {"lbd_real_check_failures_total", "counter"},
    {"lbd_real_last_check_latency_seconds", "gauge"},
    {"lbd_vip_announced", "gauge"},
    {"lbd_node_drained", "gauge"},
};

// ---- the tests ----

TEST(MetricsRender, EveryLineIsExpositionFormat) {
    std::map<std::string, Family> families;
    EXPECT_THAT(check_exposition(render_metrics(snapshot(), flows(), instances(), checked_reals()), families), IsEmpty());
}

TEST(MetricsRender, EveryFamilyHasHelpAndTypeOnce) {
    std::map<std::string, Family> families;
    ASSERT_THAT(check_exposition(render_metrics(snapshot(), flows(), instances(), checked_reals()), families), IsEmpty());
    std::map<std::string, std::string> types;
    for (const auto& [name, f] : families) {
        EXPECT_EQ(f.helps, 1) << name;
        EXPECT_EQ(f.types, 1) << name;
        types[name] = f.type;
    }
    EXPECT_EQ(types, kFamilies);
}

TEST(MetricsRender, EmptyInputStillDescribesEveryFamily) {
    std::map<std::string, Family> families;
    const std::string text = render_metrics({}, {}, {}, {});
    ASSERT_THAT(check_exposition(text, families), IsEmpty());
    EXPECT_EQ(families.size(), kFamilies.size());
    // Only the daemon's and the flow tables' families have samples without
    // a VIP, real, reason or instance.
    EXPECT_THAT(lines_of(text), Contains("lbd_conntrack_entries 0"));
    EXPECT_EQ(families.at("lbd_conntrack_entries").samples, 1);
    EXPECT_THAT(lines_of(text), Contains("lbd_flood_guard_active 0"));
    EXPECT_EQ(families.at("lbd_build_info").samples, 1);
    EXPECT_EQ(families.at("lbd_config_reloads_total").samples, 2);
    EXPECT_EQ(families.at("lbd_vip_packets_total").samples, 0);
}

TEST(MetricsRender, DataPlaneLines) {
    const auto lines = lines_of(render_metrics(snapshot(), flows(), {}, {}));
    for (const char* want : {
             "# HELP lbd_vip_packets_total Packets to the virtual service sent on to a real server.",
             "# TYPE lbd_vip_packets_total counter",
             "lbd_vip_packets_total{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 1000",
             "lbd_vip_packets_total{vip=\"[2001:db8::100]:udp:53\",mode=\"TUN\"} 7",
             "lbd_vip_bytes_total{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 1500000",
             "lbd_vip_new_flows_total{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 20",
             "# TYPE lbd_vip_active gauge",
             "lbd_vip_active{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 1",
             "lbd_vip_active{vip=\"[2001:db8::100]:udp:53\",mode=\"TUN\"} 0",
             "lbd_real_packets_total{real=\"10.213.0.12\"} 600",
             "lbd_real_bytes_total{real=\"10.213.0.12\"} 900000",
             "lbd_real_new_flows_total{real=\"2001:db8::12\"} 7",
             "# TYPE lbd_packets_total counter",
             "lbd_packets_total{reason=\"fwd_tx\"} 1007",
             "lbd_packets_total{reason=\"pass_not_vip\"} 42",
             "lbd_packets_total{reason=\"drop_adjust\"} 0",
             "lbd_vrrp_rx_packets_total{reason=\"rx_queued\"} 300",
             "lbd_vrrp_rx_packets_total{reason=\"drop_bad_auth\"} 2",
             "# TYPE lbd_conntrack_entries gauge",
             "lbd_conntrack_entries 23",
             "lbd_conntrack_flows 19",
             "lbd_conntrack_capacity 1048576",
             "# TYPE lbd_flow_events_total counter",
             "lbd_flow_events_total{event=\"inserted\"} 31",
             "lbd_flow_events_total{event=\"guarded\"} 5",
             "lbd_flow_events_total{event=\"syn_untracked\"} 0",
             "lbd_flood_guard_active 1",
         })
        EXPECT_THAT(lines, Contains(want));
    // Every reason, by the names lbctl stats prints.
    std::map<std::string, Family> families;
    ASSERT_THAT(check_exposition(render_metrics(snapshot(), flows(), {}, {}), families), IsEmpty());
    EXPECT_EQ(families.at("lbd_packets_total").samples, LBD_REASON_MAX);
    EXPECT_EQ(families.at("lbd_vrrp_rx_packets_total").samples, LBD_VRRP_REASON_MAX);
}

TEST(MetricsRender, VrrpLines) {
    const auto lines = lines_of(render_metrics({}, {}, instances(), {}));
    for (const char* want : {
             "# TYPE lbd_vrrp_state gauge",
             "lbd_vrrp_state{vrrp_instance=\"VI_1\",state=\"INIT\"} 0",
             "lbd_vrrp_state{vrrp_instance=\"VI_1\",state=\"BACKUP\"} 0",
             "lbd_vrrp_state{vrrp_instance=\"VI_1\",state=\"MASTER\"} 1",
             "lbd_vrrp_state{vrrp_instance=\"VI_1\",state=\"FAULT\"} 0",
             "lbd_vrrp_priority{vrrp_instance=\"VI_1\"} 150",
             "lbd_vrrp_effective_priority{vrrp_instance=\"VI_1\"} 130",
             "# TYPE lbd_vrrp_transitions_total counter",
             "lbd_vrrp_transitions_total{vrrp_instance=\"VI_1\"} 2",
             "lbd_vrrp_adverts_sent_total{vrrp_instance=\"VI_1\"} 1234",
             "lbd_vrrp_adverts_received_total{vrrp_instance=\"VI_1\"} 5",
         })
        EXPECT_THAT(lines, Contains(want));
}

TEST(MetricsRender, LabelValuesAreEscaped) {
    const auto lines = lines_of(render_metrics({}, {}, instances(), {}));
    EXPECT_THAT(lines, Contains(R"(lbd_vrrp_state{vrrp_instance="odd\"name\\with\nnewline",state="BACKUP"} 1)"));
    EXPECT_THAT(lines, Contains(R"(lbd_vrrp_priority{vrrp_instance="odd\"name\\with\nnewline"} 100)"));
}

TEST(MetricsRender, CheckedRealLines) {
    const auto lines = lines_of(render_metrics({}, {}, {}, checked_reals()));
    for (const char* want : {
             "# TYPE lbd_real_up gauge",
             "lbd_real_up{vip=\"10.213.0.100:tcp:80\",real=\"10.213.0.12\",port=\"80\"} 1",
             "lbd_real_up{vip=\"[2001:db8::100]:tcp:443\",real=\"2001:db8::12\",port=\"8443\"} 0",
             "lbd_real_drained{vip=\"10.213.0.100:tcp:80\",real=\"10.213.0.12\",port=\"80\"} 0",
             "lbd_real_drained{vip=\"[2001:db8::100]:tcp:443\",real=\"2001:db8::12\",port=\"8443\"} 1",
             "lbd_real_weight{vip=\"10.213.0.100:tcp:80\",real=\"10.213.0.12\",port=\"80\"} 3",
             "# TYPE lbd_real_checks_total counter",
             "lbd_real_checks_total{vip=\"10.213.0.100:tcp:80\",real=\"10.213.0.12\",port=\"80\"} 40",
             "lbd_real_check_failures_total{vip=\"10.213.0.100:tcp:80\",real=\"10.213.0.12\",port=\"80\"} 1",
             "# TYPE lbd_real_last_check_latency_seconds gauge",
             "lbd_real_last_check_latency_seconds{vip=\"10.213.0.100:tcp:80\",real=\"10.213.0.12\",port=\"80\"} 0.0125",
         })
        EXPECT_THAT(lines, Contains(want));
    // Not checked yet: no latency rather than a made-up 0.
    std::map<std::string, Family> families;
    ASSERT_THAT(check_exposition(render_metrics({}, {}, {}, checked_reals()), families), IsEmpty());
    EXPECT_EQ(families.at("lbd_real_last_check_latency_seconds").samples, 1);
    EXPECT_EQ(families.at("lbd_real_up").samples, 2);
}

TEST(MetricsRender, AnnounceLines) {
    announce::Status a;
    a.table = 100;
    a.drained = false;
    a.vips = {{*IpAddr::parse("10.216.0.100"), announce::Verdict::announced, true},
              {*IpAddr::parse("fd00:216::100"), announce::Verdict::no_quorum, false}};
    const std::string text = render_metrics({}, {}, {}, {}, {}, a);
    std::map<std::string, Family> families;
    ASSERT_THAT(check_exposition(text, families), IsEmpty());
    const auto lines = lines_of(text);
    for (const char* want : {
             "# TYPE lbd_vip_announced gauge",
             "lbd_vip_announced{vip=\"10.216.0.100\"} 1",
             "lbd_vip_announced{vip=\"fd00:216::100\"} 0",
             "# TYPE lbd_node_drained gauge",
             "lbd_node_drained 0",
         })
        EXPECT_THAT(lines, Contains(want));
    // Without lb_announce_table: the families, no samples.
    std::map<std::string, Family> none;
    ASSERT_THAT(check_exposition(render_metrics({}, {}, {}, {}), none), IsEmpty());
    EXPECT_EQ(none.at("lbd_vip_announced").samples, 0);
    EXPECT_EQ(none.at("lbd_node_drained").samples, 0);
}

// The checker itself: it must catch what Prometheus would refuse, or the
// test above proves nothing.
TEST(MetricsRender, CheckerRefusesBrokenExposition) {
    const char* broken[] = {
        "# TYPE a counter\na{x=\"1\"} 1",                        // no final line feed
        "a 1\n",                                                 // no TYPE
        "# TYPE a counter\na{x=\"\\q\"} 1\n",                    // bad escape
        "# TYPE a counter\na{x=1} 1\n",                          // unquoted
        "# TYPE a counter\na one\n",                             // value
        "# TYPE a counter\n# TYPE a counter\na 1\n",             // TYPE twice
        "# TYPE a counter\na 1\na 2\n",                          // series twice
        "# TYPE a counter\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 1\n",  // a apart
        "# TYPE 1a counter\n1a 1\n",                             // name
        "# TYPE a counter\na{x=\"1\",x=\"2\"} 1\n",              // label twice
    };
    for (const char* text : broken) {
        std::map<std::string, Family> families;
        EXPECT_THAT(check_exposition(text, families), Not(IsEmpty())) << text;
    }
}

TEST(MetricsRender, DaemonLines) {
    Reloads failed;
    failed.loaded_unix_ms = 1'700'000'000'500;
    failed.last_unix_ms = 1'700'000'100'000;
    failed.last_applied = false;
    failed.last_error = "keepalived.conf:3: unknown keyword 'lb_kinds'";
    failed.applied = 2;
    failed.failed = 1;
    const auto lines = lines_of(render_metrics({}, {}, {}, {}, failed));
    for (const std::string& want : {
             fmt::format("lbd_build_info{{version=\"{}\",abi=\"{}\"}} 1", kVersion, LBD_ABI_VERSION),
             std::string("# TYPE lbd_config_last_reload_successful gauge"),
             std::string("lbd_config_last_reload_successful 0"),
             std::string("lbd_config_last_reload_success_timestamp_seconds 1700000000.5"),
             std::string("# TYPE lbd_config_reloads_total counter"),
             std::string("lbd_config_reloads_total{result=\"applied\"} 2"),
             std::string("lbd_config_reloads_total{result=\"failed\"} 1"),
         })
        EXPECT_THAT(lines, Contains(want));
    EXPECT_THAT(lines_of(render_metrics({}, {}, {}, {})), Contains("lbd_config_last_reload_successful 1"));
}

// ---- Prometheus' naming rules (prometheus.io, "Metric and label naming") ----

std::vector<std::string> words_of(std::string_view name) {
    std::vector<std::string> out;
    for (size_t at = 0; at <= name.size();) {
        const size_t end = std::min(name.find('_', at), name.size());
        out.emplace_back(name.substr(at, end - at));
        at = end + 1;
    }
    return out;
}

bool snake_case(std::string_view s) {
    if (s.empty() || !std::islower(static_cast<unsigned char>(s[0])) || s.back() == '_' ||
        s.find("__") != std::string_view::npos)
        return false;
    for (char c : s)
        if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '_')
            return false;
    return true;
}

// Every way a family breaks the rules, one line each.
std::vector<std::string> naming_problems(const std::map<std::string, Family>& families) {
    // Base units only, as a word of the name; a unit is the last word but for _total.
    static const std::set<std::string> kNotBase = {"milliseconds", "microseconds", "nanoseconds", "ms",
                                                   "minutes",      "hours",        "kilobytes",   "megabytes",
                                                   "bits",         "percent"};
    static const std::set<std::string> kTargetLabels = {"instance", "job"};
    std::vector<std::string> problems;
    for (const auto& [name, f] : families) {
        const auto bad = [&, &name = name](const std::string& why) { problems.push_back(name + ": " + why); };
        if (!name.starts_with("lbd_")) bad("not in lbd's namespace (lbd_)");
        if (!snake_case(name)) bad("not snake_case");
        const auto words = words_of(name);
        const bool total = words.back() == "total";
        if (f.type == "counter" && !total) bad("a counter's name ends in _total");
        if (f.type != "counter" && total) bad("only a counter's name ends in _total");
        for (const char* reserved : {"count", "sum", "bucket"})
            if (words.back() == reserved) bad(std::string("_") + reserved + " is a histogram's or summary's");
        for (size_t i = 0; i < words.size(); ++i) {
            if (kNotBase.contains(words[i])) bad("'" + words[i] + "' is not a base unit");
            if ((words[i] == "seconds" || words[i] == "bytes") && i + 1 != words.size() - (total ? 1 : 0))
                bad("the unit '" + words[i] + "' is not the name's last word");
        }
        if (words.back() == "info") {
            if (f.type != "gauge") bad("an _info family is a gauge");
            for (const auto& v : f.values)
                if (v != "1") bad("an _info sample is 1, not " + v);
        }
        for (const auto& label : f.labels) {
            if (!snake_case(label)) bad("label '" + label + "' is not snake_case");
            if (kTargetLabels.contains(label)) bad("label '" + label + "' is Prometheus' own, for the target");
        }
    }
    return problems;
}

TEST(MetricsRender, NamesFollowPrometheusRules) {
    std::map<std::string, Family> families;
    ASSERT_THAT(check_exposition(render_metrics(snapshot(), flows(), instances(), checked_reals()), families), IsEmpty());
    EXPECT_THAT(naming_problems(families), IsEmpty());
}

TEST(MetricsRender, NamingCheckerRefusesBrokenNames) {
    const char* broken[] = {
        "# TYPE lbd_packets counter\nlbd_packets 1\n",                          // counter without _total
        "# TYPE lbd_up_total gauge\nlbd_up_total 1\n",                          // gauge with _total
        "# TYPE lbd_latency_ms gauge\nlbd_latency_ms 1\n",                      // not a base unit
        "# TYPE lbd_seconds_latency gauge\nlbd_seconds_latency 1\n",            // unit not last
        "# TYPE lbd_Flows gauge\nlbd_Flows 1\n",                                // not snake_case
        "# TYPE flows gauge\nflows 1\n",                                        // namespace
        "# TYPE lbd_build_info gauge\nlbd_build_info{version=\"1\"} 2\n",       // _info not 1
        "# TYPE lbd_flows gauge\nlbd_flows{instance=\"VI_1\"} 1\n",             // target label
        "# TYPE lbd_check_count gauge\nlbd_check_count 1\n",                    // reserved suffix
    };
    for (const char* text : broken) {
        std::map<std::string, Family> families;
        ASSERT_THAT(check_exposition(text, families), IsEmpty()) << text;
        EXPECT_THAT(naming_problems(families), Not(IsEmpty())) << text;
    }
}

// ---- config/grafana and config/prometheus ask only for what lbd serves ----

std::string read_source(const std::string& relative) {
    std::ifstream in(std::string(LBD_SOURCE_DIR) + "/" + relative);
    EXPECT_TRUE(in) << relative;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Every PromQL expression of a dashboard: the "expr" of each target, at any depth.
void exprs_of(const nlohmann::json& j, std::string& out) {
    if (j.is_object()) {
        for (const auto& [key, value] : j.items()) {
            if (key == "expr" && value.is_string()) out += value.get<std::string>() + "\n";
            else exprs_of(value, out);
        }
    } else if (j.is_array()) {
        for (const auto& v : j) exprs_of(v, out);
    }
}

std::set<std::string> matches(const std::string& text, const std::regex& re) {
    std::set<std::string> out;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
        out.insert((*it)[1].str());
    return out;
}

// What `text`, PromQL, asks of lbd that lbd does not serve: families,
// labels (grouped by or matched), reasons and states.
std::vector<std::string> unknown_in(const std::string& text, const std::map<std::string, Family>& families) {
    std::set<std::string> labels = {"instance", "job", "cluster"};  // the target's, and the docs' pair label
    for (const auto& [name, f] : families) labels.insert(f.labels.begin(), f.labels.end());
    std::set<std::string> reasons, states = {"INIT", "BACKUP", "MASTER", "FAULT"};
    for (unsigned r = 0; r < LBD_REASON_MAX; ++r) reasons.insert(dataplane::reason_name(r));
    for (unsigned r = 0; r < LBD_VRRP_REASON_MAX; ++r) reasons.insert(dataplane::vrrp_reason_name(r));
    std::vector<std::string> out;
    for (const auto& name : matches(text, std::regex(R"(\b(lbd_[a-z0-9_]+))")))
        if (!families.contains(name)) out.push_back("family " + name);
    std::set<std::string> used = matches(text, std::regex(R"(([a-z_]+)\s*(?:=~|!~|!=|=)\s*")"));
    for (const auto& group : matches(text, std::regex(R"((?:by|on|without|ignoring)\s*\(([^)]*)\))"))) {
        for (const auto& l : matches(group, std::regex(R"(([a-z_]+))"))) used.insert(l);
    }
    for (const auto& l : used)
        if (!labels.contains(l)) out.push_back("label " + l);
    for (const auto& r : matches(text, std::regex(R"(reason="([a-z0-9_]+)\")")))
        if (!reasons.contains(r)) out.push_back("reason " + r);
    for (const auto& st : matches(text, std::regex(R"(state="([A-Z]+)\")")))
        if (!states.contains(st)) out.push_back("state " + st);
    return out;
}

TEST(MetricsRender, DashboardAndAlertsUseWhatLbdServes) {
    std::map<std::string, Family> families;
    ASSERT_THAT(check_exposition(render_metrics(snapshot(), flows(), instances(), checked_reals()), families), IsEmpty());
    std::string dashboard;
    exprs_of(nlohmann::json::parse(read_source("config/grafana/lbd.json")), dashboard);
    ASSERT_THAT(dashboard, Not(IsEmpty()));
    EXPECT_THAT(unknown_in(dashboard, families), IsEmpty()) << "config/grafana/lbd.json";
    const std::string rules = read_source("config/prometheus/lbd-alerts.yml");
    ASSERT_THAT(rules, ::testing::HasSubstr("expr:"));
    EXPECT_THAT(unknown_in(rules, families), IsEmpty()) << "config/prometheus/lbd-alerts.yml";
    // The checker sees what is wrong.
    EXPECT_THAT(unknown_in("rate(lbd_packets_total{reason=\"drop_nothing\"}[5m])", families), Contains("reason drop_nothing"));
    EXPECT_THAT(unknown_in("sum by (vipp) (lbd_vip_active)", families), Contains("label vipp"));
    EXPECT_THAT(unknown_in("lbd_vip_packets", families), Contains("family lbd_vip_packets"));
}

}  // namespace
}  // namespace lbd::ctl
