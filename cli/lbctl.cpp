// lbctl: look at a running lbd. This first version reads the pinned maps
// directly and reloads by signal; the control socket (drain, weight,
// failover, ...) comes with the operations work and will take over.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "dataplane/bpf_object.h"
#include "dataplane/stats_reader.h"
#include "util/instance.h"

namespace {

using lbd::dataplane::addr_str;
using lbd::dataplane::mode_name;
using lbd::dataplane::Snapshot;
using lbd::dataplane::vip_name;
using nlohmann::json;

struct Options {
    std::string instance = "default";
    bool json = false;
};

json counters_json(const lbd_counters& c) {
    return {{"packets", c.packets}, {"bytes", c.bytes}, {"new_flows", c.new_flows}};
}

std::string mac_str(const __u8* m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

void print_vips(const Snapshot& s, bool as_json) {
    if (as_json) {
        json out = json::array();
        for (const auto& v : s.vips)
            out.push_back({{"vip", vip_name(v.key)},
                           {"id", v.meta.vip_id},
                           {"mode", mode_name(v.meta.mode)},
                           {"hash_source", (v.meta.flags & LBD_VIP_F_HASH_SRC) != 0},
                           {"active", v.active},
                           {"ring_size", v.meta.ring_size},
                           {"counters", counters_json(v.counters)}});
        fmt::print("{}\n", out.dump(2));
        return;
    }
    fmt::print("{:<36} {:>4} {:<4} {:<7} {:>12} {:>14} {:>10}\n", "VIP", "ID", "MODE", "ACTIVE",
               "PACKETS", "BYTES", "NEW_FLOWS");
    for (const auto& v : s.vips)
        fmt::print("{:<36} {:>4} {:<4} {:<7} {:>12} {:>14} {:>10}\n", vip_name(v.key), v.meta.vip_id,
                   mode_name(v.meta.mode), v.active ? "yes" : "no",
                   v.counters.packets, v.counters.bytes, v.counters.new_flows);
}

void print_reals(const Snapshot& s, bool as_json) {
    if (as_json) {
        json out = json::array();
        for (const auto& r : s.reals) {
            json j = {{"real", addr_str(r.real.addr, r.real.family)},
                      {"index", r.index},
                      {"up", (r.real.flags & LBD_REAL_F_UP) != 0},
                      {"counters", counters_json(r.counters)}};
            if (r.real.flags & LBD_REAL_F_NEIGH)
                j["next_hop"] = {{"mac", mac_str(r.real.mac)}, {"ifindex", r.real.ifindex}};
            out.push_back(j);
        }
        fmt::print("{}\n", out.dump(2));
        return;
    }
    fmt::print("{:<40} {:>5} {:<4} {:<17} {:>12} {:>14} {:>10}\n", "REAL", "INDEX", "UP", "NEXT_HOP",
               "PACKETS", "BYTES", "NEW_FLOWS");
    for (const auto& r : s.reals)
        fmt::print("{:<40} {:>5} {:<4} {:<17} {:>12} {:>14} {:>10}\n",
                   addr_str(r.real.addr, r.real.family), r.index,
                   r.real.flags & LBD_REAL_F_UP ? "yes" : "no",
                   r.real.flags & LBD_REAL_F_NEIGH ? mac_str(r.real.mac) : "-", r.counters.packets,
                   r.counters.bytes, r.counters.new_flows);
}

json counts_json(const std::vector<uint64_t>& counts, const char* (*name)(unsigned)) {
    json out = json::object();
    for (unsigned r = 0; r < counts.size(); ++r)
        out[name(r)] = counts[r];
    return out;
}

void print_counts(const char* title, const std::vector<uint64_t>& counts, const char* (*name)(unsigned)) {
    fmt::print("{:<22} {:>14}\n", title, "PACKETS");
    for (unsigned r = 0; r < counts.size(); ++r)
        fmt::print("{:<22} {:>14}\n", name(r), counts[r]);
}

void print_stats(const Snapshot& s, bool as_json) {
    using lbd::dataplane::reason_name;
    using lbd::dataplane::vrrp_reason_name;
    if (as_json) {
        fmt::print("{}\n", json{{"reasons", counts_json(s.reasons, reason_name)},
                                {"vrrp_reasons", counts_json(s.vrrp_reasons, vrrp_reason_name)},
                                {"flows", s.flows}}
                               .dump(2));
        return;
    }
    print_counts("REASON", s.reasons, reason_name);
    fmt::print("{:<22} {:>14}\n", "conntrack entries", s.flows);
    // Packets of IP protocol 112, counted apart from the forwarding verdicts.
    fmt::print("\n");
    print_counts("VRRP REASON", s.vrrp_reasons, vrrp_reason_name);
}

// SIGHUP to the daemon holding the instance's lock: the same reload as
// `systemctl reload` or `kill -HUP`; the daemon logs the outcome.
int reload(const std::string& instance) {
    const std::string path = lbd::lock_path(instance);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    bool running = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0;
    if (fd >= 0)
        close(fd);
    pid_t pid = 0;
    std::ifstream(path) >> pid;
    if (!running || pid <= 0)
        throw std::runtime_error(fmt::format("no lbd runs as instance '{}' ({})", instance, path));
    if (kill(pid, SIGHUP) != 0)
        throw std::runtime_error(fmt::format("cannot signal lbd (pid {}): {}", pid, strerror(errno)));
    fmt::print("reload requested from lbd (pid {}); its log says how it went\n", pid);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbctl: inspect a running lbd"};
    Options opts;
    app.add_option("--instance", opts.instance, "lbd instance (pins under /sys/fs/bpf/lbd/NAME)");
    app.add_flag("--json", opts.json, "machine-readable output");
    app.require_subcommand(1);
    auto* vips = app.add_subcommand("vips", "virtual services and their counters");
    auto* reals = app.add_subcommand("reals", "real servers, next hops and counters");
    auto* stats = app.add_subcommand("stats", "packets by verdict reason, conntrack size, VRRP verdicts");
    auto* reload_cmd = app.add_subcommand("reload", "re-read the configuration file (SIGHUP)");
    for (auto* sub : {vips, reals, stats})
        sub->add_flag("--json", opts.json, "machine-readable output");
    CLI11_PARSE(app, argc, argv);
    try {
        if (reload_cmd->parsed())
            return reload(opts.instance);
        Snapshot s;
        try {
            s = lbd::dataplane::read_snapshot(lbd::bpf::pin_dir(opts.instance));
        } catch (const std::exception& e) {
            throw std::runtime_error(
                fmt::format("{} (is lbd --instance {} running?)", e.what(), opts.instance));
        }
        if (vips->parsed())
            print_vips(s, opts.json);
        else if (reals->parsed())
            print_reals(s, opts.json);
        else
            print_stats(s, opts.json);
        return 0;
    } catch (const std::exception& e) {
        fmt::print(stderr, "lbctl: {}\n", e.what());
        return 1;
    }
}
