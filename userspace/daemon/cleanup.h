// lbd --cleanup: removes what a daemon of this instance put on the system
// and left behind when it was killed (a clean stop removes it all itself):
// the lb program on every interface of the network namespace (the config's
// net_namespace, if it names one), the pins under
// /sys/fs/bpf/lbd/<instance>/, the static and VRRP addresses, routes and
// rules and the vmacs the config names, and the instance's socket and lock
// under /run/lbd.
#pragma once

#include "daemon/daemon.h"

namespace lbd {

// Refuses (1) while a daemon of the instance runs. An unreadable config
// only leaves the addresses, routes, rules and vmacs alone. Returns the exit code.
int run_cleanup(const DaemonOptions& options);

}  // namespace lbd
