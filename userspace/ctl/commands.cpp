#include "ctl/commands.h"

#include "ctl/capture_command.h"
#include "ctl/dump.h"
#include "ctl/protocol.h"
#include "util/version.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <map>
#include <utility>

namespace lbd::ctl {
namespace {

using dataplane::addr_str;
using dataplane::Snapshot;
using nlohmann::json;

constexpr size_t kDefaultFlowLimit = 1000;

json reloads_json(const Reloads& r) {
    return {{"loaded_unix_ms", r.loaded_unix_ms},
            {"last_unix_ms", r.last_unix_ms},
            {"last_applied", r.last_applied},
            {"last_error", r.last_error},
            {"applied", r.applied},
            {"failed", r.failed}};
}

json counters_json(const lbd_counters& c) {
    return {{"packets", c.packets}, {"bytes", c.bytes}, {"new_flows", c.new_flows}};
}

// A NAT real is one data-plane entry per (address, port, protocol): say which.
void add_nat_identity(json& j, const lbd_real& real) {
    if (real.proto == 0) return;
    j["nat_port"] = ntohs(real.port);
    j["nat_protocol"] = real.proto == IPPROTO_TCP ? "tcp" : "udp";
}

// Per second between two samples of the same counters.
json rates_json(const lbd_counters& now, const lbd_counters* then, double seconds) {
    if (!then || seconds <= 0) return nullptr;
    auto per_s = [&](uint64_t a, uint64_t b) { return a >= b ? double(a - b) / seconds : 0.0; };
    return {{"packets_per_s", per_s(now.packets, then->packets)},
            {"bytes_per_s", per_s(now.bytes, then->bytes)},
            {"new_flows_per_s", per_s(now.new_flows, then->new_flows)}};
}

const lbd_counters* vip_in(const Snapshot& s, const dataplane::VipView& v) {
    for (const auto& t : s.vips)
        if (t.meta.vip_id == v.meta.vip_id && std::memcmp(&t.key, &v.key, sizeof(v.key)) == 0) return &t.counters;
    return nullptr;
}

const lbd_counters* real_in(const Snapshot& s, const dataplane::RealView& r) {
    for (const auto& t : s.reals)
        if (t.index == r.index && std::memcmp(&t.real.addr, &r.real.addr, sizeof(r.real.addr)) == 0)
            return &t.counters;
    return nullptr;
}

// The rates of the last sampled second (the counters shown are fresher).
json vip_rates(const RateSampler::Rates& r, const dataplane::VipView& v) {
    const lbd_counters* now = vip_in(r.now, v);
    return now ? rates_json(*now, vip_in(r.then, v), r.seconds) : json(nullptr);
}

json real_rates(const RateSampler::Rates& r, const dataplane::RealView& rv) {
    const lbd_counters* now = real_in(r.now, rv);
    return now ? rates_json(*now, real_in(r.then, rv), r.seconds) : json(nullptr);
}

json counts_json(const std::vector<uint64_t>& counts, const char* (*name)(unsigned)) {
    json out = json::object();
    for (unsigned r = 0; r < counts.size(); ++r) out[name(r)] = counts[r];
    return out;
}

json count_rates_json(const std::vector<uint64_t>& now, const std::vector<uint64_t>& then, double seconds,
                      const char* (*name)(unsigned)) {
    json out = json::object();
    for (unsigned r = 0; r < now.size() && r < then.size(); ++r)
        out[name(r)] = now[r] >= then[r] ? double(now[r] - then[r]) / seconds : 0.0;
    return out;
}

config::IpAddr address_arg(const json& args, const char* key) {
    if (!args.contains(key) || !args[key].is_string())
        throw RequestError(fmt::format("'{}' is missing: an address is wanted", key));
    auto a = config::IpAddr::parse(args[key].get<std::string>());
    if (!a) throw RequestError(fmt::format("'{}' is not an address: {}", key, args[key].get<std::string>()));
    return *a;
}

std::optional<uint16_t> port_arg(const json& args) {
    if (!args.contains("port") || args["port"].is_null()) return std::nullopt;
    if (!args["port"].is_number_unsigned() || args["port"].get<uint64_t>() > 65535)
        throw RequestError("'port' must be 0..65535");
    return args["port"].get<uint16_t>();
}

std::string where(const config::IpAddr& addr, std::optional<uint16_t> port) {
    return port ? fmt::format("[{}]:{}", addr.str(), *port) : addr.str();
}

uint64_t coarse_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

class Commands {
public:
    explicit Commands(Sources s) : s_(std::move(s)) {}

    json operator()(const std::string& command, const json& args) {
        if (command == "status") return status();
        if (command == "vips") return vips();
        if (command == "reals") return reals();
        if (command == "stats") return stats();
        if (command == "conntrack") return conntrack(args);
        if (command == "drain" || command == "undrain") return drain(args, command == "drain");
        if (command == "weight") return weight(args);
        if (command == "failover") return failover(args);
        if (command == "drain-node" || command == "undrain-node") return drain_node(command == "drain-node");
        if (command == "reload") return reload();
        if (command == "dump") return dump_command(args);
        if (command == "capture") return capture_command(s_.capture, args);
        throw RequestError(fmt::format("unknown command '{}'", command));
    }

private:
    json status() {
        json instances = json::array();
        if (s_.vrrp)
            for (const auto& i : s_.vrrp())
                instances.push_back({{"name", i.name},
                                     {"state", std::string(vrrp::to_string(i.state))},
                                     {"interface", i.interface},
                                     {"vrid", i.vrid},
                                     {"priority", i.priority},
                                     {"effective_priority", i.effective_priority},
                                     {"master", i.master.empty() ? json(nullptr) : json(i.master)},
                                     {"vips", i.vips},
                                     {"since_unix_ms", i.since_unix_ms},
                                     {"transitions", i.transitions},
                                     {"adverts_sent", i.adverts_sent},
                                     {"adverts_received", i.adverts_received},
                                     {"sync_group", i.group.empty() ? json(nullptr) : json(i.group)}});
        std::map<std::string, std::pair<int, int>> services;  // vs -> (up, all)
        for (const auto& r : s_.reals()) {
            auto& [up, all] = services[r.vs];
            up += r.up && !r.drained;
            ++all;
        }
        json svcs = json::array();
        for (const auto& [vs, counts] : services)
            svcs.push_back({{"vs", vs}, {"reals_serving", counts.first}, {"reals", counts.second}});
        return {{"daemon",
                 {{"instance", s_.instance},
                  {"pid", getpid()},
                  {"config", s_.config_path},
                  {"started_unix_ms", s_.started_unix_ms},
                  {"version", kVersion},
                  {"reloads", reloads_json(s_.reloads())}}},
                {"instances", instances},
                {"services", svcs},
                {"announce", announce_json()}};
    }

    // lb_announce_table: null when not configured.
    json announce_json() {
        const announce::Status a = s_.announce ? s_.announce() : announce::Status{};
        if (!a.table) return nullptr;
        json vips = json::array();
        for (const auto& v : a.vips)
            vips.push_back({{"vip", v.addr.str()},
                            {"announced", v.in_table},
                            {"verdict", std::string(announce::to_string(v.verdict))}});
        return {{"table", *a.table},
                {"drained", a.drained},
                {"error", a.error.empty() ? json(nullptr) : json(a.error)},
                {"vips", vips}};
    }

    json drain_node(bool drained) {
        if (!s_.announce || !s_.announce().table)
            throw RequestError("no lb_announce_table is configured: this node announces nothing");
        json vips = json::array();
        for (const auto& a : s_.drain_node(drained)) vips.push_back(a.str());
        return {{"drained", drained}, {"vips", vips}};
    }

    json vips() {
        const auto r = s_.rates->rates();
        const Snapshot s = dataplane::read_snapshot(s_.pin_dir);
        json out = json::array();
        for (const auto& v : s.vips)
            out.push_back({{"vip", dataplane::vip_name(v.key)},
                           {"id", v.meta.vip_id},
                           {"mode", dataplane::mode_name(v.meta.mode)},
                           {"hash_source", (v.meta.flags & LBD_VIP_F_HASH_SRC) != 0},
                           {"active", v.active},
                           {"ring_size", v.meta.ring_size},
                           {"counters", counters_json(v.counters)},
                           {"rates", vip_rates(r, v)}});
        return out;
    }

    // The data plane's reals with their next hops and counters, each with
    // the services it is in and what their checks say; a real the data plane
    // no longer has (down everywhere) is there from its checks alone.
    json reals() {
        const auto r = s_.rates->rates();
        const Snapshot s = dataplane::read_snapshot(s_.pin_dir);
        std::map<uint32_t, uint64_t> flows = s_.flows().counts.by_real;
        // A NAT real is one data-plane entry per (address, port, protocol);
        // DR and TUN reals one per address.
        auto key = [](const std::string& addr, unsigned proto, unsigned port) {
            return proto == 0 ? addr : fmt::format("{} {} {}", addr, proto, port);
        };
        std::map<std::string, json> by_address;
        for (const auto& rv : s.reals) {
            const std::string addr = addr_str(rv.real.addr, rv.real.family);
            json j = {{"real", addr},
                      {"index", rv.index},
                      {"up", (rv.real.flags & LBD_REAL_F_UP) != 0},
                      {"counters", counters_json(rv.counters)},
                      {"rates", real_rates(r, rv)},
                      {"flows", flows[rv.index]},
                      {"services", json::array()}};
            if (rv.real.flags & LBD_REAL_F_NEIGH)
                j["next_hop"] = {{"mac", dataplane::mac_str(rv.real.mac)}, {"ifindex", rv.real.ifindex}};
            add_nat_identity(j, rv.real);
            by_address[key(addr, rv.real.proto, ntohs(rv.real.port))] = std::move(j);
        }
        for (const auto& st : s_.reals()) {
            const std::string addr = st.address.str();
            json& j = by_address[key(addr, st.nat_proto, st.nat_port)];
            if (j.is_null()) j = {{"real", addr}, {"index", nullptr}, {"up", false}, {"services", json::array()}};
            j["services"].push_back({{"vs", st.vs},
                                     {"port", st.port},
                                     {"up", st.up},
                                     {"drained", st.drained},
                                     {"weight", st.weight},
                                     {"configured_weight", st.configured_weight},
                                     {"last_result", st.last_result},
                                     {"last_latency_ms", st.last_latency_ms},
                                     {"last_check_unix_ms", st.last_check_unix_ms},
                                     {"checks", st.checks},
                                     {"failures", st.failures}});
        }
        json out = json::array();
        for (auto& [addr, j] : by_address) out.push_back(std::move(j));
        return out;
    }

    json stats() {
        const auto r = s_.rates->rates();
        const Snapshot s = dataplane::read_snapshot(s_.pin_dir);
        const FlowState flow_state = s_.flows();
        json out = {{"reasons", counts_json(s.reasons, dataplane::reason_name)},
                    {"vrrp_reasons", counts_json(s.vrrp_reasons, dataplane::vrrp_reason_name)},
                    {"flows", flow_state.counts.live},
                    {"flow_table", {{"entries", flow_state.counts.entries},
                                    {"capacity", flow_state.counts.capacity},
                                    {"guard_active", flow_state.guard_active}}},
                    {"flow_events", counts_json(s.flow_events, dataplane::flow_event_name)},
                    {"interval_s", r.seconds}};
        if (r.seconds > 0)
            out["rates"] = {
                {"reasons", count_rates_json(r.now.reasons, r.then.reasons, r.seconds, dataplane::reason_name)},
                {"vrrp_reasons",
                 count_rates_json(r.now.vrrp_reasons, r.then.vrrp_reasons, r.seconds, dataplane::vrrp_reason_name)},
                {"flow_events",
                 count_rates_json(r.now.flow_events, r.then.flow_events, r.seconds, dataplane::flow_event_name)}};
        json vips = json::array(), reals = json::array();
        for (const auto& v : s.vips)
            vips.push_back({{"vip", dataplane::vip_name(v.key)},
                            {"counters", counters_json(v.counters)},
                            {"rates", vip_rates(r, v)}});
        for (const auto& rv : s.reals) {
            json j = {{"real", addr_str(rv.real.addr, rv.real.family)},
                      {"counters", counters_json(rv.counters)},
                      {"rates", real_rates(r, rv)}};
            add_nat_identity(j, rv.real);
            reals.push_back(std::move(j));
        }
        out["vips"] = vips;
        out["reals"] = reals;
        return out;
    }

    // Filter by VIP ("ADDR" or "ADDR:PROTO:PORT" as `vips` names it) and by
    // real address; `count` gives the total alone.
    json conntrack(const json& args) {
        const Snapshot s = dataplane::read_snapshot(s_.pin_dir);
        std::map<uint32_t, std::string> vip_names, real_names;
        for (const auto& v : s.vips) vip_names[v.meta.vip_id] = dataplane::vip_name(v.key);
        for (const auto& r : s.reals) real_names[r.index] = addr_str(r.real.addr, r.real.family);
        const std::string vip = args.value("vip", "");
        const std::string real = args.value("real", "");
        if (!real.empty() && !config::IpAddr::parse(real)) throw RequestError("'real' is not an address: " + real);
        const bool count_only = args.value("count", false);
        const size_t limit = count_only ? 0 : args.value("limit", kDefaultFlowLimit);
        auto vip_of = [&](const dataplane::FlowView& f) {
            auto it = vip_names.find(f.flow.vip_id);
            return it == vip_names.end() ? std::string() : it->second;
        };
        auto real_of = [&](const dataplane::FlowView& f) {
            auto it = real_names.find(f.flow.real);
            return it == real_names.end() ? std::string() : it->second;
        };
        auto keep = [&](const dataplane::FlowView& f) {
            if (!vip.empty() && vip_of(f) != vip && addr_str(f.key.dst, f.key.family) != vip) return false;
            return real.empty() || real_of(f) == real;
        };
        size_t total = 0;
        const auto flows = dataplane::read_flows(s_.pin_dir, keep, limit, total);
        json out = {{"total", total}};
        if (count_only) return out;
        const uint64_t now = coarse_now_ns();
        json list = json::array();
        for (const auto& f : flows) {
            const std::string src = addr_str(f.key.src, f.key.family);
            list.push_back({{"client", f.key.family == LBD_AF_INET6 ? fmt::format("[{}]:{}", src, ntohs(f.key.sport))
                                                                     : fmt::format("{}:{}", src, ntohs(f.key.sport))},
                            {"vip", vip_of(f)},
                            {"real", real_of(f)},
                            {"idle_s", now > f.flow.last_ns ? double(now - f.flow.last_ns) / 1e9 : 0.0}});
        }
        out["flows"] = list;
        return out;
    }

    // The daemon's answer comes once the file is applied or refused: a
    // refusal is this request's error, with the reason.
    json reload() {
        const Reloads r = s_.reload();
        if (!r.last_applied) throw RequestError("reload failed, running configuration kept: " + r.last_error);
        return reloads_json(r);
    }

    json dump_command(const json& args) {
        const std::string what = args.value("what", "data");
        if (what != "data" && what != "stats") throw RequestError("'what' is data or stats, not " + what);
        return {{"what", what}, {"text", dump(s_, what == "data" ? Dump::data : Dump::stats)}};
    }

    json drain(const json& args, bool drained) {
        const auto addr = address_arg(args, "real");
        const auto port = port_arg(args);
        const size_t n = s_.drain(addr, port, drained);
        if (n == 0) throw RequestError(fmt::format("no real server {} in any virtual_server", where(addr, port)));
        return {{"real", where(addr, port)}, {"services", n}, {"drained", drained}};
    }

    json weight(const json& args) {
        const auto addr = address_arg(args, "real");
        const auto port = port_arg(args);
        std::optional<uint32_t> w;
        if (args.contains("weight") && !args["weight"].is_null()) {
            if (!args["weight"].is_number_unsigned() || args["weight"].get<uint64_t>() > 65535)
                throw RequestError("'weight' must be 0..65535, or null for the configured weight");
            w = args["weight"].get<uint32_t>();
        }
        const size_t n = s_.weight(addr, port, w);
        if (n == 0) throw RequestError(fmt::format("no real server {} in any virtual_server", where(addr, port)));
        return {{"real", where(addr, port)}, {"services", n}, {"weight", w ? json(*w) : json(nullptr)}};
    }

    json failover(const json& args) {
        if (!s_.vrrp) throw RequestError("no vrrp_instance is configured");
        if (!args.contains("instance") || !args["instance"].is_string())
            throw RequestError("'instance' is missing: a vrrp_instance name is wanted");
        const std::string name = args["instance"];
        if (auto error = s_.failover(name); !error.empty()) throw RequestError(error);
        return {{"instance", name}, {"failover", true}};
    }

    Sources s_;
};

}  // namespace

void RateSampler::sample(dataplane::Snapshot snapshot) {
    std::lock_guard lock(mutex_);
    then_ = std::move(now_);
    then_at_ = now_at_;
    now_ = std::move(snapshot);
    now_at_ = std::chrono::steady_clock::now();
}

RateSampler::Rates RateSampler::rates() const {
    std::lock_guard lock(mutex_);
    Rates r;
    if (!then_ || !now_) return r;
    r.seconds = std::chrono::duration<double>(now_at_ - then_at_).count();
    r.then = *then_;
    r.now = *now_;
    return r;
}

bool RateSampler::guard_active() const {
    std::lock_guard lock(mutex_);
    if (!then_ || !now_ || now_->flow_events.size() <= LBD_FE_GUARDED || then_->flow_events.size() <= LBD_FE_GUARDED)
        return false;
    return now_->flow_events[LBD_FE_GUARDED] > then_->flow_events[LBD_FE_GUARDED];
}

Server::Handler make_handler(Sources sources) {
    return [commands = std::make_shared<Commands>(std::move(sources))](const std::string& command,
                                                                       const json& args) {
        return (*commands)(command, args);
    };
}

}  // namespace lbd::ctl
