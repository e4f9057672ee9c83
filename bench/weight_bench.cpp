// lbd-bench-weight: how long lbd takes to apply `lbctl weight`, and proof
// that the data plane has it when lbd answers (scripts/bench.sh, part 6).
//
//   lbd-bench-weight --socket /run/lbd/NAME.sock --pin-dir /sys/fs/bpf/lbd/NAME
//                    --vip ADDR --port P [--proto tcp|udp] --real ADDR
//                    [--low 1] [--high 2] [--rounds 200]
//
// Over one connection to the control socket, sets REAL's weight to HIGH and
// LOW in turn, timing each request from its send to the end of its reply
// line. After each reply it reads the VIP's Maglev ring from the pinned maps
// and requires it to be in place already: a new inner map, not the ring of
// the previous round, the very ring the same weight gave before (the build
// is deterministic), and more slots for REAL at HIGH than at LOW. A round
// that fails is an error: lbd answered before the ring was written.
//
// Prints one JSON object; gives REAL its configured weight back at the end.
// The pins live in lbd's mount namespace (`ip netns exec` gives it a bpffs
// of its own): run this under `nsenter -t LBD_PID -m`.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "client.h"
#include "util/unique_fd.h"
#include "lbd_abi.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& what, int err = errno) {
    throw std::runtime_error(fmt::format("{}: {}", what, strerror(err)));
}

using Fd = lbd::UniqueFd;

struct Args {
    std::string socket, pin_dir, vip, real, proto = "tcp";
    uint16_t port = 0;
    uint32_t low = 1, high = 2, rounds = 200;
};

// --------------------------------------------------------- pinned maps --

uint32_t ipv4(const std::string& s, const char* what) {
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1)
        throw std::runtime_error(fmt::format("{}: not an IPv4 address: {}", what, s));
    return a.s_addr;
}

Fd open_pin(const std::string& dir, const char* name) {
    const std::string path = dir + "/" + name;
    Fd fd(bpf_obj_get(path.c_str()));
    if (fd.get() < 0)
        fail("open pinned map " + path + " (run in lbd's mount namespace)");
    return fd;
}

lbd_vip_meta vip_meta(const std::string& pin_dir, const Args& a) {
    lbd_vip_key4 key{};
    key.addr = ipv4(a.vip, "--vip");
    key.port = htons(a.port);
    key.proto = a.proto == "udp" ? IPPROTO_UDP : IPPROTO_TCP;
    lbd_vip_meta meta{};
    Fd vips = open_pin(pin_dir, LBD_PIN_VIPS4);
    if (bpf_map_lookup_elem(vips.get(), &key, &meta) < 0)
        fail(fmt::format("virtual service {}:{} {} in {}", a.vip, a.port, a.proto, LBD_PIN_VIPS4));
    return meta;
}

// The real's index in `reals`, which its ring slots hold.
uint32_t real_index(const std::string& pin_dir, const std::string& real) {
    const uint32_t addr = ipv4(real, "--real");
    Fd reals = open_pin(pin_dir, LBD_PIN_REALS);
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(reals.get(), &info, &len) < 0)
        fail("info of the reals map");
    for (uint32_t i = 0; i < info.max_entries; ++i) {
        lbd_real r{};
        if (bpf_map_lookup_elem(reals.get(), &i, &r) < 0)
            fail(fmt::format("reals[{}]", i));
        if (r.family == LBD_AF_INET && r.addr.v4 == addr && (r.flags & LBD_REAL_F_UP))
            return i;
    }
    throw std::runtime_error(fmt::format("real server {} is not in the reals map, or not up", real));
}

struct Ring {
    uint32_t map_id = 0;  // the inner map swapped in for this ring
    std::vector<uint32_t> slots;
};

class RingReader {
public:
    RingReader(const std::string& pin_dir, const lbd_vip_meta& meta)
        : rings_(open_pin(pin_dir, LBD_PIN_RINGS)), vip_id_(meta.vip_id), size_(meta.ring_size) {}

    Ring read() const {
        Ring ring;
        // From userspace, an array of maps yields the inner map's id.
        if (bpf_map_lookup_elem(rings_.get(), &vip_id_, &ring.map_id) < 0)
            fail(fmt::format("rings[{}]: the VIP has no ring", vip_id_));
        Fd inner(bpf_map_get_fd_by_id(ring.map_id));
        if (inner.get() < 0)
            fail(fmt::format("ring map id {} (replaced while being read?)", ring.map_id));
        ring.slots.resize(size_);
        std::vector<uint32_t> keys(size_);
        uint32_t done = 0, next = 0;
        // An array yields all its entries over a few batches, then ENOENT.
        while (done < size_) {
            uint32_t count = size_ - done;
            int rc = bpf_map_lookup_batch(inner.get(), done ? &next : nullptr, &next, keys.data() + done,
                                          ring.slots.data() + done, &count, nullptr);
            if (rc < 0 && errno != ENOENT)
                fail(fmt::format("read ring map id {}", ring.map_id));
            done += count;
            if (rc < 0)
                break;
        }
        if (done != size_)
            throw std::runtime_error(fmt::format("ring map id {}: {} of {} slots", ring.map_id, done, size_));
        return ring;
    }

    uint32_t size() const { return size_; }

private:
    Fd rings_;
    uint32_t vip_id_;
    uint32_t size_;
};

size_t slots_of(const Ring& ring, uint32_t index) {
    return static_cast<size_t>(std::count(ring.slots.begin(), ring.slots.end(), index));
}

size_t reals_in(const Ring& ring) {
    return std::set<uint32_t>(ring.slots.begin(), ring.slots.end()).size();
}

// ------------------------------------------------------------ the rounds --

// Why `now`, read right after lbd answered weight `w` (the round before set
// `prev` and left `before`), is not the ring of `w`; nothing when it is.
std::optional<std::string> ring_problem(const Ring& now, const Ring& before, const std::map<uint32_t, Ring>& seen,
                                        uint32_t w, uint32_t prev, uint32_t real) {
    if (now.map_id == before.map_id)
        return fmt::format("no new ring map was swapped in (still map id {})", now.map_id);
    if (now.slots == before.slots)
        return "the ring is the one of the previous weight";
    if (auto it = seen.find(w); it != seen.end() && it->second.slots != now.slots)
        return fmt::format("the ring differs from the one weight {} gave before", w);
    const size_t got = slots_of(now, real), had = slots_of(before, real);
    if (w > prev ? got <= had : got >= had)
        return fmt::format("the real has {} slots at weight {}, {} at weight {}", got, w, had, prev);
    return std::nullopt;
}

// No port: the real's weight in every service it is in, as `lbctl weight` does.
json weight_args(const std::string& real, std::optional<uint32_t> w) {
    return {{"real", real}, {"weight", w ? json(*w) : json(nullptr)}};
}

struct Stats {
    double min_us, median_us, p90_us, max_us;
};

Stats stats_of(std::vector<double> us) {
    std::sort(us.begin(), us.end());
    const size_t n = us.size();
    const double median = n % 2 ? us[n / 2] : (us[n / 2 - 1] + us[n / 2]) / 2;
    // Nearest rank: the smallest value at or above 90 % of the samples.
    const size_t p90 = static_cast<size_t>(std::ceil(0.9 * double(n))) - 1;
    return {us.front(), median, us[p90], us.back()};
}

double round1(double x) { return std::round(x * 10) / 10; }

int run(const Args& a) {
    if (a.low >= a.high)
        throw std::runtime_error("--low must be below --high");
    const lbd_vip_meta meta = vip_meta(a.pin_dir, a);
    const uint32_t real = real_index(a.pin_dir, a.real);
    RingReader reader(a.pin_dir, meta);
    lbctl::Connection ctl(a.socket);

    // The starting point, untimed: LOW, whatever the configured weight is.
    ctl.call("weight", weight_args(a.real, a.low));
    std::map<uint32_t, Ring> seen{{a.low, reader.read()}};
    Ring before = seen[a.low];
    uint32_t prev = a.low;

    std::vector<double> us;
    for (uint32_t round = 0; round < a.rounds; ++round) {
        const uint32_t w = round % 2 ? a.low : a.high;
        const auto t0 = Clock::now();
        ctl.call("weight", weight_args(a.real, w));
        const auto t1 = Clock::now();
        us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
        Ring now = reader.read();
        if (auto problem = ring_problem(now, before, seen, w, prev, real))
            throw std::runtime_error(
                fmt::format("round {}: lbd answered weight {} but the ring is not updated: {}", round, w, *problem));
        seen.try_emplace(w, now);
        before = std::move(now);
        prev = w;
    }
    ctl.call("weight", weight_args(a.real, std::nullopt));

    const Stats s = stats_of(us);
    json out = {{"rounds", a.rounds},
                {"reals", reals_in(before)},
                {"ring_size", reader.size()},
                {"weights", {a.low, a.high}},
                {"real_slots", {{std::to_string(a.low), slots_of(seen[a.low], real)},
                                {std::to_string(a.high), slots_of(seen[a.high], real)}}},
                {"median_us", round1(s.median_us)},
                {"p90_us", round1(s.p90_us)},
                {"min_us", round1(s.min_us)},
                {"max_us", round1(s.max_us)}};
    fmt::print("{}\n", out.dump());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbd-bench-weight: latency of a weight change over the control socket, checked in the pinned maps"};
    Args a;
    app.add_option("--socket", a.socket, "lbd's control socket (/run/lbd/NAME.sock)")->required();
    app.add_option("--pin-dir", a.pin_dir, "lbd's pinned maps (/sys/fs/bpf/lbd/NAME)")->required();
    app.add_option("--vip", a.vip, "the virtual service's IPv4 address")->required();
    app.add_option("--port", a.port, "the virtual service's port")->required();
    app.add_option("--proto", a.proto, "the virtual service's protocol")
        ->capture_default_str()
        ->check(CLI::IsMember({"tcp", "udp"}));
    app.add_option("--real", a.real, "the real server whose weight changes (IPv4)")->required();
    app.add_option("--low", a.low, "the lower of the two weights")->capture_default_str()->check(
        CLI::Range(1u, 65535u));
    app.add_option("--high", a.high, "the higher of the two weights")->capture_default_str()->check(
        CLI::Range(1u, 65535u));
    app.add_option("--rounds", a.rounds, "timed weight changes")->capture_default_str()->check(
        CLI::Range(1u, 100000u));
    CLI11_PARSE(app, argc, argv);
    try {
        return run(a);
    } catch (const std::exception& e) {
        fmt::print(stderr, "lbd-bench-weight: {}\n", e.what());
        return 1;
    }
}
