// The lbd daemon: loads the config, builds the data plane, the VRRP engine,
// the health checkers, the control socket and the metrics listener from it,
// and serves signals (SIGHUP reloads, SIGTERM/SIGINT stop), the control
// socket and the once-a-second next-hop refresh on its main loop.
#pragma once

#include <string>

#include "config/model.h"
#include "util/unique_fd.h"

namespace lbd {

struct DaemonOptions {
    std::string config_path;
    std::string instance;   // empty: instance_name() decides
    std::string config_id;  // keepalived's -i: which `@ID` lines are read, at start and on reload
    bool dump_conf = false; // -d: the running data in the log once ready
};

// The instance given, else the config's net_namespace (keepalived names its
// pid files after it, so one daemon per namespace can run from one file),
// else `default`.
std::string instance_name(const DaemonOptions& options, const config::GlobalDefs& global);

// keepalived's net_namespace: the calling thread moves into
// /run/netns/NAME (nothing when the config names none). Called before any
// socket, thread or program is made, so that all are made there. Throws
// std::runtime_error naming the namespace.
void enter_net_namespace(const config::GlobalDefs& global);

// Returns the process exit code. Errors at start-up are logged and give 1;
// a bad config on reload is logged and the running one kept.
int run_daemon(const DaemonOptions& options);

// One daemon per instance (and no --cleanup under a running one): a second
// would replace the first one's pins under its feet. The lock is
// /run/lbd/<instance>.lock and dies with the process, however it ends.
// Throws std::runtime_error when another process holds it.
UniqueFd lock_instance(const std::string& instance);

}  // namespace lbd
