// lbd-bench-pps: the pieces of the forwarding throughput benchmark
// (scripts/bench.sh) that need libbpf.
//
//   generator --ifname IF
//       which generator this kernel allows on IF: prints `live-frames` when
//       BPF_PROG_RUN takes BPF_F_TEST_XDP_LIVE_FRAMES (tried once with the
//       generator stopped, so nothing is sent), else `recirculate`.
//   gen --generator live-frames|recirculate --ifname IF --dst-mac M
//       --src-ip A --dst-ip VIP --dport P --seconds S [--return-if RET]
//       [--flood-every N --flood-dst IP [--flood-dport P]]
//       sends 64-byte UDP frames out of IF for S seconds (bench/bpf/gen.bpf.c),
//       1024 source ports; prints what it sent as one JSON line. Live frames:
//       BPF_PROG_RUN, XDP_TX. Recirculate: the program on RET, where the sink
//       returns the frames it counted, sends each again out of IF; a first
//       --in-flight frames go out by an AF_PACKET socket.
//   sink attach IF [--return RET] | sink read IF
//       attaches the counting sink (bench/bpf/sink.bpf.c) in native mode,
//       dropping what it counts or returning it out of RET / prints its
//       counters as one JSON line.
//   baseline attach IN OUT --dst-mac M
//       attaches the no-lookup forwarder (bench/bpf/fwd_baseline.bpf.c) to IN:
//       MACs rewritten, redirected out of OUT.
//   detach IF
//       removes whatever native XDP program IF has.
//
// Programs are attached through netlink, so they stay after the tool exits
// and need no pin: `sink read` finds the sink's maps from the program that
// is attached to IF (bpf_xdp_query, then ids). `ip netns exec` gives every
// command a fresh /sys without bpffs, which is why nothing is pinned. The
// recirculating generator is the exception: a BPF link, gone with the tool.
// Interface names are resolved in the caller's network namespace.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
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
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
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

constexpr const char* kLiveFrames = "live-frames";
constexpr const char* kRecirculate = "recirculate";

struct GenArgs {
    std::string generator, ifname, dst_mac, src_ip, dst_ip, return_if;
    uint16_t dport = 9;
    uint16_t sport_base = 10000;
    uint32_t flows = 1024;
    uint32_t flood_every = 0;  // 0: no flood frames
    std::string flood_dst;
    uint16_t flood_dport = 53;
    double seconds = 3;
    uint32_t batch = 64;
    uint32_t in_flight = 64;
    bool verbose = false;
    double call_seconds = 1.0;
};

// What a run sent, and over how long.
struct Sent {
    uint64_t frames = 0;
    double seconds = 0;
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

using Frame = std::array<uint8_t, BENCH_FRAME_LEN>;

Frame build_frame(const GenArgs& a, const Mac& src_mac) {
    Frame f{};
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

using GenSkel = SkelPtr<lbd_gen, lbd_gen__destroy>;

// Loads the opened generator with this frame; out_ifindex 0 for XDP_TX.
void load_gen(GenSkel& skel, const GenArgs& a, const Frame& frame, int out_ifindex) {
    static_assert(sizeof(skel->rodata->frame) == BENCH_FRAME_LEN);
    memcpy(const_cast<__u64*>(skel->rodata->frame), frame.data(), BENCH_FRAME_LEN);
    skel->rodata->flows = a.flows;
    skel->rodata->sport_base = a.sport_base;
    skel->rodata->out_ifindex = static_cast<__u32>(out_ifindex);
    if (a.flood_every) {
        const in_addr flood = parse_ip4(a.flood_dst);
        skel->rodata->flood_every = a.flood_every;
        skel->rodata->flood_daddr = flood.s_addr;
        skel->rodata->flood_dport = htons(a.flood_dport);
    }
    if (int err = lbd_gen__load(skel.p))
        fail("load the generator", -err);
}

// One BPF_PROG_RUN with live frames; returns 0 or errno.
int live_run(int prog, int ifindex, Frame& frame, uint32_t repeat, uint32_t batch, uint32_t* ns_per_frame) {
    xdp_md ctx{};
    ctx.data_end = BENCH_FRAME_LEN;
    ctx.ingress_ifindex = static_cast<__u32>(ifindex);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_size_in = BENCH_FRAME_LEN,
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = static_cast<int>(repeat),
                .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
    if (bpf_prog_test_run_opts(prog, &opts))
        return errno;
    if (ns_per_frame)
        *ns_per_frame = opts.duration;
    return 0;
}

int run_probe(const std::string& ifname) {
    GenArgs a;
    Frame frame{};
    GenSkel skel(lbd_gen__open());
    load_gen(skel, a, frame, 0);
    skel->bss->stop = 1;  // the one frame is dropped, not sent
    int err = live_run(bpf_program__fd(skel->progs.bench_gen), ifindex_of(ifname), frame, 1, 1, nullptr);
    if (err)
        fmt::print(stderr, "lbd-bench-pps: BPF_PROG_RUN refuses live frames on {}: {}\n", ifname, strerror(err));
    fmt::print("{}\n", err ? kRecirculate : kLiveFrames);
    return 0;
}

Sent run_live(const GenArgs& a, int ifindex, Frame& frame) {
    GenSkel skel(lbd_gen__open());
    load_gen(skel, a, frame, 0);
    int prog = bpf_program__fd(skel->progs.bench_gen);
    Sent s;
    // A call costs ~25 ms of setup and teardown on top of its frames (page
    // pool, RCU), so calls are long: --call-seconds each, sized from the
    // kernel's own time per frame in the previous call. The rate reported is
    // over wall time, that overhead included.
    uint32_t repeat = 1u << 18;
    const auto budget = std::chrono::duration<double>(a.seconds);
    const auto start = Clock::now();
    auto now = start;
    while (!g_stop) {
        uint32_t ns_per_frame = 0;
        auto t0 = Clock::now();
        int err = live_run(prog, ifindex, frame, repeat, a.batch, &ns_per_frame);
        now = Clock::now();
        if (err) {
            if (err == EINTR || g_stop)
                break;  // a signal: this call's count is unknown, leave it out
            fail("BPF_PROG_RUN (live frames)", err);
        }
        // Live frames report no retval: what arrived is counted by the sink.
        s.frames += repeat;
        if (a.verbose)
            fmt::print(stderr, "call: {} frames, kernel {} ns/frame, wall {:.3f} ms\n", repeat, ns_per_frame,
                       std::chrono::duration<double, std::milli>(now - t0).count());
        double left = std::chrono::duration<double>(budget - (now - start)).count() - 0.025;
        if (left < 0.05)
            break;
        double per_frame = std::max(ns_per_frame, 1u) * 1e-9;
        repeat = static_cast<uint32_t>(std::clamp(std::min(a.call_seconds, left) / per_frame, 64.0,
                                                  double(1u << 30)));
    }
    s.seconds = std::chrono::duration<double>(now - start).count();
    return s;
}

// Frames the generator program has sent, over all CPUs.
uint64_t gen_sent(int state_fd) {
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0)
        fail("possible CPUs", -ncpu);
    std::vector<bench_gen_state> per_cpu(static_cast<size_t>(ncpu));
    __u32 key = 0;
    if (bpf_map_lookup_elem(state_fd, &key, per_cpu.data()))
        fail("read gen_state");
    uint64_t n = 0;
    for (const auto& c : per_cpu)
        n += c.sent;
    return n;
}

// The first frames go out by a packet socket; from then on each frame the
// sink returns is rewritten and sent again by the program on --return-if,
// in the kernel, on the CPU that sent the first ones: the tool only waits,
// and checks that the frames keep coming back.
Sent run_recirculate(const GenArgs& a, int ifindex, Frame& frame) {
    if (a.return_if.empty())
        throw std::runtime_error("recirculate needs --return-if");
    GenSkel skel(lbd_gen__open());
    load_gen(skel, a, frame, ifindex);
    int state = bpf_map__fd(skel->maps.gen_state);
    std::unique_ptr<bpf_link, int (*)(bpf_link*)> link(
        bpf_program__attach_xdp(skel->progs.bench_gen, ifindex_of(a.return_if)), bpf_link__destroy);
    if (!link)
        fail(fmt::format("attach the generator to {}", a.return_if));
    Fd sock(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));
    if (sock.get() < 0)
        fail("packet socket");
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    if (bind(sock.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)))
        fail(fmt::format("bind a packet socket to {}", a.ifname));

    Sent s;
    const auto start = Clock::now();
    for (uint32_t i = 0; i < a.in_flight; ++i) {
        uint16_t sport = static_cast<uint16_t>(a.sport_base + i % a.flows);
        frame[BENCH_UDP_SPORT_OFF] = static_cast<uint8_t>(sport >> 8);
        frame[BENCH_UDP_SPORT_OFF + 1] = static_cast<uint8_t>(sport);
        if (send(sock.get(), frame.data(), frame.size(), 0) != static_cast<ssize_t>(frame.size()))
            fail(fmt::format("send the first frames out of {}", a.ifname));
    }
    s.frames = a.in_flight;
    const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
    constexpr auto kCheck = std::chrono::milliseconds(100);
    uint64_t seen = 0;
    auto now = start;
    while (!g_stop && now < end) {
        std::this_thread::sleep_until(std::min(now + kCheck, end));
        now = Clock::now();
        uint64_t sent = gen_sent(state);
        if (sent == seen && now < end)
            throw std::runtime_error(fmt::format(
                "no frame came back through {} in {} ms: lost on the path, or the sink does not return them",
                a.return_if, kCheck.count()));
        seen = sent;
    }
    skel->bss->stop = 1;
    now = Clock::now();
    // The frames still on their way are dropped when they come back.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.frames += gen_sent(state);
    s.seconds = std::chrono::duration<double>(now - start).count();
    return s;
}

int run_gen(const GenArgs& a) {
    if (a.flows == 0 || a.flows > 65536u - a.sport_base)
        throw std::runtime_error("--flows must fit above --sport-base in 16 bits");
    int ifindex = ifindex_of(a.ifname);
    auto frame = build_frame(a, mac_of(a.ifname));
    std::signal(SIGINT, [](int) { g_stop = true; });
    std::signal(SIGTERM, [](int) { g_stop = true; });
    Sent s = a.generator == kLiveFrames ? run_live(a, ifindex, frame) : run_recirculate(a, ifindex, frame);
    fmt::print("{{\"generator\": \"{}\", \"sent\": {}, \"seconds\": {:.6f}, \"pps\": {:.0f}, \"flows\": {}, "
               "\"frame_len\": {}}}\n",
               a.generator, s.frames, s.seconds, s.seconds > 0 ? s.frames / s.seconds : 0.0, a.flows,
               BENCH_FRAME_LEN);
    return 0;
}

// ---------------------------------------------------------------- sink ---

int sink_attach(const std::string& ifname, const std::string& return_if, bool replace) {
    int ifindex = ifindex_of(ifname);
    SkelPtr<lbd_sink, lbd_sink__destroy> skel(lbd_sink__open());
    skel->rodata->return_ifindex = return_if.empty() ? 0 : static_cast<__u32>(ifindex_of(return_if));
    if (int err = lbd_sink__load(skel.p))
        fail("load the sink", -err);
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

    std::string ifname, out_if, dst_mac, return_if;
    auto* probe = app.add_subcommand("generator", "print the generator this kernel allows on IF");
    probe->add_option("--ifname", ifname, "interface the generator sends from")->required();

    GenArgs g;
    auto* gen = app.add_subcommand("gen", "send 64-byte UDP frames");
    gen->add_option("--generator", g.generator, "how: BPF_PROG_RUN live frames, or frames the sink returns")
        ->required()
        ->check(CLI::IsMember({kLiveFrames, kRecirculate}));
    gen->add_option("--ifname", g.ifname, "interface to send from")->required();
    gen->add_option("--dst-mac", g.dst_mac, "destination MAC (the next hop)")->required();
    gen->add_option("--src-ip", g.src_ip, "IPv4 source")->required();
    gen->add_option("--dst-ip", g.dst_ip, "IPv4 destination (the VIP)")->required();
    gen->add_option("--dport", g.dport, "UDP destination port")->capture_default_str();
    gen->add_option("--sport-base", g.sport_base, "first UDP source port")->capture_default_str();
    gen->add_option("--flows", g.flows, "distinct source ports, used in turn")->capture_default_str();
    gen->add_option("--seconds", g.seconds, "how long to send")->capture_default_str()->check(
        CLI::Range(0.0, 3600.0));
    gen->add_option("--flood-every", g.flood_every,
                    "every Nth frame a new flow to --flood-dst from a random source in 10.0.0.0/8");
    gen->add_option("--flood-dst", g.flood_dst, "the flood frames' IPv4 destination");
    gen->add_option("--flood-dport", g.flood_dport, "the flood frames' UDP destination port")->capture_default_str();
    gen->add_option("--return-if", g.return_if, "recirculate: the interface the sink returns frames to");
    gen->add_option("--in-flight", g.in_flight, "recirculate: frames sent to start, circulating from then on")
        ->capture_default_str()
        ->check(CLI::Range(1u, 256u));
    gen->add_option("--batch", g.batch, "live frames: frames per kernel batch (BPF_PROG_RUN batch_size)")
        ->capture_default_str()
        ->check(CLI::Range(1u, 256u));
    gen->add_option("--call-seconds", g.call_seconds, "live frames: target length of one BPF_PROG_RUN call")
        ->capture_default_str();
    gen->add_flag("-v,--verbose", g.verbose, "live frames: print every BPF_PROG_RUN call");

    bool replace = false;
    auto* sink = app.add_subcommand("sink", "the counting sink");
    sink->require_subcommand(1);
    auto* sink_att = sink->add_subcommand("attach", "attach the sink to IF (native XDP)");
    sink_att->add_option("ifname", ifname)->required();
    sink_att->add_option("--return", return_if, "send every IPv4 frame counted out of this interface");
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
        if (*probe)
            return run_probe(ifname);
        if (*gen)
            return run_gen(g);
        if (*sink_att)
            return sink_attach(ifname, return_if, replace);
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
