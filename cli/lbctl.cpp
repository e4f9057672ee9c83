// lbctl: look at and steer a running lbd over its control socket
// (userspace/ctl/protocol.h). Each subcommand fills one options struct;
// its words come from cli/subcommands.h, which the man page shares.
#include "client.h"
#include "generate.h"
#include "print.h"
#include "subcommands.h"

#include "capabilities.h"
#include "ctl/protocol.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

namespace {

using lbctl::Failure;
using nlohmann::json;

struct GlobalOptions {
    std::string instance = "default";
    std::string socket;  // empty: /run/lbd/<instance>.sock
    bool json = false;
    std::string path() const { return socket.empty() ? lbd::ctl::socket_path(instance) : socket; }
};
struct ConntrackOptions {
    std::string vip, real;
    bool count = false;
    size_t limit = 1000;
};
struct DrainOptions {
    std::string real;
    std::optional<uint16_t> port;
};
struct WeightOptions {
    std::string real;
    std::string weight;  // a number, or "reset"
    std::optional<uint16_t> port;
};
struct FailoverOptions {
    std::string instance;
};
struct CheckOptions {
    std::string file;
};
struct WatchOptions {
    double interval = 1;
    int count = 0;  // 0: until interrupted
};
struct GenerateOptions {
    std::string what;
};

int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

const lbctl::Subcommand& doc(std::string_view name) {
    for (const auto& s : lbctl::kSubcommands)
        if (s.name == name) return s;
    throw std::logic_error("no such subcommand in subcommands.h");
}

CLI::App* add(CLI::App& app, std::string_view name) {
    const auto& d = doc(name);
    auto* sub = app.add_subcommand(std::string(name), std::string(d.summary));
    sub->footer(std::string(d.description));
    return sub;
}

std::string help_of(std::string_view name, std::string_view flag) {
    for (const auto& o : doc(name).options)
        if (o.flag.substr(0, o.flag.find(' ')) == flag) return std::string(o.help);
    return {};
}

// Prints `result` as JSON or through `human`.
void show(const GlobalOptions& g, const json& result, const std::function<void(const json&)>& human) {
    if (g.json)
        fmt::print("{}\n", result.dump(2));
    else
        human(result);
}

json drain_args(const DrainOptions& o) {
    json a = {{"real", o.real}};
    if (o.port) a["port"] = *o.port;
    return a;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbctl: look at and steer a running lbd"};
    app.require_subcommand(1);
    GlobalOptions g;
    app.add_option("--instance", g.instance, std::string(lbctl::kGlobalOptions[0].help));
    app.add_option("-s,--socket", g.socket, std::string(lbctl::kGlobalOptions[1].help));
    app.add_flag("--json", g.json, std::string(lbctl::kGlobalOptions[2].help));
    app.fallthrough();

    auto* status = add(app, "status");
    auto* vips = add(app, "vips");
    auto* reals = add(app, "reals");
    auto* stats = add(app, "stats");
    ConntrackOptions ct;
    auto* conntrack = add(app, "conntrack");
    conntrack->add_option("--vip", ct.vip, help_of("conntrack", "--vip"));
    conntrack->add_option("--real", ct.real, help_of("conntrack", "--real"));
    conntrack->add_flag("--count", ct.count, help_of("conntrack", "--count"));
    conntrack->add_option("--limit", ct.limit, help_of("conntrack", "--limit"))->check(CLI::Range(1, 10'000'000));
    DrainOptions dr, un;
    auto* drain = add(app, "drain");
    drain->add_option("real", dr.real, "the real server's address")->required();
    drain->add_option("--port", dr.port, help_of("drain", "--port"));
    auto* undrain = add(app, "undrain");
    undrain->add_option("real", un.real, "the real server's address")->required();
    undrain->add_option("--port", un.port, help_of("undrain", "--port"));
    WeightOptions wt;
    auto* weight = add(app, "weight");
    weight->add_option("real", wt.real, "the real server's address")->required();
    weight->add_option("weight", wt.weight, "0..65535, or reset")->required();
    weight->add_option("--port", wt.port, help_of("weight", "--port"));
    FailoverOptions fo;
    auto* failover = add(app, "failover");
    failover->add_option("instance", fo.instance, "the vrrp_instance")->required();
    auto* reload = add(app, "reload");
    CheckOptions ck;
    auto* check = add(app, "check");
    check->add_option("file", ck.file, "the configuration file")->required();
    WatchOptions wo;
    auto* watch = add(app, "watch");
    watch->add_option("--interval", wo.interval, help_of("watch", "--interval"))->check(CLI::Range(0.1, 3600.0));
    watch->add_option("--count", wo.count, help_of("watch", "--count"))->check(CLI::Range(1, 1'000'000));
    GenerateOptions gen;
    auto* generate = app.add_subcommand("generate", "the man page or the bash completion")->group("");
    generate->add_option("what", gen.what)->required()->check(CLI::IsMember({"man", "bash-completion"}));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? lbctl::kOk : lbctl::kUsage;
    }

    try {
        const std::string sock = g.path();
        if (*generate) {
            fmt::print("{}", gen.what == "man" ? lbctl::man_page() : lbctl::bash_completion());
        } else if (*check) {
            return lbd::check_config(ck.file, stderr) == 0 ? lbctl::kOk : lbctl::kRefused;
        } else if (*status) {
            show(g, lbctl::call(sock, "status"), [](const json& r) { lbctl::print_status(r, now_ms()); });
        } else if (*vips) {
            show(g, lbctl::call(sock, "vips"), lbctl::print_vips);
        } else if (*reals) {
            show(g, lbctl::call(sock, "reals"), [](const json& r) { lbctl::print_reals(r, now_ms()); });
        } else if (*stats) {
            show(g, lbctl::call(sock, "stats"), lbctl::print_stats);
        } else if (*conntrack) {
            json a = {{"count", ct.count}, {"limit", ct.limit}};
            if (!ct.vip.empty()) a["vip"] = ct.vip;
            if (!ct.real.empty()) a["real"] = ct.real;
            show(g, lbctl::call(sock, "conntrack", a), lbctl::print_conntrack);
        } else if (*drain || *undrain) {
            const bool on = drain->parsed();
            show(g, lbctl::call(sock, on ? "drain" : "undrain", drain_args(on ? dr : un)), [on](const json& r) {
                fmt::print("{} {} in {} service(s)\n", on ? "drained" : "undrained", r["real"].get<std::string>(),
                           r["services"].get<int>());
            });
        } else if (*weight) {
            json a = drain_args({wt.real, wt.port});
            if (wt.weight == "reset") {
                a["weight"] = nullptr;
            } else {
                size_t used = 0;
                unsigned long w = 0;
                try {
                    w = std::stoul(wt.weight, &used);
                } catch (const std::exception&) {
                    used = 0;
                }
                if (used != wt.weight.size() || w > 65535)
                    throw Failure(lbctl::kUsage, "weight: a number 0..65535, or reset; got " + wt.weight);
                a["weight"] = w;
            }
            show(g, lbctl::call(sock, "weight", a), [](const json& r) {
                fmt::print("{} weighs {} in {} service(s)\n", r["real"].get<std::string>(),
                           r["weight"].is_null() ? std::string("its configured weight") : r["weight"].dump(),
                           r["services"].get<int>());
            });
        } else if (*failover) {
            show(g, lbctl::call(sock, "failover", {{"instance", fo.instance}}), [](const json& r) {
                fmt::print("{} gave up MASTER (priority-0 advert sent)\n", r["instance"].get<std::string>());
            });
        } else if (*reload) {
            show(g, lbctl::call(sock, "reload"), [](const json&) { fmt::print("reload asked; see lbd's log\n"); });
        } else if (*watch) {
            const bool tty = isatty(STDOUT_FILENO);
            for (int n = 0; wo.count == 0 || n < wo.count; ++n) {
                if (n > 0) std::this_thread::sleep_for(std::chrono::duration<double>(wo.interval));
                const json s = lbctl::call(sock, "status"), v = lbctl::call(sock, "vips"),
                           r = lbctl::call(sock, "reals");
                if (g.json) {
                    fmt::print("{}\n", json{{"status", s}, {"vips", v}, {"reals", r}}.dump());
                    continue;
                }
                if (tty) fmt::print("\033[H\033[2J");
                lbctl::print_status(s, now_ms());
                fmt::print("\n");
                lbctl::print_vips(v);
                fmt::print("\n");
                lbctl::print_reals(r, now_ms());
                std::fflush(stdout);
            }
        }
    } catch (const Failure& f) {
        fmt::print(stderr, "lbctl: {}\n", f.what());
        return f.code();
    }
    return lbctl::kOk;
}
