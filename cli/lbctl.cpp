// lbctl: look at and steer a running lbd over its control socket
// (userspace/ctl/protocol.h). One row of kCommands per subcommand of
// cli/subcommands.h: the options it adds and what it runs; the words of
// both come from subcommands.h, which the man page shares.
#include "client.h"
#include "generate.h"
#include "pcap.h"
#include "print.h"
#include "subcommands.h"

#include "ctl/protocol.h"
#include "util/version.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using lbctl::Failure;
using nlohmann::json;

// What the command line says; each subcommand reads its own part.
struct Options {
    // global
    std::string instance = "default";
    std::string socket;  // empty: /run/lbd/<instance>.sock
    int pid = 0;         // the daemon of that pid, found by its lock; 0: by instance or socket
    bool json = false;
    // conntrack
    std::string vip, real;
    bool count = false;
    size_t limit = 1000;
    // drain, undrain, weight
    std::optional<uint16_t> port;
    std::string weight;  // a number, or "reset"
    // failover
    std::string vrrp_instance;
    // dump
    std::string dump = "data";
    // check
    std::string file;
    // drain-node
    double wait = 30;
    // capture
    bool vrrp = false, forwarded = false, dropped = false, passed = false;
    size_t packets = 100;
    double duration = 10;
    std::string write;  // empty: a line per packet; "-": pcap to stdout
    uint32_t snaplen = 256;
    // watch
    double interval = 1;
    int refreshes = 0;  // 0: until interrupted

    std::string path() const {
        if (pid != 0) return socket_of_pid(pid);
        return socket.empty() ? lbd::ctl::socket_path(instance) : socket;
    }

    // The instance whose lock file holds `pid` (lbd writes its pid there),
    // for systemd's ExecReload, which knows the daemon by $MAINPID only.
    static std::string socket_of_pid(int pid) {
        std::error_code ec;
        for (const auto& entry : std::filesystem::directory_iterator(lbd::kRunDir, ec)) {
            if (entry.path().extension() != ".lock") continue;
            std::ifstream in(entry.path());
            int holder = 0;
            if (in >> holder && holder == pid) return lbd::ctl::socket_path(entry.path().stem().string());
        }
        throw Failure(lbctl::kUnreachable, fmt::format("no lbd with pid {} has a lock in {}", pid, lbd::kRunDir));
    }
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

std::string help_of(std::string_view name, std::string_view flag) {
    for (const auto& o : doc(name).options)
        if (o.flag.substr(0, o.flag.find(' ')) == flag) return std::string(o.help);
    return {};
}

// Prints `result` as JSON or through `human`.
void show(const Options& o, const json& result, const std::function<void(const json&)>& human) {
    if (o.json)
        fmt::print("{}\n", result.dump(2));
    else
        human(result);
}

json real_args(const Options& o) {
    json a = {{"real", o.real}};
    if (o.port) a["port"] = *o.port;
    return a;
}

void port_option(CLI::App& sub, Options& o) { sub.add_option("--port", o.port, help_of(sub.get_name(), "--port")); }

void real_option(CLI::App& sub, Options& o) {
    sub.add_option("real", o.real, "the real server's address")->required();
    port_option(sub, o);
}

int status(const Options& o) {
    show(o, lbctl::call(o.path(), "status"), [](const json& r) { lbctl::print_status(r, now_ms()); });
    return lbctl::kOk;
}

int vips(const Options& o) {
    show(o, lbctl::call(o.path(), "vips"), lbctl::print_vips);
    return lbctl::kOk;
}

int reals(const Options& o) {
    show(o, lbctl::call(o.path(), "reals"), [](const json& r) { lbctl::print_reals(r, now_ms()); });
    return lbctl::kOk;
}

int stats(const Options& o) {
    show(o, lbctl::call(o.path(), "stats"), lbctl::print_stats);
    return lbctl::kOk;
}

void conntrack_options(CLI::App& sub, Options& o) {
    sub.add_option("--vip", o.vip, help_of("conntrack", "--vip"));
    sub.add_option("--real", o.real, help_of("conntrack", "--real"));
    sub.add_flag("--count", o.count, help_of("conntrack", "--count"));
    sub.add_option("--limit", o.limit, help_of("conntrack", "--limit"))->check(CLI::Range(1, 10'000'000));
}

int conntrack(const Options& o) {
    json a = {{"count", o.count}, {"limit", o.limit}};
    if (!o.vip.empty()) a["vip"] = o.vip;
    if (!o.real.empty()) a["real"] = o.real;
    show(o, lbctl::call(o.path(), "conntrack", a), lbctl::print_conntrack);
    return lbctl::kOk;
}

int drain_or_undrain(const Options& o, bool on) {
    show(o, lbctl::call(o.path(), on ? "drain" : "undrain", real_args(o)), [on](const json& r) {
        fmt::print("{} {} in {} service(s)\n", on ? "drained" : "undrained", r["real"].get<std::string>(),
                   r["services"].get<int>());
    });
    return lbctl::kOk;
}

int drain(const Options& o) { return drain_or_undrain(o, true); }
int undrain(const Options& o) { return drain_or_undrain(o, false); }

void weight_options(CLI::App& sub, Options& o) {
    sub.add_option("real", o.real, "the real server's address")->required();
    sub.add_option("weight", o.weight, "0..65535, or reset")->required();
    port_option(sub, o);
}

int weight(const Options& o) {
    json a = real_args(o);
    if (o.weight == "reset") {
        a["weight"] = nullptr;
    } else {
        size_t used = 0;
        unsigned long w = 0;
        try {
            w = std::stoul(o.weight, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != o.weight.size() || w > 65535)
            throw Failure(lbctl::kUsage, "weight: a number 0..65535, or reset; got " + o.weight);
        a["weight"] = w;
    }
    show(o, lbctl::call(o.path(), "weight", a), [](const json& r) {
        fmt::print("{} weighs {} in {} service(s)\n", r["real"].get<std::string>(),
                   r["weight"].is_null() ? std::string("its configured weight") : r["weight"].dump(),
                   r["services"].get<int>());
    });
    return lbctl::kOk;
}

void failover_options(CLI::App& sub, Options& o) {
    sub.add_option("instance", o.vrrp_instance, "the vrrp_instance")->required();
}

int failover(const Options& o) {
    show(o, lbctl::call(o.path(), "failover", {{"instance", o.vrrp_instance}}), [](const json& r) {
        fmt::print("{} gave up MASTER (priority-0 advert sent)\n", r["instance"].get<std::string>());
    });
    return lbctl::kOk;
}

// drain-node's wait: the routers have moved the node's flows once no packet
// to the withdrawn VIPs has come for this long.
constexpr auto kDrainQuiet = std::chrono::seconds(1);
constexpr auto kDrainPoll = std::chrono::milliseconds(200);

void drain_node_options(CLI::App& sub, Options& o) {
    sub.add_option("--wait", o.wait, help_of("drain-node", "--wait"))->check(CLI::Range(0.0, 3600.0));
}

// Packets forwarded so far to the services (`vips`, named ADDR:PROTO:PORT,
// [ADDR]:PROTO:PORT for IPv6) of these addresses.
uint64_t packets_to(const Options& o, const std::set<std::string>& addrs) {
    uint64_t n = 0;
    for (const auto& v : lbctl::call(o.path(), "vips")) {
        const std::string name = v.value("vip", "");
        const size_t port = name.rfind(':');
        const size_t proto = port == std::string::npos || port == 0 ? std::string::npos : name.rfind(':', port - 1);
        std::string addr = proto == std::string::npos ? std::string() : name.substr(0, proto);
        if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']') addr = addr.substr(1, addr.size() - 2);
        if (addrs.contains(addr))
            n += v["counters"].value("packets", uint64_t{0});
    }
    return n;
}

int drain_node(const Options& o) {
    json r = lbctl::call(o.path(), "drain-node");
    std::set<std::string> addrs;
    for (const auto& v : r["vips"]) addrs.insert(v.get<std::string>());
    if (!o.json) {
        std::string list;
        for (const auto& a : addrs) list += " " + a;
        fmt::print("node drained: {} VIP(s) withdrawn{}\n", addrs.size(), list);
        std::fflush(stdout);
    }
    bool moved = true;
    const auto start = std::chrono::steady_clock::now();
    if (o.wait > 0 && !addrs.empty()) {
        const auto deadline = start + std::chrono::duration<double>(o.wait);
        uint64_t seen = packets_to(o, addrs);
        auto quiet_since = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - quiet_since < kDrainQuiet) {
            if (std::chrono::steady_clock::now() >= deadline) {
                moved = false;
                break;
            }
            std::this_thread::sleep_for(kDrainPoll);
            if (const uint64_t now = packets_to(o, addrs); now != seen) {
                seen = now;
                quiet_since = std::chrono::steady_clock::now();
            }
        }
    }
    const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r["traffic_moved"] = moved;
    r["waited_s"] = waited;
    if (o.json)
        fmt::print("{}\n", r.dump(2));
    else if (o.wait > 0 && !addrs.empty() && moved)
        fmt::print("no traffic to them for {}s: the node's flows have moved ({:.1f}s)\n",
                   std::chrono::duration_cast<std::chrono::seconds>(kDrainQuiet).count(), waited);
    else if (o.wait > 0 && !addrs.empty())
        fmt::print("traffic to them still arrives after {:.1f}s\n", waited);
    return moved ? lbctl::kOk : lbctl::kRefused;
}

int undrain_node(const Options& o) {
    show(o, lbctl::call(o.path(), "undrain-node"), [](const json& r) {
        std::string list;
        for (const auto& v : r["vips"]) list += " " + v.get<std::string>();
        fmt::print("node undrained: {} VIP(s) announced again{}\n", r["vips"].size(), list);
    });
    return lbctl::kOk;
}

// The daemon answers once the file is applied; a refusal is a Failure with
// its reason (exit 1).
int reload(const Options& o) {
    lbctl::Connection c(o.path());
    c.wait_up_to(lbd::ctl::kReloadTimeout);
    show(o, c.call("reload"), [](const json&) { fmt::print("reload applied\n"); });
    return lbctl::kOk;
}

void dump_options(CLI::App& sub, Options& o) {
    sub.add_option("what", o.dump, "data (the default) or stats")->check(CLI::IsMember({"data", "stats"}));
}

int dump(const Options& o) {
    show(o, lbctl::call(o.path(), "dump", {{"what", o.dump}}),
         [](const json& r) { fmt::print("{}", r.value("text", std::string())); });
    return lbctl::kOk;
}

void check_options(CLI::App& sub, Options& o) {
    sub.add_option("file", o.file, "the configuration file")->required();
}

// The daemon's own check: `lbd -t -f FILE`, the lbd installed beside lbctl
// first (a build tree, a package), else the one in PATH. lbctl carries no
// config reader of its own.
int check(const Options& o) {
    std::string lbd = "lbd";
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec && std::filesystem::exists(self.parent_path() / "lbd", ec)) lbd = (self.parent_path() / "lbd").string();
    std::vector<char*> argv = {lbd.data(), const_cast<char*>("-t"), const_cast<char*>("-f"),
                               const_cast<char*>(o.file.c_str()), nullptr};
    execvp(argv[0], argv.data());
    throw Failure(lbctl::kUnreachable, fmt::format("cannot run {} -t: {}", lbd, strerror(errno)));
}

void watch_options(CLI::App& sub, Options& o) {
    sub.add_option("--interval", o.interval, help_of("watch", "--interval"))->check(CLI::Range(0.1, 3600.0));
    sub.add_option("--count", o.refreshes, help_of("watch", "--count"))->check(CLI::Range(1, 1'000'000));
}

int watch(const Options& o) {
    const bool tty = isatty(STDOUT_FILENO);
    for (int n = 0; o.refreshes == 0 || n < o.refreshes; ++n) {
        if (n > 0) std::this_thread::sleep_for(std::chrono::duration<double>(o.interval));
        const json s = lbctl::call(o.path(), "status"), v = lbctl::call(o.path(), "vips"),
                   r = lbctl::call(o.path(), "reals");
        if (o.json) {
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
    return lbctl::kOk;
}

void capture_options(CLI::App& sub, Options& o) {
    sub.add_flag("--vrrp", o.vrrp, help_of("capture", "--vrrp"));
    sub.add_flag("--forwarded", o.forwarded, help_of("capture", "--forwarded"));
    sub.add_flag("--dropped", o.dropped, help_of("capture", "--dropped"));
    sub.add_flag("--passed", o.passed, help_of("capture", "--passed"));
    sub.add_option("-c,--count", o.packets, help_of("capture", "-c,"))->check(CLI::Range(1, 10'000'000));
    sub.add_option("--duration", o.duration, help_of("capture", "--duration"))->check(CLI::Range(0.1, 86400.0));
    sub.add_option("-w,--write", o.write, help_of("capture", "-w,"));
    sub.add_option("--snaplen", o.snaplen, help_of("capture", "--snaplen"))->check(CLI::Range(1, 256));
}

// Ctrl-C ends a capture as its count would: the session is stopped.
volatile std::sig_atomic_t g_interrupted = 0;

// The daemon's batches are polled this often while none is waiting.
constexpr auto kCapturePoll = std::chrono::milliseconds(100);

std::string capture_line(const json& rec) {
    const int64_t ns = rec.value("at_unix_ns", int64_t{0});
    const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    localtime_r(&secs, &tm);
    return fmt::format("{:02}:{:02}:{:02}.{:06} {} {} {} {} len {}: {}", tm.tm_hour, tm.tm_min, tm.tm_sec,
                       (ns % 1'000'000'000) / 1000, rec.value("interface", std::string("?")),
                       rec.value("class", std::string()), rec.value("verdict", std::string()),
                       rec.value("reason", std::string()), rec.value("len", 0),
                       lbctl::frame_summary(lbctl::from_hex(rec.value("data", std::string()))));
}

int capture(const Options& o) {
    json classes = json::array();
    for (auto [on, name] : {std::pair{o.vrrp, "vrrp"}, {o.forwarded, "forwarded"}, {o.dropped, "dropped"},
                            {o.passed, "passed"}})
        if (on) classes.push_back(name);
    if (classes.empty()) classes = {"vrrp", "forwarded", "dropped", "passed"};
    std::FILE* out = nullptr;
    if (o.write == "-")
        out = stdout;
    else if (!o.write.empty() && !(out = std::fopen(o.write.c_str(), "wb")))
        throw Failure(lbctl::kUsage, fmt::format("cannot write {}: {}", o.write, strerror(errno)));
    struct sigaction sa {};
    sa.sa_handler = [](int) { g_interrupted = 1; };
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    lbctl::Connection c(o.path());
    const uint64_t session =
        c.call("capture", {{"classes", classes}, {"snaplen", o.snaplen}})["session"].get<uint64_t>();
    auto put = [&](const std::string& bytes) { return std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size(); };
    bool writable = !out || (put(lbctl::pcap_header(o.snaplen)) && std::fflush(out) == 0);
    size_t seen = 0;
    uint64_t lost = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(o.duration);
    while (writable && !g_interrupted && seen < o.packets && std::chrono::steady_clock::now() < deadline) {
        const json batch = c.call("capture", {{"session", session}});
        lost += batch.value("lost", uint64_t{0});
        const json& records = batch["records"];
        for (const auto& rec : records) {
            if (seen == o.packets) break;
            ++seen;
            if (!out) {
                fmt::print("{}\n", capture_line(rec));
                continue;
            }
            const std::string data = lbctl::from_hex(rec.value("data", std::string()));
            writable = writable && put(lbctl::pcap_record(rec.value("at_unix_ns", int64_t{0}), rec.value("len", 0u), data));
        }
        writable = writable && std::fflush(out ? out : stdout) == 0;
        if (records.empty()) std::this_thread::sleep_for(kCapturePoll);
    }
    c.call("capture", {{"session", session}, {"stop", true}});
    if (out && out != stdout && std::fclose(out) != 0) writable = false;
    fmt::print(stderr, "{} packet(s) captured, {} lost\n", seen, lost);
    if (!writable && !o.write.empty() && o.write != "-")
        throw Failure(lbctl::kRefused, fmt::format("writing {}: {}", o.write, strerror(errno)));
    return lbctl::kOk;
}

struct Command {
    std::string_view name;  // as in subcommands.h
    void (*options)(CLI::App&, Options&);
    int (*run)(const Options&);
};

constexpr Command kCommands[] = {
    {"status", nullptr, status},
    {"vips", nullptr, vips},
    {"reals", nullptr, reals},
    {"stats", nullptr, stats},
    {"conntrack", conntrack_options, conntrack},
    {"drain", real_option, drain},
    {"undrain", real_option, undrain},
    {"weight", weight_options, weight},
    {"failover", failover_options, failover},
    {"drain-node", drain_node_options, drain_node},
    {"undrain-node", nullptr, undrain_node},
    {"reload", nullptr, reload},
    {"dump", dump_options, dump},
    {"check", check_options, check},
    {"capture", capture_options, capture},
    {"watch", watch_options, watch},
};
static_assert(std::size(kCommands) == std::size(lbctl::kSubcommands), "a subcommand without a row, or a row too many");

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbctl: look at and steer a running lbd"};
    app.set_version_flag("--version", fmt::format("lbctl {}", lbd::kVersion),
                         std::string(lbctl::kGlobalOptions[4].help));
    app.require_subcommand(1);
    Options o;
    app.add_option("--instance", o.instance, std::string(lbctl::kGlobalOptions[0].help));
    app.add_option("-s,--socket", o.socket, std::string(lbctl::kGlobalOptions[1].help));
    app.add_flag("--json", o.json, std::string(lbctl::kGlobalOptions[2].help));
    app.add_option("--pid", o.pid, std::string(lbctl::kGlobalOptions[3].help))->check(CLI::PositiveNumber);
    app.fallthrough();

    std::vector<std::pair<CLI::App*, const Command*>> subs;
    for (const Command& c : kCommands) {
        const auto& d = doc(c.name);
        CLI::App* sub = app.add_subcommand(std::string(c.name), std::string(d.summary));
        sub->footer(std::string(d.description));
        if (c.options) c.options(*sub, o);
        subs.emplace_back(sub, &c);
    }
    std::string generate;
    auto* gen = app.add_subcommand("generate", "the man page or the bash completion")->group("");
    gen->add_option("what", generate)->required()->check(CLI::IsMember({"man", "bash-completion"}));

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? lbctl::kOk : lbctl::kUsage;
    }
    try {
        if (*gen) {
            fmt::print("{}", generate == "man" ? lbctl::man_page() : lbctl::bash_completion());
            return lbctl::kOk;
        }
        for (const auto& [sub, command] : subs)
            if (sub->parsed()) return command->run(o);
    } catch (const Failure& f) {
        fmt::print(stderr, "lbctl: {}\n", f.what());
        return f.code();
    }
    return lbctl::kUsage;
}
