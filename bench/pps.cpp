// lbd-bench-pps: the pieces of the forwarding throughput benchmark
// (scripts/bench.sh) that need libbpf.
//
//   gen --ifname IF --dst-mac M --src-ip A --dst-ip VIP --dport P --seconds S
//       sends 64-byte UDP frames out of IF for S seconds with BPF_PROG_RUN
//       live frames (bench/bpf/gen.bpf.c), 1024 source ports; prints what it
//       sent as one JSON line.
//   sink attach IF | sink read IF
//       attaches the counting sink (bench/bpf/sink.bpf.c) in native mode /
//       prints its counters as one JSON line.
//   baseline attach IN OUT --dst-mac M
//       attaches the no-lookup forwarder (bench/bpf/fwd_baseline.bpf.c) to IN:
//       MACs rewritten, redirected out of OUT.
//   detach IF
//       removes whatever native XDP program IF has.
//
// Programs are attached through netlink, so they stay after the tool exits
// and need no pin: `sink read` finds the sink's maps from the program that
// is attached to IF (bpf_xdp_query, then ids). `ip netns exec` gives every
// command a fresh /sys without bpffs, which is why nothing is pinned.
// Interface names are resolved in the caller's network namespace.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_abi.h"
#include "util/unique_fd.h"
#include "fwd_baseline.skel.h"
#include "gen.skel.h"
#include "sink.skel.h"

namespace {

using Mac = std::array<uint8_t, 6>;
using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what, int err = errno) {
    throw std::runtime_error(fmt::format("{}: {}", what, strerror(err)));
}

using Fd = lbd::UniqueFd;

// Destroys a skeleton on scope exit (the program stays attached).
template <typename Skel, void (*Destroy)(Skel*)>
struct SkelPtr {
    Skel* p;
    explicit SkelPtr(Skel* s) : p(s) {
        if (!p)
            fail("cannot open the BPF object");
    }
    SkelPtr(const SkelPtr&) = delete;
    SkelPtr& operator=(const SkelPtr&) = delete;
    ~SkelPtr() { Destroy(p); }
    Skel* operator->() const { return p; }
};

int ifindex_of(const std::string& name) {
    unsigned idx = if_nametoindex(name.c_str());
    if (!idx)
        fail(fmt::format("interface {}", name));
    return static_cast<int>(idx);
}

Mac mac_of(const std::string& name) {
    Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (s.get() < 0)
        fail("socket");
    ifreq req{};
    if (name.size() >= sizeof(req.ifr_name))
        throw std::runtime_error(fmt::format("interface name too long: {}", name));
    memcpy(req.ifr_name, name.c_str(), name.size());
    if (ioctl(s.get(), SIOCGIFHWADDR, &req) < 0)
        fail(fmt::format("MAC of {}", name));
    Mac m;
    memcpy(m.data(), req.ifr_hwaddr.sa_data, m.size());
    return m;
}

Mac parse_mac(const std::string& s) {
    Mac m;
    unsigned b[6];
    char tail;
    if (sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6 ||
        std::any_of(std::begin(b), std::end(b), [](unsigned v) { return v > 0xff; }))
        throw std::runtime_error(fmt::format("bad MAC address: {}", s));
    std::copy(std::begin(b), std::end(b), m.begin());
    return m;
}

in_addr parse_ip4(const std::string& s) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1)
        throw std::runtime_error(fmt::format("bad IPv4 address: {}", s));
    return a;
}

std::string mac_str(const Mac& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5]);
}

void xdp_attach(int ifindex, int prog_fd, bool replace, const std::string& ifname) {
    __u32 flags = XDP_FLAGS_DRV_MODE | (replace ? 0 : XDP_FLAGS_UPDATE_IF_NOEXIST);
    int err = bpf_xdp_attach(ifindex, prog_fd, flags, nullptr);
    if (err)
        fail(fmt::format("attach native XDP to {} (another program there? use --replace)", ifname), -err);
}

// ---------------------------------------------------------------- gen ----

struct GenArgs {
    std::string ifname, dst_mac, src_ip, dst_ip;
    uint16_t dport = 9;
    uint16_t sport_base = 10000;
    uint32_t flows = 1024;
    double seconds = 3;
    uint32_t batch = 64;
    bool verbose = false;
    double call_seconds = 1.0;
};

std::atomic<bool> g_stop{false};

uint16_t ip_checksum(const uint8_t* p, size_t len) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

std::array<uint8_t, BENCH_FRAME_LEN> build_frame(const GenArgs& a, const Mac& src_mac) {
    std::array<uint8_t, BENCH_FRAME_LEN> f{};
    Mac dst = parse_mac(a.dst_mac);
    in_addr saddr = parse_ip4(a.src_ip), daddr = parse_ip4(a.dst_ip);
    uint8_t* p = f.data();
    memcpy(p, dst.data(), 6);
    memcpy(p + 6, src_mac.data(), 6);
    p[12] = 0x08, p[13] = 0x00;  // IPv4
    uint8_t* ip = p + 14;
    uint16_t ip_len = BENCH_FRAME_LEN - 14;
    ip[0] = 0x45;
    ip[2] = static_cast<uint8_t>(ip_len >> 8), ip[3] = static_cast<uint8_t>(ip_len);
    ip[6] = 0x40;  // DF
    ip[8] = 64;    // TTL
    ip[9] = IPPROTO_UDP;
    memcpy(ip + 12, &saddr, 4);
    memcpy(ip + 16, &daddr, 4);
    uint16_t csum = ip_checksum(ip, 20);
    ip[10] = static_cast<uint8_t>(csum >> 8), ip[11] = static_cast<uint8_t>(csum);
    uint8_t* udp = ip + 20;
    uint16_t udp_len = ip_len - 20;
    udp[0] = static_cast<uint8_t>(a.sport_base >> 8), udp[1] = static_cast<uint8_t>(a.sport_base);
    udp[2] = static_cast<uint8_t>(a.dport >> 8), udp[3] = static_cast<uint8_t>(a.dport);
    udp[4] = static_cast<uint8_t>(udp_len >> 8), udp[5] = static_cast<uint8_t>(udp_len);
    // UDP checksum 0: none, valid for IPv4; so the source port can change freely.
    memcpy(udp + 8, "lbd-bench-pps", 13);
    return f;
}

int run_gen(const GenArgs& a) {
    if (a.flows == 0 || a.flows > 65536u - a.sport_base)
        throw std::runtime_error("--flows must fit above --sport-base in 16 bits");
    int ifindex = ifindex_of(a.ifname);
    auto frame = build_frame(a, mac_of(a.ifname));

    SkelPtr<lbd_gen, lbd_gen__destroy> skel(lbd_gen__open());
    static_assert(sizeof(skel->rodata->frame) == BENCH_FRAME_LEN);
    memcpy(const_cast<__u64*>(skel->rodata->frame), frame.data(), BENCH_FRAME_LEN);
    skel->rodata->flows = a.flows;
    skel->rodata->sport_base = a.sport_base;
    if (int err = lbd_gen__load(skel.p))
        fail("load the generator", -err);
    int prog = bpf_program__fd(skel->progs.bench_gen);

    std::signal(SIGINT, [](int) { g_stop = true; });
    std::signal(SIGTERM, [](int) { g_stop = true; });

    xdp_md ctx{};
    ctx.data_end = BENCH_FRAME_LEN;
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    uint64_t sent = 0;
    double busy_ns = 0;  // the kernel's time in the calls' loops
    // A call costs ~25 ms of setup and teardown on top of its frames (page
    // pool, RCU), so calls are long: --call-seconds each, sized from the
    // kernel's own time per frame in the previous call. The rate reported is
    // over wall time, that overhead included.
    uint32_t repeat = 1u << 18;
    const auto budget = std::chrono::duration<double>(a.seconds);
    const auto start = Clock::now();
    auto now = start;
    while (!g_stop) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = BENCH_FRAME_LEN,
                    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(repeat),
                    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = a.batch);
        auto t0 = Clock::now();
        int err = bpf_prog_test_run_opts(prog, &opts);
        now = Clock::now();
        if (err) {
            if (errno == EINTR || g_stop)
                break;  // a signal: this call's count is unknown, leave it out
            fail("BPF_PROG_RUN (live frames)");
        }
        // Live frames report no retval: what arrived is counted by the sink.
        sent += repeat;
        busy_ns += double(opts.duration) * repeat;
        if (a.verbose)
            fmt::print(stderr, "call: {} frames, kernel {} ns/frame, wall {:.3f} ms\n", repeat, opts.duration,
                       std::chrono::duration<double, std::milli>(now - t0).count());
        double left = std::chrono::duration<double>(budget - (now - start)).count() - 0.025;
        if (left < 0.05)
            break;
        double per_frame = std::max(opts.duration, 1u) * 1e-9;
        repeat = static_cast<uint32_t>(std::clamp(std::min(a.call_seconds, left) / per_frame, 64.0,
                                                  double(1u << 30)));
    }
    double secs = std::chrono::duration<double>(now - start).count();
    fmt::print("{{\"sent\": {}, \"seconds\": {:.6f}, \"pps\": {:.0f}, \"busy_seconds\": {:.6f}, "
               "\"flows\": {}, \"frame_len\": {}}}\n",
               sent, secs, secs > 0 ? sent / secs : 0.0, busy_ns * 1e-9, a.flows, BENCH_FRAME_LEN);
    return 0;
}

// ---------------------------------------------------------------- sink ---

int sink_attach(const std::string& ifname, bool replace) {
    int ifindex = ifindex_of(ifname);
    SkelPtr<lbd_sink, lbd_sink__destroy> skel(lbd_sink__open_and_load());
    xdp_attach(ifindex, bpf_program__fd(skel->progs.bench_sink), replace, ifname);
    return 0;
}

// The native XDP program attached to the interface, by id.
int attached_prog(const std::string& ifname) {
    int ifindex = ifindex_of(ifname);
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (int err = bpf_xdp_query(ifindex, XDP_FLAGS_DRV_MODE, &q))
        fail(fmt::format("query XDP on {}", ifname), -err);
    if (!q.drv_prog_id)
        throw std::runtime_error(fmt::format("no native XDP program on {}", ifname));
    int fd = bpf_prog_get_fd_by_id(q.drv_prog_id);
    if (fd < 0)
        fail(fmt::format("program id {}", q.drv_prog_id));
    return fd;
}

// A map of the program, by name.
int map_of(int prog_fd, const char* name) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
        fail("program info");
    std::vector<__u32> ids(info.nr_map_ids);
    __u32 nr = info.nr_map_ids;
    info = {};
    info.nr_map_ids = nr;
    info.map_ids = reinterpret_cast<__u64>(ids.data());
    len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
        fail("program info");
    if (strcmp(info.name, BENCH_SINK_PROG) != 0)
        throw std::runtime_error(fmt::format("the attached program is {}, not {}", info.name, BENCH_SINK_PROG));
    for (__u32 i = 0; i < std::min(nr, info.nr_map_ids); ++i) {
        int fd = bpf_map_get_fd_by_id(ids[i]);
        if (fd < 0)
            continue;
        bpf_map_info m{};
        __u32 mlen = sizeof(m);
        if (bpf_obj_get_info_by_fd(fd, &m, &mlen) == 0 && strcmp(m.name, name) == 0)
            return fd;
        close(fd);
    }
    throw std::runtime_error(fmt::format("the sink program has no map {}", name));
}

int sink_read(const std::string& ifname) {
    Fd prog(attached_prog(ifname));
    Fd counts(map_of(prog.get(), BENCH_SINK_COUNTS_MAP));
    Fd by_dst(map_of(prog.get(), BENCH_SINK_BY_DST_MAP));
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0)
        fail("possible CPUs", -ncpu);
    std::vector<bench_sink_counts> per_cpu(static_cast<size_t>(ncpu));
    __u32 key = 0;
    if (bpf_map_lookup_elem(counts.get(), &key, per_cpu.data()))
        fail("read sink_counts");
    bench_sink_counts total{};
    std::string cpus;
    for (const auto& c : per_cpu) {
        total.packets += c.packets;
        total.bytes += c.bytes;
        total.other += c.other;
        cpus += fmt::format("{}{}", cpus.empty() ? "" : ", ", c.packets);
    }
    std::string dsts;
    std::vector<__u64> n(static_cast<size_t>(ncpu));
    for (key = 0; key < BENCH_SINK_DSTS; ++key) {
        if (bpf_map_lookup_elem(by_dst.get(), &key, n.data()))
            fail("read sink_by_dst");
        __u64 sum = 0;
        for (auto v : n)
            sum += v;
        if (sum)
            dsts += fmt::format("{}\"{}\": {}", dsts.empty() ? "" : ", ", key, sum);
    }
    fmt::print("{{\"packets\": {}, \"bytes\": {}, \"other\": {}, \"per_cpu\": [{}], \"by_dst\": {{{}}}}}\n",
               total.packets, total.bytes, total.other, cpus, dsts);
    return 0;
}

// ---------------------------------------------------------------- baseline

int baseline_attach(const std::string& in, const std::string& out, const std::string& dst_mac,
                    bool replace) {
    int in_index = ifindex_of(in), out_index = ifindex_of(out);
    Mac dst = parse_mac(dst_mac), src = mac_of(out);
    SkelPtr<lbd_fwd_baseline, lbd_fwd_baseline__destroy> skel(lbd_fwd_baseline__open());
    uint8_t macs[12];
    memcpy(macs, dst.data(), 6);
    memcpy(macs + 6, src.data(), 6);
    static_assert(sizeof(skel->rodata->macs) == sizeof(macs));
    memcpy(const_cast<__u32*>(skel->rodata->macs), macs, sizeof(macs));
    if (int err = lbd_fwd_baseline__load(skel.p))
        fail("load the baseline forwarder", -err);
    __u32 key = 0, val = static_cast<__u32>(out_index);
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.tx_port), &key, &val, BPF_ANY))
        fail(fmt::format("devmap slot for {}", out));
    xdp_attach(in_index, bpf_program__fd(skel->progs.bench_fwd), replace, in);
    fmt::print(stderr, "baseline: {} -> {} ({} -> {})\n", in, out, mac_str(src), mac_str(dst));
    return 0;
}

int detach(const std::string& ifname) {
    int err = bpf_xdp_detach(ifindex_of(ifname), XDP_FLAGS_DRV_MODE, nullptr);
    if (err)
        fail(fmt::format("detach XDP from {}", ifname), -err);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbd-bench-pps: generator, sink and baseline forwarder of the XDP throughput benchmark"};
    app.require_subcommand(1);

    GenArgs g;
    auto* gen = app.add_subcommand("gen", "send 64-byte UDP frames with BPF_PROG_RUN live frames");
    gen->add_option("--ifname", g.ifname, "interface to send from")->required();
    gen->add_option("--dst-mac", g.dst_mac, "destination MAC (the next hop)")->required();
    gen->add_option("--src-ip", g.src_ip, "IPv4 source")->required();
    gen->add_option("--dst-ip", g.dst_ip, "IPv4 destination (the VIP)")->required();
    gen->add_option("--dport", g.dport, "UDP destination port")->capture_default_str();
    gen->add_option("--sport-base", g.sport_base, "first UDP source port")->capture_default_str();
    gen->add_option("--flows", g.flows, "distinct source ports, used in turn")->capture_default_str();
    gen->add_option("--seconds", g.seconds, "how long to send")->capture_default_str()->check(
        CLI::Range(0.0, 3600.0));
    gen->add_option("--batch", g.batch, "frames per kernel batch (BPF_PROG_RUN batch_size)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 256u));
    gen->add_option("--call-seconds", g.call_seconds, "target length of one BPF_PROG_RUN call")
        ->capture_default_str();
    gen->add_flag("-v,--verbose", g.verbose, "print every BPF_PROG_RUN call");

    std::string ifname, out_if, dst_mac;
    bool replace = false;
    auto* sink = app.add_subcommand("sink", "the counting sink");
    sink->require_subcommand(1);
    auto* sink_att = sink->add_subcommand("attach", "attach the sink to IF (native XDP)");
    sink_att->add_option("ifname", ifname)->required();
    sink_att->add_flag("--replace", replace, "replace a program already attached");
    auto* sink_rd = sink->add_subcommand("read", "print the counters of the sink attached to IF");
    sink_rd->add_option("ifname", ifname)->required();

    auto* base = app.add_subcommand("baseline", "the no-lookup forwarder");
    base->require_subcommand(1);
    auto* base_att = base->add_subcommand("attach", "forward IPv4 arriving on IN out of OUT");
    base_att->add_option("in", ifname)->required();
    base_att->add_option("out", out_if)->required();
    base_att->add_option("--dst-mac", dst_mac, "next hop's MAC on OUT")->required();
    base_att->add_flag("--replace", replace, "replace a program already attached");

    auto* det = app.add_subcommand("detach", "remove the native XDP program of IF");
    det->add_option("ifname", ifname)->required();

    CLI11_PARSE(app, argc, argv);
    try {
        if (*gen)
            return run_gen(g);
        if (*sink_att)
            return sink_attach(ifname, replace);
        if (*sink_rd)
            return sink_read(ifname);
        if (*base_att)
            return baseline_attach(ifname, out_if, dst_mac, replace);
        if (*det)
            return detach(ifname);
    } catch (const std::exception& e) {
        fmt::print(stderr, "lbd-bench-pps: {}\n", e.what());
        return 1;
    }
    return 2;
}
