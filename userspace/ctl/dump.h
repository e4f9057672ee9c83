// keepalived's two dumps, for lbd: SIGUSR1 writes the running data (VRRP
// instances and their addresses, virtual servers, real servers and their
// state) and SIGUSR2 the statistics, as text for people, to
// /run/lbd/NAME.data and /run/lbd/NAME.stats (keepalived writes
// /tmp/keepalived.data and .stats; /run/lbd is where lbd's unit may write,
// and the instance name keeps two daemons apart). `lbctl dump [data|stats]`
// asks for the same text over the control socket.
#pragma once

#include "check/status.h"
#include "ctl/commands.h"
#include "ctl/reloads.h"
#include "dataplane/stats_reader.h"
#include "vrrp/status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace lbd::ctl {

enum class Dump { data, stats };

// What a dump shows, gathered first so that rendering is pure.
struct DumpInput {
    std::string version, instance, config_path;
    int pid = 0;
    int64_t now_unix_ms = 0;
    int64_t started_unix_ms = 0;
    Reloads reloads;
    std::vector<vrrp::InstanceStatus> vrrp;
    std::vector<check::RealStatus> reals;
    dataplane::Snapshot dp;
    FlowState flows;
};

std::string render_dump(const DumpInput& in, Dump what);

// The dump of the daemon `sources` describe, now. Throws when the pinned
// maps cannot be read.
std::string dump(const Sources& sources, Dump what);

// /run/lbd/<instance>.data or .stats.
std::string dump_path(const std::string& instance, Dump what);

}  // namespace lbd::ctl
