// lbd: the daemon's command line, keepalived's flags where they exist.
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <map>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/load.h"
#include "daemon/config_check.h"
#include "daemon/cleanup.h"
#include "daemon/daemon.h"
#include "dataplane/library_log.h"
#include "util/log.h"
#include "util/version.h"

namespace {

// keepalived's --signum names, for the signals lbd acts on.
const std::map<std::string, int> kSignals = {
    {"STOP", SIGTERM}, {"RELOAD", SIGHUP}, {"DATA", SIGUSR1}, {"STATS", SIGUSR2}};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lbd: XDP load balancer with VRRP, configured by keepalived.conf"};
    lbd::DaemonOptions options;
    options.config_path = "/etc/keepalived/keepalived.conf";
    bool foreground = false, console = false, test = false, debug = false, cleanup = false;
    options.config_id = lbd::config::default_config_id();
    std::string signum;
    app.set_version_flag("-v,--version", fmt::format("lbd {}", lbd::kVersion), "print the version and exit");
    app.add_option("-f,--use-file", options.config_path, "configuration file");
    app.add_option("-i,--config-id", options.config_id,
                   "read the conditional lines (@ID, @^ID) for this id (default: the host name up to its first dot)");
    app.add_flag("-n,--dont-fork", foreground, "stay in the foreground");
    app.add_flag("-l,--log-console", console, "log to the console instead of syslog");
    app.add_flag("-D,--log-detail", debug, "log details (and libbpf/libxdp debug messages)");
    app.add_flag("-t,--config-test", test, "check the configuration file and exit");
    app.add_flag("-d,--dump-conf", options.dump_conf, "log the running data (as SIGUSR1 writes it) once ready");
    app.add_option("--signum", signum, "print the number of the signal for STOP, RELOAD, DATA or STATS and exit")
        ->check(CLI::IsMember(kSignals));
    app.add_flag("--cleanup", cleanup,
                 "remove what a killed lbd of this instance left (program, pins, VRRP addresses) and exit");
    app.add_option("--instance", options.instance,
                   "name of this daemon: pins under /sys/fs/bpf/lbd/NAME")
        ->check([](const std::string& s) {
            return s.empty() || s.find('/') != std::string::npos || s[0] == '.'
                       ? std::string("instance names are plain words")
                       : std::string();
        });
    CLI11_PARSE(app, argc, argv);

    if (!signum.empty()) {
        fmt::print("{}\n", kSignals.at(signum));
        return 0;
    }

    if (test)
        return lbd::check_config(options.config_path, options.config_id, stderr);
    lbd::log::init(console, debug, "lbd");
    lbd::dataplane::capture_library_logs();
    if (cleanup)
        return lbd::run_cleanup(options);
    // daemon() moves to /: a relative -f must be resolved before.
    options.config_path = std::filesystem::absolute(options.config_path).string();
    if (!foreground && daemon(0, 0) < 0) {
        lbd::log::error("cannot go to the background: {}", strerror(errno));
        return 1;
    }
    return lbd::run_daemon(options);
}
