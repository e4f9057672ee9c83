// lb_prog_bench: what one packet costs the lb XDP program, scenario by
// scenario, measured through BPF_PROG_RUN (docs: XDP-FACTS.md, BPF_PROG_RUN).
//
// With repeat > 1 the kernel runs the program again on its own output (a
// rewritten or encapsulated frame), so every sample is its own call with
// repeat = 1, and the sample is the duration the kernel reports for it (ns,
// the program plus BPF_PROG_RUN's fixed cost). A row reports the median, min
// and max of its samples, and its net cost: the median less the floor, the
// trivial xdp_tx program timed the same way. The rows take turns (rounds),
// with the floor timed before every turn and after the last, so a slow spell
// of the machine falls on all of them alike.
//
// The lb program runs from the BPF fixture (tests/bpf/lb_fixture.h): loaded
// without pins, in a fresh network namespace where lo (ifindex 1) is the
// ingress port, so nothing on the host is touched; its maps have the
// daemon's default sizes. Every call is checked: the verdict, the one reason
// counter it moves, and whether it made a flow, so a row cannot silently
// time another path than the one it names.
//
// Per step: rows that stop at successive points of an established IPv4 DR
// packet's path (not IP; a VIP this node does not serve; the whole path;
// the whole path with a VRRP lease to check) and rows that branch off it
// give what each stretch costs as the difference of their medians, and the
// floor program's siblings (one clock read, one per-CPU counter) what those
// cost alone. The kernel's timer has 10 ns steps on this VM: a difference
// is good to about that.
#include "frame.h"
#include "lb_fixture.h"
#include "xdp_tx.skel.h"

#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/core.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace lbd::bench {
namespace {

using test::Bytes;
using test::LbFixture;
using test::Status;

struct Options {
    uint32_t calls = 20000;  // timed calls per row, over all rounds
    uint32_t rounds = 20;    // the rows take turns, calls / rounds at a time
    uint32_t warmup = 200;   // untimed calls before each turn (the first primes a hit row's flow)
    int cpu = -1;            // CPU to pin to; -1: the one we start on
    bool json = false;
};

Status fail(int err, const std::string& what) {
    return {err > 0 ? -err : (err ? err : -EINVAL), what};
}

// ------------------------------------------------------------------ world

const test::Mac kRouterMac = test::mac("02:00:00:00:00:01");
const test::Mac kLbMac = test::mac("02:00:00:00:00:aa");
const uint32_t kClient4 = test::ip4("192.0.2.10");
const test::Ip6 kClient6 = test::ip6("2001:db8::10");
const uint32_t kVipDr4 = test::ip4("198.51.100.1");
const uint32_t kVipTun4 = test::ip4("198.51.100.2");
const uint32_t kNotVip4 = test::ip4("198.51.100.99");
const test::Ip6 kVipDr6 = test::ip6("2001:db8:100::1");
const test::Ip6 kVipTun6 = test::ip6("2001:db8:100::2");

enum VipId : uint32_t {
    kNoVip = 0,
    kIdDr4Tcp,
    kIdDr4Udp,
    kIdTun4Tcp,
    kIdDr6Tcp,
    kIdTun6Tcp,
    kIdInactive4Tcp,  // 198.51.100.1:8080, owned by another node (vip_active 0)
    kIdLeased4Tcp,    // 198.51.100.1:443, served under a VRRP instance's lease
};
constexpr uint16_t kInactivePort = 8080;
constexpr uint16_t kLeasedPort = 443;
constexpr uint32_t kLeaseInstance = 0;
constexpr uint32_t kReals4[] = {1, 2};
constexpr uint32_t kReals6[] = {3, 4};
constexpr uint8_t kUpNeigh = LBD_REAL_F_UP | LBD_REAL_F_NEIGH;

// Production sizes: a full default ring per VIP and the default conntrack,
// so lookups walk tables of the size the daemon uses.
Status build_world(LbFixture& fx) {
    lbd_iface ifc{};
    std::copy(kLbMac.begin(), kLbMac.end(), ifc.mac);
    ifc.mtu = 1500;
    ifc.tun_src4 = test::ip4("10.0.0.1");
    test::Ip6 src6 = test::ip6("fd00::1");
    std::memcpy(ifc.tun_src6, src6.data(), 16);
    Status st = fx.set_iface(1, ifc);
    const test::Mac next_hop = test::mac("02:00:00:00:01:01");
    for (uint32_t i = 0; i < 2 && st.ok(); ++i) {
        st = fx.set_real(kReals4[i], test::real4(test::ip4("10.1.0." + std::to_string(i + 1)),
                                                 next_hop, 1, kUpNeigh));
        if (st.ok())
            st = fx.set_real(kReals6[i], test::real6(test::ip6("fd00:1::" + std::to_string(i + 1)),
                                                     next_hop, 1, kUpNeigh));
    }
    struct Vip {
        lbd_vip_key key;
        uint32_t id;
        lbd_fwd_mode mode;
        const uint32_t* reals;
    };
    const Vip vips[] = {
        {test::vip_key4(kVipDr4, 80, test::kProtoTcp), kIdDr4Tcp, LBD_MODE_DR, kReals4},
        {test::vip_key4(kVipDr4, 53, test::kProtoUdp), kIdDr4Udp, LBD_MODE_DR, kReals4},
        {test::vip_key4(kVipTun4, 80, test::kProtoTcp), kIdTun4Tcp, LBD_MODE_TUN, kReals4},
        {test::vip_key6(kVipDr6, 80, test::kProtoTcp), kIdDr6Tcp, LBD_MODE_DR, kReals6},
        {test::vip_key6(kVipTun6, 80, test::kProtoTcp), kIdTun6Tcp, LBD_MODE_TUN, kReals6},
        {test::vip_key4(kVipDr4, kInactivePort, test::kProtoTcp), kIdInactive4Tcp, LBD_MODE_DR, kReals4},
        {test::vip_key4(kVipDr4, kLeasedPort, test::kProtoTcp), kIdLeased4Tcp, LBD_MODE_DR, kReals4},
    };
    std::vector<uint32_t> ring(LBD_RING_SIZE_DEFAULT);
    for (const Vip& v : vips) {
        if (!st.ok()) break;
        lbd_vip_meta m{};
        m.vip_id = v.id;
        m.ring_size = LBD_RING_SIZE_DEFAULT;
        m.mode = static_cast<uint8_t>(v.mode);
        for (size_t s = 0; s < ring.size(); ++s) ring[s] = v.reals[s % 2];
        st = fx.add_vip(v.key, m, v.id != kIdInactive4Tcp);
        if (st.ok()) st = fx.set_ring(v.id, ring);
    }
    // A lease that stays current for the whole run (CLOCK_MONOTONIC + 1 h).
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t hour_ahead = (static_cast<uint64_t>(now.tv_sec) + 3600) * 1000000000ull;
    if (st.ok()) st = fx.set_lease(kLeaseInstance, hour_ahead);
    if (st.ok()) st = fx.set_vip_active(kIdLeased4Tcp, true, kLeaseInstance + 1);
    return st;
}

// -------------------------------------------------------------- scenarios

enum class FlowUse {
    kNone,    // not a flow of ours (or the floor program)
    kPrimed,  // the first warm-up call makes the flow; every later call is a conntrack hit
    kFresh,   // a new flow every call: the source port changes per call (one prebuilt
              // frame per port) and the entry the call made is deleted after it,
              // outside the timed call, so conntrack never fills or evicts
    kUntracked,  // a SYN from a new source port every call: the ring picks the real
                 // and, as a SYN makes no entry (docs/dataplane.md, "Floods"), no
                 // flow is made or counted
};

struct Scenario {
    std::string name;
    std::vector<Bytes> frames;  // kFresh, kUntracked: one per source port; otherwise one
    std::vector<lbd_flow_key> keys;  // kFresh, kUntracked: the flow of each frame
    uint32_t verdict = XDP_TX;
    lbd_reason reason = LBD_R_FWD_TX;
    uint32_t vip_id = kNoVip;
    FlowUse flow = FlowUse::kNone;
};

constexpr uint16_t kFreshPortBase = 20000;
constexpr uint16_t kFreshPorts = 4096;
constexpr size_t kPayload = 16;

test::Eth to_lb() { return {.dst = kLbMac, .src = kRouterMac}; }

Bytes tcp4(uint32_t dst, uint16_t sport, uint16_t dport, uint8_t flags) {
    return test::eth(to_lb(), test::ipv4({.src = kClient4, .dst = dst, .df = true},
                                         test::Tcp{.sport = sport, .dport = dport, .flags = flags,
                                                   .payload = test::pattern(kPayload)}));
}
Bytes tcp6(const test::Ip6& dst, uint16_t sport, uint16_t dport, uint8_t flags) {
    return test::eth(to_lb(), test::ipv6({.src = kClient6, .dst = dst},
                                         test::Tcp{.sport = sport, .dport = dport, .flags = flags,
                                                   .payload = test::pattern(kPayload)}));
}
Bytes udp4(uint32_t dst, uint16_t sport, uint16_t dport) {
    return test::eth(to_lb(), test::ipv4({.src = kClient4, .dst = dst},
                                         test::Udp{.sport = sport, .dport = dport,
                                                   .payload = test::pattern(kPayload)}));
}

Scenario one(std::string name, Bytes frame, uint32_t vip_id, FlowUse flow) {
    Scenario s;
    s.name = std::move(name);
    s.frames.push_back(std::move(frame));
    s.vip_id = vip_id;
    s.flow = flow;
    return s;
}

// A new flow per call: one frame per client port, and the flow it makes.
Scenario fresh(std::string name, uint32_t vip_id, const std::function<Bytes(uint16_t)>& frame,
               const std::function<lbd_flow_key(uint16_t)>& key) {
    Scenario s;
    s.name = std::move(name);
    s.vip_id = vip_id;
    s.flow = FlowUse::kFresh;
    for (uint16_t i = 0; i < kFreshPorts; ++i) {
        s.frames.push_back(frame(kFreshPortBase + i));
        s.keys.push_back(key(kFreshPortBase + i));
    }
    return s;
}
Scenario untracked_if_syn(uint8_t flags, Scenario s) {
    if (flags == test::kTcpSyn) s.flow = FlowUse::kUntracked;
    return s;
}
Scenario fresh4(std::string name, uint32_t dst, uint32_t vip_id, uint8_t flags) {
    return untracked_if_syn(flags, fresh(
        std::move(name), vip_id, [=](uint16_t p) { return tcp4(dst, p, 80, flags); },
        [=](uint16_t p) { return test::flow_key4(kClient4, dst, p, 80, test::kProtoTcp); }));
}
Scenario fresh6(std::string name, const test::Ip6& dst, uint32_t vip_id, uint8_t flags) {
    return untracked_if_syn(flags, fresh(
        std::move(name), vip_id, [=](uint16_t p) { return tcp6(dst, p, 80, flags); },
        [=](uint16_t p) { return test::flow_key6(kClient6, dst, p, 80, test::kProtoTcp); }));
}

std::vector<Scenario> scenarios() {
    using test::kTcpAck;
    using test::kTcpPsh;
    using test::kTcpSyn;
    const uint8_t data = kTcpAck | kTcpPsh;
    std::vector<Scenario> v;
    v.push_back(one("IPv4 TCP hit DR", tcp4(kVipDr4, 40000, 80, data), kIdDr4Tcp,
                    FlowUse::kPrimed));
    v.push_back(fresh4("IPv4 TCP miss DR", kVipDr4, kIdDr4Tcp, data));
    v.push_back(fresh4("IPv4 TCP SYN DR", kVipDr4, kIdDr4Tcp, kTcpSyn));
    v.push_back(one("IPv6 TCP hit DR", tcp6(kVipDr6, 40000, 80, data), kIdDr6Tcp,
                    FlowUse::kPrimed));
    v.push_back(fresh6("IPv6 TCP SYN DR", kVipDr6, kIdDr6Tcp, kTcpSyn));
    v.push_back(one("IPv4 TCP hit TUN (IPIP)", tcp4(kVipTun4, 40000, 80, data), kIdTun4Tcp,
                    FlowUse::kPrimed));
    v.push_back(one("IPv6 TCP hit TUN (IP6IP6)", tcp6(kVipTun6, 40000, 80, data), kIdTun6Tcp,
                    FlowUse::kPrimed));
    v.push_back(one("IPv4 UDP hit DR", udp4(kVipDr4, 5353, 53), kIdDr4Udp, FlowUse::kPrimed));
    Scenario pass = one("IPv4 TCP not a VIP (pass)", tcp4(kNotVip4, 40000, 80, data), kNoVip,
                        FlowUse::kNone);
    pass.verdict = XDP_PASS;
    pass.reason = LBD_R_PASS_NOT_VIP;
    v.push_back(pass);
    // The steps of the path (see the top of the file).
    Bytes other = test::eth({.dst = kLbMac, .src = kRouterMac, .type = 0x88b5}, test::pattern(46));
    Scenario not_ip = one("not IP (pass)", other, kNoVip, FlowUse::kNone);
    not_ip.verdict = XDP_PASS;
    not_ip.reason = LBD_R_PASS_NOT_IP;
    v.push_back(not_ip);
    Scenario inactive = one("IPv4 TCP VIP not served here (pass)", tcp4(kVipDr4, 40000, kInactivePort, data),
                            kNoVip, FlowUse::kNone);
    inactive.verdict = XDP_PASS;
    inactive.reason = LBD_R_PASS_VIP_INACTIVE;
    v.push_back(inactive);
    v.push_back(one("IPv4 TCP hit DR, VRRP lease", tcp4(kVipDr4, 40000, kLeasedPort, data), kIdLeased4Tcp,
                    FlowUse::kPrimed));
    return v;
}

// What each stretch of an established IPv4 DR packet's path costs: the
// difference of two rows' medians.
struct Step {
    const char* name;
    const char* to;    // the row that has the stretch
    const char* from;  // the row that stops before it; nullptr: the floor
};
const Step kSteps[] = {
    {"entry, Ethernet, reason counter, capture checks", "not IP (pass)", nullptr},
    {"IPv4 + TCP parse, VIP lookup (a hit), vip_active", "IPv4 TCP VIP not served here (pass)", "not IP (pass)"},
    {"established DR: clock (cached a tick), flow lookup, real (twice), next hop, 2 per-CPU counters, "
     "MAC rewrite, XDP_TX",
     "IPv4 TCP hit DR", "IPv4 TCP VIP not served here (pass)"},
    {"+ a VRRP lease to check (lookup, clock)", "IPv4 TCP hit DR, VRRP lease", "IPv4 TCP hit DR"},
    {"a new flow instead (hash, ring, LRU insert)", "IPv4 TCP miss DR", "IPv4 TCP hit DR"},
    {"a SYN instead (hash, ring; no entry)", "IPv4 TCP SYN DR", "IPv4 TCP hit DR"},
    {"TUN instead of DR (IPIP header, checksum)", "IPv4 TCP hit TUN (IPIP)", "IPv4 TCP hit DR"},
    {"IPv6 instead of IPv4", "IPv6 TCP hit DR", "IPv4 TCP hit DR"},
    {"not a VIP instead of a VIP not served (two VIP lookups miss, NAT and fence checks)",
     "IPv4 TCP not a VIP (pass)", "IPv4 TCP VIP not served here (pass)"},
};

// ------------------------------------------------------------ measurement

// Room for what a program may put in front of the frame.
constexpr size_t kOutRoom = 512;

struct Call {
    int err = 0;  // 0 or -errno
    uint32_t verdict = 0;
    uint32_t ns = 0;  // the kernel's duration for this one run
};

Call run_once(int prog_fd, const Bytes& frame, Bytes& out) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = static_cast<__u32>(frame.size()),
                .data_size_out = static_cast<__u32>(out.size()), .repeat = 1);
    Call c;
    if (bpf_prog_test_run_opts(prog_fd, &opts) < 0) c.err = -errno;
    c.verdict = opts.retval;
    c.ns = opts.duration;
    return c;
}

struct Stats {
    uint32_t median = 0, min = 0, max = 0;
};

Stats stats_of(std::vector<uint32_t> v) {
    if (v.empty()) return {};
    std::sort(v.begin(), v.end());
    return {v[v.size() / 2], v.front(), v.back()};
}

// A scenario being measured: its samples so far, and the next frame to send
// (fresh-flow rows go on through their ports from one chunk to the next).
struct Series {
    Scenario s;
    std::vector<uint32_t> samples;
    size_t next = 0;
};

// Runs `warmup` untimed then `calls` timed calls of the series' scenario
// through prog_fd, appending the timed durations. With a fixture, checks
// that every call took the path the scenario names.
Status measure(int prog_fd, Series& series, uint32_t warmup, uint32_t calls, LbFixture* fx) {
    const Scenario& s = series.s;
    size_t biggest = 0;
    for (const Bytes& f : s.frames) biggest = std::max(biggest, f.size());
    Bytes out(biggest + kOutRoom);
    const uint64_t total = uint64_t{warmup} + calls;
    test::ReasonCounts reasons_before{};
    if (fx) reasons_before = fx->reasons();
    lbd_counters vip_before{};

    for (uint64_t i = 0; i < total; ++i) {
        if (fx && i == warmup) vip_before = fx->vip_counters(s.vip_id);
        size_t k = series.next++ % s.frames.size();
        Call c = run_once(prog_fd, s.frames[k], out);
        if (c.err)
            return fail(c.err, fmt::format("{}: BPF_PROG_TEST_RUN: {}", s.name,
                                           std::strerror(-c.err)));
        if (c.verdict != s.verdict)
            return fail(EPROTO, fmt::format("{}: a call returned {}, expected {}", s.name,
                                            test::xdp_verdict_name(c.verdict),
                                            test::xdp_verdict_name(s.verdict)));
        if (fx && s.flow == FlowUse::kFresh) {
            Status st = fx->delete_flow(s.keys[k]);
            if (!st.ok()) return st;
        }
        if (i >= warmup) series.samples.push_back(c.ns);
    }
    if (!fx) return {};

    test::ReasonCounts after = fx->reasons();
    for (uint32_t r = 0; r < LBD_REASON_MAX; ++r) {
        uint64_t want = r == static_cast<uint32_t>(s.reason) ? total : 0;
        if (after[r] - reasons_before[r] != want)
            return fail(EPROTO, fmt::format("{}: reason {} moved by {}, expected {}", s.name,
                                            test::reason_name(r), after[r] - reasons_before[r],
                                            want));
    }
    if (s.vip_id != kNoVip) {
        lbd_counters v = fx->vip_counters(s.vip_id);
        uint64_t packets = v.packets - vip_before.packets;
        uint64_t new_flows = v.new_flows - vip_before.new_flows;
        uint64_t want_new = s.flow == FlowUse::kFresh ? calls : 0;
        if (packets != calls || new_flows != want_new)
            return fail(EPROTO, fmt::format("{}: {} packets and {} new flows in the timed calls, "
                                            "expected {} and {}",
                                            s.name, packets, new_flows, calls, want_new));
    }
    return {};
}

Status pin_cpu(int& cpu) {
    if (cpu < 0) cpu = sched_getcpu();
    if (cpu < 0) return fail(errno, std::string("sched_getcpu: ") + std::strerror(errno));
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set))
        return fail(errno, fmt::format("sched_setaffinity(CPU {}): {}", cpu, std::strerror(errno)));
    return {};
}

// The lb program's size as the kernel holds it.
struct ProgSize {
    uint32_t xlated_insns = 0;
    uint32_t jited_bytes = 0;
};

ProgSize prog_size(int fd) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len)) return {};
    return {info.xlated_prog_len / 8, info.jited_prog_len};
}

struct Row {
    std::string name;
    Stats stats;
    int64_t net = 0;
};

struct StepCost {
    std::string name;
    int64_t ns = 0;
};

std::vector<StepCost> step_costs(const std::vector<Row>& rows, const std::vector<Row>& alone) {
    auto net = [&](const char* name) -> int64_t {
        if (!name) return 0;
        for (const Row& r : rows)
            if (r.name == name) return r.net;
        throw std::logic_error(std::string("no row ") + name);
    };
    std::vector<StepCost> out;
    for (const Step& s : kSteps) out.push_back({s.name, net(s.to) - net(s.from)});
    for (const Row& r : alone) out.push_back({r.name + " (alone, on the floor program)", r.net});
    return out;
}

void print_table(const Options& o, const Stats& floor, const Stats& before, const Stats& after,
                 const std::vector<Row>& rows, const std::vector<StepCost>& steps, const ProgSize& size) {
    fmt::print("lb program per packet: BPF_PROG_RUN, repeat = 1; {} timed calls per row in {} "
               "turns, each after {} untimed; CPU {}\n",
               o.calls, o.rounds, o.warmup, o.cpu);
    fmt::print("floor (xdp_tx, before every turn and after the last): median {} ns; "
               "first turn {}, last {}\n\n",
               floor.median, before.median, after.median);
    fmt::print("{:<28} {:>8} {:>8} {:>8} {:>8}\n", "scenario", "median", "min", "max", "net");
    for (const Row& r : rows)
        fmt::print("{:<28} {:>8} {:>8} {:>8} {:>8}\n", r.name, r.stats.median, r.stats.min,
                   r.stats.max, r.net);
    fmt::print("\nns per packet; net = median - floor\n\nper step:\n");
    for (const StepCost& s : steps) fmt::print("{:>6}  {}\n", s.ns, s.name);
    fmt::print("\nlbd_lb: {} instructions after the verifier, {} bytes jited\n", size.xlated_insns,
               size.jited_bytes);
}

void print_json(const Stats& floor, const std::vector<Row>& rows, const std::vector<StepCost>& steps,
                const ProgSize& size) {
    nlohmann::ordered_json out;
    out["unit"] = "ns/packet";
    out["floor_ns"] = floor.median;
    out["lbd_lb_xlated_insns"] = size.xlated_insns;
    out["lbd_lb_jited_bytes"] = size.jited_bytes;
    out["rows"] = nlohmann::ordered_json::array();
    for (const Row& r : rows)
        out["rows"].push_back({{"name", r.name},
                               {"median_ns", r.stats.median},
                               {"min_ns", r.stats.min},
                               {"max_ns", r.stats.max},
                               {"net_ns", r.net}});
    out["steps"] = nlohmann::ordered_json::array();
    for (const StepCost& s : steps) out["steps"].push_back({{"step", s.name}, {"ns", s.ns}});
    fmt::print("{}\n", out.dump());
}

int run(Options o) {
    std::string why = test::bpf_skip_reason();
    if (!why.empty()) {
        fmt::print(stderr, "lb_prog_bench: {}\n", why);
        return 77;
    }
    Status st = pin_cpu(o.cpu);
    if (st.ok()) st = test::enter_test_netns();
    test::LbOptions lo;
    lo.conntrack_entries = LBD_CONNTRACK_SIZE;
    LbFixture fx(lo);
    if (st.ok()) st = fx.status();
    if (st.ok()) st = build_world(fx);
    lbd_xdp_tx* floor_skel = nullptr;
    if (st.ok()) {
        floor_skel = lbd_xdp_tx__open_and_load();
        if (!floor_skel)
            st = fail(errno, std::string("load xdp_tx: ") + std::strerror(errno));
    }

    std::vector<Series> rows;
    for (Scenario& s : scenarios()) rows.push_back({std::move(s), {}, 0});
    // The floor's siblings, each on the first row's frame like the floor.
    std::vector<std::pair<int, Series>> alone;
    if (floor_skel) {
        alone.push_back({bpf_program__fd(floor_skel->progs.xdp_tx_clock),
                         {one("bpf_ktime_get_coarse_ns()", rows.front().s.frames.front(), kNoVip, FlowUse::kNone),
                          {}, 0}});
        alone.push_back({bpf_program__fd(floor_skel->progs.xdp_tx_counter),
                         {one("one per-CPU counter", rows.front().s.frames.front(), kNoVip, FlowUse::kNone), {}, 0}});
    }
    // The floor runs on the first row's frame, timed exactly like the rows.
    Series floor{one("floor", rows.front().s.frames.front(), kNoVip, FlowUse::kNone), {}, 0};
    std::vector<uint32_t> floor_first, floor_last;
    const int floor_fd = floor_skel ? bpf_program__fd(floor_skel->progs.xdp_tx) : -1;

    // Rounds: the floor, then a chunk of every row; the floor once more at
    // the end. A slow spell of the machine (another guest, another job on
    // the two CPUs) then lands on every row alike instead of on one of them.
    for (uint32_t round = 0; round < o.rounds && st.ok(); ++round) {
        uint32_t calls = o.calls / o.rounds + (round < o.calls % o.rounds ? 1 : 0);
        st = measure(floor_fd, floor, o.warmup, calls, nullptr);
        if (round == 0) floor_first = floor.samples;
        for (Series& r : rows) {
            if (!st.ok()) break;
            st = measure(fx.prog_fd(), r, o.warmup, calls, &fx);
        }
        for (auto& [fd, series] : alone) {
            if (!st.ok()) break;
            st = measure(fd, series, o.warmup, calls, nullptr);
        }
    }
    if (st.ok()) {
        size_t from = floor.samples.size();
        st = measure(floor_fd, floor, o.warmup, o.calls / o.rounds, nullptr);
        floor_last.assign(floor.samples.begin() + static_cast<long>(from), floor.samples.end());
    }
    lbd_xdp_tx__destroy(floor_skel);
    const ProgSize size = prog_size(fx.prog_fd());
    if (!st.ok()) {
        fmt::print(stderr, "lb_prog_bench: {}\n", st.what);
        return 1;
    }

    Stats floor_stats = stats_of(floor.samples);
    std::vector<Row> out;
    for (Series& r : rows) {
        Stats st_r = stats_of(std::move(r.samples));
        out.push_back({r.s.name, st_r,
                       static_cast<int64_t>(st_r.median) -
                           static_cast<int64_t>(floor_stats.median)});
    }
    std::vector<Row> alone_rows;
    for (auto& [fd, r] : alone) {
        Stats st_r = stats_of(std::move(r.samples));
        alone_rows.push_back({r.s.name, st_r,
                              static_cast<int64_t>(st_r.median) - static_cast<int64_t>(floor_stats.median)});
    }
    const std::vector<StepCost> steps = step_costs(out, alone_rows);
    if (o.json)
        print_json(floor_stats, out, steps, size);
    else
        print_table(o, floor_stats, stats_of(std::move(floor_first)),
                    stats_of(std::move(floor_last)), out, steps, size);
    return 0;
}

}  // namespace
}  // namespace lbd::bench

int main(int argc, char** argv) {
    lbd::bench::Options o;
    CLI::App app{"Per-packet cost of the lb XDP program through BPF_PROG_RUN, less the cost of "
                 "a trivial XDP_TX program timed the same way. Needs root; exits 77 without it."};
    app.add_flag("--json", o.json, "print one JSON object instead of a table");
    app.add_option("--calls", o.calls, "timed calls per row")->check(CLI::Range(1u, 10000000u));
    app.add_option("--rounds", o.rounds, "turns the rows take, calls / rounds calls each")
        ->check(CLI::Range(1u, 10000u));
    app.add_option("--warmup", o.warmup, "untimed calls before each turn of a row")
        ->check(CLI::Range(1u, 10000000u));
    app.add_option("--cpu", o.cpu, "CPU to run on (default: the one it starts on)");
    CLI11_PARSE(app, argc, argv);
    if (o.rounds > o.calls) o.rounds = o.calls;
    return lbd::bench::run(o);
}
