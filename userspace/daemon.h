// The lbd daemon's main loop: loads the config, builds the data plane from
// it, and serves signals (SIGHUP reloads, SIGTERM/SIGINT stop) and the
// once-a-second next-hop refresh from one epoll loop.
#pragma once

#include <string>

namespace lbd {

struct DaemonOptions {
    std::string config_path;
    std::string instance = "default";
};

// Returns the process exit code. Errors at start-up are logged and give 1;
// a bad config on reload is logged and the running one kept.
int run_daemon(const DaemonOptions& options);

}  // namespace lbd
