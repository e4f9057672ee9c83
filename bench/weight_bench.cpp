// lbd-bench-weight: how long lbd takes to apply `lbctl weight`, and proof
// that the data plane has it when lbd answers (scripts/bench.sh, part 6).
//
//   lbd-bench-weight --socket /run/lbd/NAME.sock --pin-dir /sys/fs/bpf/lbd/NAME
//                    --vip ADDR --port P [--proto tcp|udp] --real ADDR
//                    [--low 1] [--high 2] [--rounds 200]
//
// Over one connection to the control socket, sets REAL's weight to HIGH and
// LOW in turn, timing each request from its send to two moments: the new
// slots in the pinned ring (the tool maps the VIP's inner map and watches
// the last slot the two weights give differently) and the end of the reply
// line. After each reply it reads the VIP's Maglev ring from the pinned maps
// and requires it to be in place already: the same inner map rewritten, not
// the ring of the previous round, the very ring the same weight gave before
// (the build is deterministic), and more slots for REAL at HIGH than at LOW.
// A round that fails is an error: lbd answered before the ring was written.
//
// Prints one JSON object; gives REAL its configured weight back at the end.
// The pins live in lbd's mount namespace (`ip netns exec` gives it a bpffs
// of its own): run this under `nsenter -t LBD_PID -m`.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <sched.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "client.h"
#include "ring_watch.h"

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

using namespace lbd::bench;

struct Args {
    std::string socket, pin_dir, vip, real, proto = "tcp";
    uint16_t port = 0;
    uint32_t low = 1, high = 2, rounds = 200;
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
    if (now.map_id != before.map_id)
        return fmt::format("the ring map was replaced (id {} -> {}), not rewritten in place", before.map_id,
                           now.map_id);
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

int run(const Args& a) {
    if (a.low >= a.high)
        throw std::runtime_error("--low must be below --high");
    const lbd_vip_meta meta = vip_meta(a.pin_dir, a.vip, a.port, a.proto);
    const uint32_t real = real_index(a.pin_dir, a.real);
    RingReader reader(a.pin_dir, meta);
    lbctl::Connection ctl(a.socket);

    // The starting point, untimed: LOW, whatever the configured weight is,
    // then HIGH and LOW again, to learn which slot to watch: the last one the
    // two weights give to different reals (the daemon writes slots in order).
    ctl.call("weight", weight_args(a.real, a.low));
    std::map<uint32_t, Ring> seen{{a.low, reader.read()}};
    ctl.call("weight", weight_args(a.real, a.high));
    seen[a.high] = reader.read();
    ctl.call("weight", weight_args(a.real, a.low));
    if (reader.read().slots != seen[a.low].slots)
        throw std::runtime_error("the same weight gave two different rings");
    uint32_t last_diff = reader.size();
    for (uint32_t slot = 0; slot < reader.size(); ++slot)
        if (seen[a.low].slots[slot] != seen[a.high].slots[slot])
            last_diff = slot;
    if (last_diff == reader.size())
        throw std::runtime_error("the two weights give the same ring");
    SlotWatch watch(reader, seen[a.low].map_id, last_diff);
    Ring before = seen[a.low];
    uint32_t prev = a.low;

    std::vector<double> us, visible_us;
    for (uint32_t round = 0; round < a.rounds; ++round) {
        const uint32_t w = round % 2 ? a.low : a.high;
        const uint32_t want = seen[w].slots[watch.slot()];
        const auto t0 = Clock::now();
        ctl.send_request("weight", weight_args(a.real, w));
        auto seen_at = Clock::now();
        while (watch.value() != want) {
            seen_at = Clock::now();
            if (seen_at - t0 > std::chrono::seconds(10))
                throw std::runtime_error(fmt::format("round {}: slot {} not rewritten within 10 s", round, watch.slot()));
            sched_yield();
        }
        ctl.answer();
        const auto t1 = Clock::now();
        visible_us.push_back(std::chrono::duration<double, std::micro>(seen_at - t0).count());
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

    json out = {{"rounds", a.rounds},
                {"reals", reals_in(before)},
                {"ring_size", reader.size()},
                {"weights", {a.low, a.high}},
                {"real_slots", {{std::to_string(a.low), slots_of(seen[a.low], real)},
                                {std::to_string(a.high), slots_of(seen[a.high], real)}}}};
    put_stats(out, "", stats_of(us));
    put_stats(out, "visible_", stats_of(visible_us));
    fmt::print("{}\n", out.dump());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbd-bench-weight: latency of a weight change over the control socket, checked in the pinned maps"};
    Args a;
    app.add_option("--socket", a.socket, "lbd's control socket (/run/lbd/NAME.sock)")->required();
    add_service_options(app, a.pin_dir, a.vip, a.port, a.proto);
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
