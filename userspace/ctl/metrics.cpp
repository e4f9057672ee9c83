#include "ctl/metrics.h"

#include "util/version.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

namespace lbd::ctl {
namespace {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// Backslash, double quote and line feed are the three characters a label
// value cannot hold as they are (exposition format 0.0.4).
void append_escaped(std::string& out, std::string_view value) {
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

// `{key="value",...}`, or nothing for no labels; built once for all the families of one VIP, real or instance.
std::string label_set(Labels labels) {
    std::string out;
    const char* sep = "{";
    for (const auto& [key, value] : labels) {
        out += sep;
        out += key;
        out += "=\"";
        append_escaped(out, value);
        out += '"';
        sep = ",";
    }
    if (labels.size() > 0) out += '}';
    return out;
}

// Prometheus parses values with Go's ParseFloat: "NaN" and "+Inf", not fmt's "nan" and "inf".
std::string value_text(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    return fmt::format("{}", v);
}
std::string value_text(std::integral auto v) { return fmt::format("{}", v); }
std::string value_text(bool v) { return v ? "1" : "0"; }

// One family at a time: the format wants a family's samples together, under its HELP and TYPE.
class Exposition {
public:
    void family(std::string name, std::string_view type, std::string_view help) {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
        name_ = std::move(name);
    }

    void sample(std::string_view labels, auto value) {
        out_ += name_;
        out_ += labels;
        out_ += ' ';
        out_ += value_text(value);
        out_ += '\n';
    }

    std::string take() { return std::move(out_); }

private:
    std::string out_;
    std::string name_;
};

struct CounterFamily {
    const char* suffix;
    const char* help;
    __u64 lbd_counters::*field;
};

constexpr CounterFamily kVipCounters[] = {
    {"packets_total", "Packets to the virtual service sent on to a real server.", &lbd_counters::packets},
    {"bytes_total", "Bytes (frames as received) to the virtual service sent on to a real server.",
     &lbd_counters::bytes},
    {"new_flows_total", "Flows to the virtual service that were given a real server.", &lbd_counters::new_flows},
};

constexpr CounterFamily kRealCounters[] = {
    {"packets_total", "Packets sent on to the real server.", &lbd_counters::packets},
    {"bytes_total", "Bytes (frames as received) sent on to the real server.", &lbd_counters::bytes},
    {"new_flows_total", "Flows that were given the real server.", &lbd_counters::new_flows},
};

constexpr vrrp::State kVrrpStates[] = {vrrp::State::INIT, vrrp::State::BACKUP, vrrp::State::MASTER,
                                      vrrp::State::FAULT};

// The checkers name a service as keepalived does, "[10.213.0.100]:tcp:80";
// the data plane's families as lbctl does, "10.213.0.100:tcp:80", keeping
// the brackets of an IPv6 address only.
std::string vip_label(std::string_view vs) {
    const size_t close = vs.find("]:");
    if (!vs.starts_with('[') || close == std::string_view::npos) return std::string(vs);
    const std::string_view addr = vs.substr(1, close - 1);
    if (addr.find(':') != std::string_view::npos) return std::string(vs);
    return fmt::format("{}{}", addr, vs.substr(close + 1));
}

void render_dataplane(Exposition& e, const dataplane::Snapshot& dp, const FlowState& flows) {
    std::vector<std::string> vips;
    for (const auto& v : dp.vips)
        vips.push_back(label_set({{"vip", dataplane::vip_name(v.key)}, {"mode", dataplane::mode_name(v.meta.mode)}}));
    for (const CounterFamily& f : kVipCounters) {
        e.family(fmt::format("lbd_vip_{}", f.suffix), "counter", f.help);
        for (size_t i = 0; i < dp.vips.size(); ++i) e.sample(vips[i], dp.vips[i].counters.*f.field);
    }
    e.family("lbd_vip_active", "gauge", "1 while this node owns the virtual service (its VRRP instance is MASTER).");
    for (size_t i = 0; i < dp.vips.size(); ++i) e.sample(vips[i], dp.vips[i].active);

    std::vector<std::string> reals;
    for (const auto& r : dp.reals) {
        const std::string addr = dataplane::addr_str(r.real.addr, r.real.family);
        // A NAT real is one series per (address, port, protocol), as in the data plane.
        reals.push_back(r.real.proto == 0 ? label_set({{"real", addr}})
                                          : label_set({{"real", addr},
                                                       {"port", std::to_string(ntohs(r.real.port))},
                                                       {"protocol", r.real.proto == IPPROTO_TCP ? "tcp" : "udp"}}));
    }
    for (const CounterFamily& f : kRealCounters) {
        e.family(fmt::format("lbd_real_{}", f.suffix), "counter", f.help);
        for (size_t i = 0; i < dp.reals.size(); ++i) e.sample(reals[i], dp.reals[i].counters.*f.field);
    }

    e.family("lbd_packets_total", "counter", "Packets the data plane handled, by verdict reason.");
    for (unsigned r = 0; r < dp.reasons.size(); ++r)
        e.sample(label_set({{"reason", dataplane::reason_name(r)}}), dp.reasons[r]);
    e.family("lbd_vrrp_rx_packets_total", "counter", "VRRP packets (IP protocol 112) received, by verdict reason.");
    for (unsigned r = 0; r < dp.vrrp_reasons.size(); ++r)
        e.sample(label_set({{"reason", dataplane::vrrp_reason_name(r)}}), dp.vrrp_reasons[r]);
    e.family("lbd_conntrack_entries", "gauge", "Entries in the data plane's flow tables, live or idle.");
    e.sample("", flows.counts.entries);
    e.family("lbd_conntrack_flows", "gauge", "Flow table entries that still keep their flow on its real.");
    e.sample("", flows.counts.live);
    e.family("lbd_conntrack_capacity", "gauge", "Entries the data plane's flow tables hold at most.");
    e.sample("", flows.counts.capacity);
    e.family("lbd_flow_events_total", "counter", "Packets of flows without an entry, by what became of them.");
    for (unsigned ev = 0; ev < dp.flow_events.size(); ++ev)
        e.sample(label_set({{"event", dataplane::flow_event_name(ev)}}), dp.flow_events[ev]);
    e.family("lbd_flood_guard_active", "gauge", "1 while the flood guard refuses new flow entries.");
    e.sample("", flows.guard_active ? 1 : 0);
}

void render_daemon(Exposition& e, const Reloads& reloads) {
    e.family("lbd_build_info", "gauge", "1, labelled with the version of lbd and of its BPF maps' layout.");
    e.sample(label_set({{"version", kVersion}, {"abi", std::to_string(LBD_ABI_VERSION)}}), 1);
    e.family("lbd_config_last_reload_successful", "gauge",
             "1 when the last reload applied its file (or none was tried since start-up), 0 when it failed.");
    e.sample("", reloads.last_applied);
    e.family("lbd_config_last_reload_success_timestamp_seconds", "gauge",
             "When the running configuration was loaded: at start-up or by the last reload that applied.");
    e.sample("", reloads.loaded_unix_ms / 1000.0);
    e.family("lbd_config_reloads_total", "counter", "Reloads since start-up, by outcome.");
    e.sample(label_set({{"result", "applied"}}), reloads.applied);
    e.sample(label_set({{"result", "failed"}}), reloads.failed);
}

void render_vrrp(Exposition& e, const std::vector<vrrp::InstanceStatus>& vrrp) {
    e.family("lbd_vrrp_state", "gauge", "1 for the VRRP instance's current state, 0 for the others.");
    for (const auto& i : vrrp)
        for (const vrrp::State state : kVrrpStates)
            e.sample(label_set({{"vrrp_instance", i.name}, {"state", std::string(vrrp::to_string(state))}}),
                     i.state == state);

    struct Family {
        const char* name;
        const char* type;
        const char* help;
        int64_t (*value)(const vrrp::InstanceStatus&);
    };
    static constexpr Family kFamilies[] = {
        {"lbd_vrrp_priority", "gauge", "The VRRP instance's configured priority.",
         [](const vrrp::InstanceStatus& i) -> int64_t { return i.priority; }},
        {"lbd_vrrp_effective_priority", "gauge", "The VRRP instance's priority with tracking applied.",
         [](const vrrp::InstanceStatus& i) -> int64_t { return i.effective_priority; }},
        {"lbd_vrrp_transitions_total", "counter", "State changes of the VRRP instance.",
         [](const vrrp::InstanceStatus& i) { return static_cast<int64_t>(i.transitions); }},
        {"lbd_vrrp_adverts_sent_total", "counter", "VRRP advertisements the instance sent.",
         [](const vrrp::InstanceStatus& i) { return static_cast<int64_t>(i.adverts_sent); }},
        {"lbd_vrrp_adverts_received_total", "counter", "VRRP advertisements the instance's state machine accepted.",
         [](const vrrp::InstanceStatus& i) { return static_cast<int64_t>(i.adverts_received); }},
    };
    std::vector<std::string> labels;
    for (const auto& i : vrrp) labels.push_back(label_set({{"vrrp_instance", i.name}}));
    for (const Family& f : kFamilies) {
        e.family(f.name, f.type, f.help);
        for (size_t i = 0; i < vrrp.size(); ++i) e.sample(labels[i], f.value(vrrp[i]));
    }
}

void render_checked_reals(Exposition& e, const std::vector<check::RealStatus>& reals) {
    std::vector<std::string> labels;
    for (const auto& r : reals)
        labels.push_back(label_set({{"vip", vip_label(r.vs)}, {"real", r.address.str()}, {"port", std::to_string(r.port)}}));

    struct Family {
        const char* name;
        const char* type;
        const char* help;
        uint64_t (*value)(const check::RealStatus&);
    };
    static constexpr Family kFamilies[] = {
        {"lbd_real_up", "gauge", "1 while all the real server's checkers are up.",
         [](const check::RealStatus& r) -> uint64_t { return r.up; }},
        {"lbd_real_drained", "gauge", "1 while the real server is drained (weight 0, established flows kept).",
         [](const check::RealStatus& r) -> uint64_t { return r.drained; }},
        {"lbd_real_weight", "gauge", "The weight the data plane serves the real server with.",
         [](const check::RealStatus& r) -> uint64_t { return r.weight; }},
        {"lbd_real_checks_total", "counter", "Health check attempts of the real server that finished.",
         [](const check::RealStatus& r) { return r.checks; }},
        {"lbd_real_check_failures_total", "counter", "Health check attempts of the real server that failed.",
         [](const check::RealStatus& r) { return r.failures; }},
    };
    for (const Family& f : kFamilies) {
        e.family(f.name, f.type, f.help);
        for (size_t i = 0; i < reals.size(); ++i) e.sample(labels[i], f.value(reals[i]));
    }
    // A real not checked yet has no latency to report: no sample rather than a false 0.
    e.family("lbd_real_last_check_latency_seconds", "gauge", "How long the real server's last check took.");
    for (size_t i = 0; i < reals.size(); ++i)
        if (reals[i].last_check_unix_ms != 0) e.sample(labels[i], reals[i].last_latency_ms / 1000.0);
}

void render_announce(Exposition& e, const announce::Status& a) {
    e.family("lbd_vip_announced", "gauge", "1 while the VIP's host route is in lb_announce_table.");
    if (a.table)
        for (const auto& v : a.vips) e.sample(label_set({{"vip", v.addr.str()}}), v.in_table);
    e.family("lbd_node_drained", "gauge", "1 while the node is drained (lbctl drain-node): it announces nothing.");
    if (a.table) e.sample("", a.drained);
}

}  // namespace

std::string render_metrics(const dataplane::Snapshot& dp, const FlowState& flows,
                           const std::vector<vrrp::InstanceStatus>& vrrp, const std::vector<check::RealStatus>& reals,
                           const Reloads& reloads, const announce::Status& announce) {
    Exposition e;
    render_daemon(e, reloads);
    render_dataplane(e, dp, flows);
    render_vrrp(e, vrrp);
    render_checked_reals(e, reals);
    render_announce(e, announce);
    return e.take();
}

}  // namespace lbd::ctl
