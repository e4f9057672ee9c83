// lbd-bench-verdict: how long a health checker's verdict takes to reach the
// data plane (scripts/bench.sh, part 6).
//
//   lbd-bench-verdict --pin-dir /sys/fs/bpf/lbd/NAME --vip ADDR --port P
//                     --real ADDR --listen ADDR --http-port PORT [--rounds 30]
//
// The tool is the HTTP server that REAL's HTTP_GET checker asks (its
// connect_ip and connect_port are LISTEN and PORT; retry 0, so one failure
// takes the real down). Each round it waits until REAL is up and holds
// slots in the VIP's ring, then answers the checker's next request with a
// 503 and times from the moment it sends that answer to the moment the last
// slot REAL held names another real, watched through a mapping of the ring.
// Then it answers 200 again until the real is back. The time includes the
// answer's way to the checker, its verdict, the pool's change, the hand-over
// to the data plane and the rewrite of the ring.
//
// Prints one JSON object. Run under `nsenter -t LBD_PID -m -n`: the pins are
// in lbd's mount namespace, LISTEN in its network namespace.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ring_watch.h"

namespace {

using namespace lbd::bench;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Args {
    std::string pin_dir, vip, real, listen, proto = "tcp";
    uint16_t port = 0, http_port = 0;
    uint32_t rounds = 30;
};

Fd listen_on(const std::string& addr, uint16_t port) {
    Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0)
        fail("socket");
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = ipv4(addr, "--listen");
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0 || listen(fd.get(), 16) < 0)
        fail(fmt::format("listen on {}:{}", addr, port));
    return fd;
}

// Serves one request from the checker: reads its head (bounded in bytes and
// time) and answers with `status`. Returns when the answer was sent, that
// moment taken just before the send (the tool may lose its CPU during the
// call while lbd acts on the answer); none when the checker gave up first.
std::optional<Clock::time_point> serve(int listener, int status) {
    Fd conn(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (conn.get() < 0)
        fail("accept");
    const timeval tv{2, 0};
    setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string head;
    char buf[2048];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
        const ssize_t n = recv(conn.get(), buf, sizeof(buf), 0);
        if (n <= 0)
            return std::nullopt;  // the checker gave up; it counts that as a failure, which is not timed
        head.append(buf, static_cast<size_t>(n));
    }
    const std::string answer =
        fmt::format("HTTP/1.1 {} {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status,
                    status == 200 ? "OK" : "Service Unavailable");
    const auto at = Clock::now();
    if (send(conn.get(), answer.data(), answer.size(), MSG_NOSIGNAL) < 0)
        fail("send the answer");
    return at;
}

// Whether `listener` has a connection waiting, within `ms`.
bool pending(int listener, int ms) {
    pollfd p{listener, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

// The last slot of the VIP's ring that names `index`, with the ring's map id.
std::optional<std::pair<uint32_t, uint32_t>> last_slot_of(const RingReader& reader, uint32_t index) {
    const Ring ring = reader.read();
    for (uint32_t slot = ring.slots.size(); slot-- > 0;)
        if (ring.slots[slot] == index)
            return std::pair{ring.map_id, slot};
    return std::nullopt;
}

int run(const Args& a) {
    const lbd_vip_meta meta = vip_meta(a.pin_dir, a.vip, a.port, a.proto);
    RingReader reader(a.pin_dir, meta);
    Fd listener = listen_on(a.listen, a.http_port);
    std::vector<double> us;
    const auto deadline = Clock::now() + std::chrono::seconds(30 + 5 * a.rounds);
    for (uint32_t round = 0; round < a.rounds; ++round) {
        // Up, with slots: answer 200 until the ring has the real again.
        std::optional<std::pair<uint32_t, uint32_t>> watched;
        uint32_t index = 0;
        while (!watched) {
            if (Clock::now() > deadline)
                throw std::runtime_error(fmt::format("round {}: {} never came back into the ring", round, a.real));
            if (pending(listener.get(), 10))
                serve(listener.get(), 200);
            if (auto found = find_real(a.pin_dir, a.real)) {
                index = *found;
                watched = last_slot_of(reader, index);
            }
        }
        SlotWatch watch(reader, watched->first, watched->second);
        // The verdict: the checker's next request gets a 503.
        std::optional<Clock::time_point> sent;
        while (!sent) {
            while (!pending(listener.get(), 100))
                if (Clock::now() > deadline)
                    throw std::runtime_error(fmt::format("round {}: the checker stopped asking", round));
            sent = serve(listener.get(), 503);
        }
        const auto t0 = *sent;
        while (watch.value() == index) {
            if (Clock::now() - t0 > std::chrono::seconds(10))
                throw std::runtime_error(
                    fmt::format("round {}: slot {} still names {} 10 s after the 503", round, watch.slot(), a.real));
            sched_yield();
        }
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    // The real back up before the tool goes.
    const auto back = Clock::now() + std::chrono::seconds(10);
    while (!find_real(a.pin_dir, a.real) && Clock::now() < back)
        if (pending(listener.get(), 10))
            serve(listener.get(), 200);

    json out = {{"rounds", a.rounds}, {"ring_size", reader.size()}};
    put_stats(out, "", stats_of(us));
    fmt::print("{}\n", out.dump());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbd-bench-verdict: from a checker's failing answer to the real's removal from the ring"};
    Args a;
    add_service_options(app, a.pin_dir, a.vip, a.port, a.proto);
    app.add_option("--real", a.real, "the real server whose checker this tool answers (IPv4)")->required();
    app.add_option("--listen", a.listen, "the address the checker connects to (connect_ip)")->required();
    app.add_option("--http-port", a.http_port, "the port the checker connects to (connect_port)")->required();
    app.add_option("--rounds", a.rounds, "timed verdicts")->capture_default_str()->check(CLI::Range(1u, 1000u));
    CLI11_PARSE(app, argc, argv);
    try {
        return run(a);
    } catch (const std::exception& e) {
        fmt::print(stderr, "lbd-bench-verdict: {}\n", e.what());
        return 1;
    }
}
