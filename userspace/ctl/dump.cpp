#include "ctl/dump.h"

#include "util/instance.h"
#include "util/ip_addr.h"
#include "util/version.h"

#include <arpa/inet.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <map>
#include <set>

namespace lbd::ctl {
namespace {

std::string when(int64_t unix_ms) {
    if (unix_ms <= 0) return "-";
    return fmt::format("{:%Y-%m-%d %H:%M:%S}", fmt::localtime(static_cast<std::time_t>(unix_ms / 1000)));
}

void section(std::string& out, std::string_view title) { out += fmt::format("\n------< {} >------\n", title); }

std::string header(const DumpInput& in, std::string_view what) {
    return fmt::format("lbd {} {}, instance {}, pid {}, at {}\n", in.version, what, in.instance, in.pid,
                       when(in.now_unix_ms));
}

std::string reload_line(const Reloads& r) {
    if (r.last_unix_ms == 0) return "none since start-up";
    return r.last_applied ? fmt::format("{}, applied", when(r.last_unix_ms))
                          : fmt::format("{}, FAILED: {}", when(r.last_unix_ms), r.last_error);
}

// keepalived's name of the service, "[10.213.0.100]:tcp:80", as the
// checkers name it too.
std::string service_of(const dataplane::VipView& v) {
    const auto addr = IpAddr::parse(dataplane::addr_str(v.key.addr, v.key.family));
    return addr ? service_name(*addr, v.key.proto, ntohs(v.key.port)) : dataplane::vip_name(v.key);
}

std::string health(const check::RealStatus& r) {
    std::string h = r.drained ? "drained" : r.up ? "up" : "down";
    h += fmt::format(", weight {}", r.weight);
    if (r.weight != r.configured_weight) h += fmt::format(" (configured {})", r.configured_weight);
    return h;
}

void data_vrrp(std::string& out, const std::vector<vrrp::InstanceStatus>& instances) {
    section(out, "VRRP instances");
    if (instances.empty()) out += " none\n";
    for (const auto& i : instances) {
        out += fmt::format(" VRRP Instance = {}\n", i.name);
        out += fmt::format("   State = {} since {}\n", vrrp::to_string(i.state), when(i.since_unix_ms));
        out += fmt::format("   Interface = {}\n", i.interface);
        out += fmt::format("   Virtual Router ID = {}\n", i.vrid);
        out += fmt::format("   Priority = {}, effective {}\n", i.priority, i.effective_priority);
        out += fmt::format("   Master = {}\n", i.master.empty() ? "none heard" : i.master);
        if (!i.group.empty()) out += fmt::format("   Sync group = {}\n", i.group);
        out += fmt::format("   Virtual IP addresses = {}\n", i.vips.size());
        for (const auto& a : i.vips) out += fmt::format("     {}\n", a);
    }
}

void data_services(std::string& out, const DumpInput& in) {
    section(out, "Virtual servers");
    std::map<std::string, std::vector<const check::RealStatus*>> reals_of;
    for (const auto& r : in.reals) reals_of[r.vs].push_back(&r);
    std::set<std::string> shown;
    auto reals = [&](const std::string& vs) {
        const auto& list = reals_of[vs];
        size_t serving = 0;
        for (const auto* r : list) serving += r->up && !r->drained;
        out += fmt::format("   Real servers = {}, {} serving\n", list.size(), serving);
        for (const auto* r : list) {
            out += fmt::format("     {} = {}\n", r->real, health(*r));
            if (r->last_check_unix_ms != 0) out += fmt::format("       Last check = {}\n", r->last_result);
        }
    };
    for (const auto& v : in.dp.vips) {
        const std::string vs = service_of(v);
        shown.insert(vs);
        out += fmt::format(" Virtual server = {}\n", vs);
        out += fmt::format("   Forwarding = {}, {}\n", dataplane::mode_name(v.meta.mode),
                           v.active ? "active here" : "not active here");
        out += fmt::format("   Hash = {}\n", (v.meta.flags & LBD_VIP_F_HASH_SRC) ? "source address" : "5-tuple");
        out += fmt::format("   Ring size = {}\n", v.meta.ring_size);
        reals(vs);
    }
    // A service the checkers have and the data plane does not (yet).
    for (const auto& [vs, list] : reals_of) {
        if (shown.contains(vs)) continue;
        out += fmt::format(" Virtual server = {}\n   Forwarding = not in the data plane\n", vs);
        reals(vs);
    }
    if (in.dp.vips.empty() && reals_of.empty()) out += " none\n";
}

std::string render_data(const DumpInput& in) {
    std::string out = header(in, "data");
    out += fmt::format(" Configuration file = {}\n", in.config_path);
    out += fmt::format(" Started = {}\n", when(in.started_unix_ms));
    out += fmt::format(" Configuration loaded = {}\n", when(in.reloads.loaded_unix_ms));
    out += fmt::format(" Last reload = {}\n", reload_line(in.reloads));
    data_vrrp(out, in.vrrp);
    data_services(out, in);
    return out;
}

void counts(std::string& out, const std::vector<uint64_t>& values, const char* (*name)(unsigned)) {
    for (unsigned r = 0; r < values.size(); ++r) out += fmt::format("   {} = {}\n", name(r), values[r]);
}

std::string counters(const lbd_counters& c) {
    return fmt::format("   Packets = {}, bytes = {}, new flows = {}\n", c.packets, c.bytes, c.new_flows);
}

std::string render_stats(const DumpInput& in) {
    std::string out = header(in, "statistics");
    out += fmt::format(" Reloads = {} applied, {} failed\n", in.reloads.applied, in.reloads.failed);

    section(out, "VRRP instances");
    if (in.vrrp.empty()) out += " none\n";
    for (const auto& i : in.vrrp)
        out += fmt::format(" VRRP Instance = {}\n   Transitions = {}\n   Adverts sent = {}\n   Adverts received = {}\n",
                           i.name, i.transitions, i.adverts_sent, i.adverts_received);

    section(out, "VRRP packets received, by verdict");
    counts(out, in.dp.vrrp_reasons, dataplane::vrrp_reason_name);

    section(out, "Packets, by verdict");
    counts(out, in.dp.reasons, dataplane::reason_name);

    section(out, "Connection tables");
    out += fmt::format("   Entries = {} of {}, {} keeping a flow on its real\n", in.flows.counts.entries,
                       in.flows.counts.capacity, in.flows.counts.live);
    out += fmt::format("   Flood guard = {}\n", in.flows.guard_active ? "refusing new entries" : "idle");

    section(out, "Flows without an entry, by what became of them");
    counts(out, in.dp.flow_events, dataplane::flow_event_name);

    section(out, "Virtual servers");
    for (const auto& v : in.dp.vips) out += fmt::format(" Virtual server = {}\n{}", service_of(v), counters(v.counters));

    section(out, "Real servers");
    for (const auto& r : in.dp.reals) {
        std::string name = dataplane::addr_str(r.real.addr, r.real.family);
        if (r.real.proto != 0)
            name += fmt::format(" (NAT to {}:{})", r.real.proto == IPPROTO_TCP ? "tcp" : "udp", ntohs(r.real.port));
        out += fmt::format(" Real server = {}\n{}", name, counters(r.counters));
    }

    section(out, "Health checks");
    for (const auto& r : in.reals) {
        out += fmt::format(" {} in {}\n   Checks = {}, failed = {}\n", r.real, r.vs, r.checks, r.failures);
        if (r.last_check_unix_ms != 0)
            out += fmt::format("   Last check = {}, {:.1f} ms: {}\n", when(r.last_check_unix_ms), r.last_latency_ms,
                               r.last_result);
    }
    return out;
}

}  // namespace

std::string render_dump(const DumpInput& in, Dump what) {
    return what == Dump::data ? render_data(in) : render_stats(in);
}

std::string dump(const Sources& s, Dump what) {
    DumpInput in;
    in.version = kVersion;
    in.instance = s.instance;
    in.config_path = s.config_path;
    in.pid = getpid();
    in.now_unix_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    in.started_unix_ms = s.started_unix_ms;
    in.reloads = s.reloads();
    if (s.vrrp) in.vrrp = s.vrrp();
    in.reals = s.reals();
    in.dp = dataplane::read_snapshot(s.pin_dir);
    if (s.flows) in.flows = s.flows();
    return render_dump(in, what);
}

std::string dump_path(const std::string& instance, Dump what) {
    return fmt::format("{}/{}.{}", kRunDir, instance, what == Dump::data ? "data" : "stats");
}

}  // namespace lbd::ctl
