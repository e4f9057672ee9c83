// render_metrics() from a hand-built data plane snapshot and engine status:
// the exact lines, label escaping, and a checker of the text exposition
// format 0.0.4 that every line of the output must pass.
#include "ctl/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cctype>
#include <charconv>
#include <map>
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

// Reads `{name="value",...}` from the front of `s`; the series key (labels as
// written) into `labels`. Empty on success, else what is wrong.
std::string read_labels(std::string_view& s, std::string& labels) {
    const std::string_view start = s;
    s.remove_prefix(1);
    std::set<std::string, std::less<>> names;
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
        if (s.starts_with('{')) {
            const std::string why = read_labels(s, labels);
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
    // Only the flow tables' gauges have a sample without a VIP, real, reason or instance.
    EXPECT_THAT(lines_of(text), Contains("lbd_conntrack_entries 0"));
    EXPECT_EQ(families.at("lbd_conntrack_entries").samples, 1);
    EXPECT_THAT(lines_of(text), Contains("lbd_flood_guard_active 0"));
    EXPECT_EQ(families.at("lbd_vip_packets_total").samples, 0);
}

TEST(MetricsRender, DataPlaneLines) {
    const auto lines = lines_of(render_metrics(snapshot(), flows(), {}, {}));
    for (const char* want : {
             "# HELP lbd_vip_packets_total Packets to the virtual service sent on to a real server.",
             "# TYPE lbd_vip_packets_total counter",
             "lbd_vip_packets_total{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 1000",
             "lbd_vip_packets_total{vip=\"2001:db8::100:udp:53\",mode=\"TUN\"} 7",
             "lbd_vip_bytes_total{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 1500000",
             "lbd_vip_new_flows_total{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 20",
             "# TYPE lbd_vip_active gauge",
             "lbd_vip_active{vip=\"10.213.0.100:tcp:80\",mode=\"DR\"} 1",
             "lbd_vip_active{vip=\"2001:db8::100:udp:53\",mode=\"TUN\"} 0",
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
             "lbd_real_up{vip=\"2001:db8::100:tcp:443\",real=\"2001:db8::12\",port=\"8443\"} 0",
             "lbd_real_drained{vip=\"10.213.0.100:tcp:80\",real=\"10.213.0.12\",port=\"80\"} 0",
             "lbd_real_drained{vip=\"2001:db8::100:tcp:443\",real=\"2001:db8::12\",port=\"8443\"} 1",
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
    const std::string text = render_metrics({}, {}, {}, {}, a);
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

}  // namespace
}  // namespace lbd::ctl
