// The health checkers' cost at scale: N real servers on loopback
// (127.1.x.y, served by lbd-check-target), each with one TCP_CHECK or
// HTTP_GET at delay_loop 1, run by the check::Engine the daemon runs, with
// no data plane behind it. After a warm-up longer than the checkers' random
// start, the process's CPU time (all threads) is read over S seconds.
// Prints one JSON object; bench/checks_bench.sh runs it.
//
//   lbd-checks-bench --reals N --type tcp|http [--seconds S] [--port P]
#include "check/engine.h"
#include "config/load.h"
#include "lbd_abi.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>

namespace {

double cpu_seconds(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

std::string config_text(int reals, const std::string& type, int port) {
    std::string checker = type == "http" ? "HTTP_GET {\n      url {\n        path /\n      }\n      connect_timeout 2\n    }"
                                         : "TCP_CHECK {\n      connect_timeout 2\n    }";
    std::string out = fmt::format("virtual_server 10.255.0.1 {} {{\n  delay_loop 1\n  lb_kind DR\n  protocol TCP\n", port);
    for (int i = 0; i < reals; ++i)
        out += fmt::format("  real_server 127.1.{}.{} {} {{\n    {}\n  }}\n", i / 250, i % 250 + 1, port, checker);
    return out + "}\n";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbd-checks-bench: CPU of the health checkers at scale"};
    int reals = 1000, seconds = 20, port = 8080;
    std::string type = "tcp";
    app.add_option("--reals", reals)->check(CLI::Range(1, LBD_MAX_REALS));
    app.add_option("--type", type)->check(CLI::IsMember({"tcp", "http"}));
    app.add_option("--seconds", seconds)->check(CLI::Range(1, 600));
    app.add_option("--port", port)->check(CLI::Range(1, 65535));
    CLI11_PARSE(app, argc, argv);

    lbd::config::Config cfg;
    try {
        cfg = lbd::config::parse_string(config_text(reals, type, port), "bench.conf");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lbd-checks-bench: %s\n", e.what());
        return 1;
    }
    lbd::check::Engine engine(cfg, cfg.virtual_servers, [](const auto&, const auto&) {});
    engine.start();
    // The first attempts come at random within the warm-up (delay_loop).
    std::this_thread::sleep_for(std::chrono::seconds(3));
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    const uint64_t attempts_before = engine.attempts();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    getrusage(RUSAGE_SELF, &after);
    const uint64_t attempts = engine.attempts() - attempts_before;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    engine.stop();
    int down = 0;
    for (const auto& [key, up] : engine.carry().checkers) down += up ? 0 : 1;
    const double user = cpu_seconds(after.ru_utime) - cpu_seconds(before.ru_utime);
    const double sys = cpu_seconds(after.ru_stime) - cpu_seconds(before.ru_stime);
    fmt::print("{{\"reals\": {}, \"type\": \"{}\", \"seconds\": {:.2f}, \"cpu_percent\": {:.2f}, "
               "\"user_percent\": {:.2f}, \"sys_percent\": {:.2f}, \"attempts_per_second\": {:.1f}, "
               "\"down_at_end\": {}}}\n",
               reals, type, wall, 100 * (user + sys) / wall, 100 * user / wall, 100 * sys / wall, attempts / wall, down);
    return down == 0 ? 0 : 3;
}
