#include "print.h"

#include <fmt/format.h>

#include <string>

namespace lbctl {
namespace {

using nlohmann::json;

// "3m12s ago"; "-" for never.
std::string ago(int64_t then_ms, int64_t now_ms) {
    if (then_ms <= 0) return "-";
    int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
    if (s < 60) return fmt::format("{}s ago", s);
    if (s < 3600) return fmt::format("{}m{:02}s ago", s / 60, s % 60);
    if (s < 86400) return fmt::format("{}h{:02}m ago", s / 3600, (s / 60) % 60);
    return fmt::format("{}d{:02}h ago", s / 86400, (s / 3600) % 24);
}

std::string rate(const json& rates, const char* key) {
    if (!rates.is_object()) return "-";
    return fmt::format("{:.1f}", rates.value(key, 0.0));
}

std::string text(const json& v) { return v.is_string() ? v.get<std::string>() : v.is_null() ? "-" : v.dump(); }

}  // namespace

void print_status(const json& s, int64_t now_ms) {
    const json& d = s["daemon"];
    fmt::print("lbd {} (instance {}, pid {}), config {}, started {}\n", text(d["version"]), text(d["instance"]),
               d.value("pid", 0), text(d["config"]), ago(d.value("started_unix_ms", int64_t{0}), now_ms));
    const json r = d.value("reloads", json::object());
    const int64_t last = r.value("last_unix_ms", int64_t{0});
    if (last == 0)
        fmt::print("last reload: none since start\n");
    else if (r.value("last_applied", true))
        fmt::print("last reload: {}, applied ({} applied, {} failed since start)\n", ago(last, now_ms),
                   r.value("applied", 0), r.value("failed", 0));
    else
        fmt::print("last reload: {}, FAILED, running configuration kept: {} ({} applied, {} failed since start)\n",
                   ago(last, now_ms), text(r["last_error"]), r.value("applied", 0), r.value("failed", 0));
    if (!s["instances"].empty()) {
        fmt::print("\n{:<16} {:<7} {:>4} {:>9} {:<8} {:<22} {:<26} {}\n", "INSTANCE", "STATE", "PRIO", "EFFECTIVE",
                   "IFACE", "MASTER", "VIPS", "SINCE");
        for (const auto& i : s["instances"]) {
            std::string vips;
            for (const auto& v : i["vips"]) vips += (vips.empty() ? "" : ",") + v.get<std::string>();
            fmt::print("{:<16} {:<7} {:>4} {:>9} {:<8} {:<22} {:<26} {}\n", text(i["name"]), text(i["state"]),
                       i.value("priority", 0), i.value("effective_priority", 0), text(i["interface"]),
                       text(i["master"]), vips, ago(i.value("since_unix_ms", int64_t{0}), now_ms));
        }
    }
    if (!s["services"].empty()) {
        fmt::print("\n{:<44} {}\n", "SERVICE", "REALS SERVING");
        for (const auto& v : s["services"])
            fmt::print("{:<44} {}/{}\n", text(v["vs"]), v.value("reals_serving", 0), v.value("reals", 0));
    }
    if (s.contains("announce") && s["announce"].is_object()) {
        const json& a = s["announce"];
        fmt::print("\nANNOUNCED IN TABLE {}{}\n", a.value("table", 0), a.value("drained", false) ? " (node drained)" : "");
        if (a.contains("error") && a["error"].is_string()) fmt::print("  error: {}\n", text(a["error"]));
        fmt::print("{:<40} {:<10} {}\n", "VIP", "ROUTE", "WHY");
        for (const auto& v : a["vips"])
            fmt::print("{:<40} {:<10} {}\n", text(v["vip"]), v.value("announced", false) ? "announced" : "withdrawn",
                       text(v["verdict"]));
    }
}

void print_vips(const json& vips) {
    fmt::print("{:<36} {:>4} {:<4} {:<7} {:>12} {:>14} {:>10} {:>10}\n", "VIP", "ID", "MODE", "ACTIVE", "PACKETS",
               "BYTES", "NEW_FLOWS", "PPS");
    for (const auto& v : vips) {
        const json& c = v["counters"];
        fmt::print("{:<36} {:>4} {:<4} {:<7} {:>12} {:>14} {:>10} {:>10}\n", text(v["vip"]), v.value("id", 0),
                   text(v["mode"]), v.value("active", false) ? "yes" : "no", c.value("packets", uint64_t{0}),
                   c.value("bytes", uint64_t{0}), c.value("new_flows", uint64_t{0}), rate(v["rates"], "packets_per_s"));
    }
}

void print_reals(const json& reals, int64_t now_ms) {
    fmt::print("{:<28} {:<30} {:<7} {:>6} {:>7} {:<17} {:>8} {:<10} {}\n", "REAL", "SERVICE", "HEALTH", "WEIGHT",
               "FLOWS", "NEXT_HOP", "LATENCY", "CHECKED", "LAST RESULT");
    for (const auto& r : reals) {
        const std::string hop = r.contains("next_hop") ? text(r["next_hop"]["mac"]) : "-";
        const std::string flows = r.contains("flows") ? std::to_string(r["flows"].get<uint64_t>()) : "-";
        if (r["services"].empty()) {
            fmt::print("{:<28} {:<30} {:<7} {:>6} {:>7} {:<17}\n", text(r["real"]), "-",
                       r.value("up", false) ? "up" : "down", "-", flows, hop);
            continue;
        }
        for (const auto& s : r["services"]) {
            const std::string health = s.value("drained", false) ? "drained" : s.value("up", false) ? "up" : "down";
            const int64_t checked = s.value("last_check_unix_ms", int64_t{0});
            const std::string latency = checked > 0 ? fmt::format("{:.1f}ms", s.value("last_latency_ms", 0.0)) : "-";
            fmt::print("{:<28} {:<30} {:<7} {:>6} {:>7} {:<17} {:>8} {:<10} {}\n", text(r["real"]), text(s["vs"]),
                       health, s.value("weight", 0), flows, hop, latency, ago(checked, now_ms),
                       checked > 0 ? text(s["last_result"]) : "(no check yet)");
        }
    }
}

void print_stats(const json& s) {
    const json rates = s.value("rates", json::object());
    auto counts = [&](const char* title, const char* key) {
        fmt::print("{:<24} {:>14} {:>12}\n", title, "PACKETS", "PER SECOND");
        const json r = rates.value(key, json::object());
        for (const auto& [name, n] : s[key].items())
            fmt::print("{:<24} {:>14} {:>12}\n", name, n.get<uint64_t>(),
                       r.contains(name) ? fmt::format("{:.1f}", r[name].get<double>()) : "-");
    };
    counts("REASON", "reasons");
    fmt::print("\n");
    // What happened to packets of flows without an entry (docs/dataplane.md, "Floods").
    counts("FLOW EVENT", "flow_events");
    const json table_state = s.value("flow_table", json::object());
    fmt::print("flow tables: {} flows, {} entries of {}{}\n", s.value("flows", uint64_t{0}),
               table_state.value("entries", uint64_t{0}), table_state.value("capacity", uint64_t{0}),
               table_state.value("guard_active", false) ? "; flood guard refusing new entries" : "");
    fmt::print("\n");
    // Packets of IP protocol 112, counted apart from the forwarding verdicts.
    counts("VRRP REASON", "vrrp_reasons");
    auto table = [](const char* title, const json& rows, const char* key) {
        if (rows.empty()) return;
        fmt::print("\n{:<36} {:>12} {:>14} {:>10} {:>10} {:>12}\n", title, "PACKETS", "BYTES", "NEW_FLOWS", "PPS",
                   "FLOWS/S");
        for (const auto& v : rows) {
            const json& c = v["counters"];
            fmt::print("{:<36} {:>12} {:>14} {:>10} {:>10} {:>12}\n", text(v[key]), c.value("packets", uint64_t{0}),
                       c.value("bytes", uint64_t{0}), c.value("new_flows", uint64_t{0}),
                       rate(v["rates"], "packets_per_s"), rate(v["rates"], "new_flows_per_s"));
        }
    };
    table("VIP", s["vips"], "vip");
    table("REAL", s["reals"], "real");
}

void print_conntrack(const json& c) {
    if (!c.contains("flows")) {
        fmt::print("{} flows\n", c.value("total", uint64_t{0}));
        return;
    }
    fmt::print("{:<46} {:<36} {:<28} {:>8}\n", "CLIENT", "VIP", "REAL", "IDLE");
    for (const auto& f : c["flows"])
        fmt::print("{:<46} {:<36} {:<28} {:>7.1f}s\n", text(f["client"]), text(f["vip"]), text(f["real"]),
                   f.value("idle_s", 0.0));
    const uint64_t total = c.value("total", uint64_t{0});
    if (total > c["flows"].size()) fmt::print("({} flows in all; --limit shows more)\n", total);
}

}  // namespace lbctl
