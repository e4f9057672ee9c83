// The commands of the control socket (docs/control.md), answered from
// what the daemon's parts report: the pinned maps (read here, so lbctl
// needs no bpffs of its own), the VRRP and checker engines' status copies,
// and their drain / weight / failover entry points. The engines are reached
// through functions because a reload replaces the checkers' engine.
#pragma once

#include "announce/status.h"
#include "config/model_base.h"
#include "ctl/reloads.h"
#include "ctl/server.h"
#include "check/status.h"
#include "ctl/metrics.h"
#include "dataplane/capture.h"
#include "dataplane/stats_reader.h"
#include "vrrp/status.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace lbd::ctl {

// Counters one second apart, for the rates of `stats`, `vips`, `reals`.
class RateSampler {
public:
    // From the daemon's 1 s tick.
    void sample(dataplane::Snapshot snapshot);
    struct Rates {
        double seconds = 0;  // between the two samples; 0: no rates yet
        dataplane::Snapshot then, now;
    };
    Rates rates() const;
    // Whether the flood guard refused entries between the two samples.
    bool guard_active() const;

private:
    mutable std::mutex mutex_;
    std::optional<dataplane::Snapshot> then_, now_;
    std::chrono::steady_clock::time_point then_at_, now_at_;
};

struct Sources {
    std::string instance;
    std::string config_path;
    std::string pin_dir;
    int64_t started_unix_ms = 0;
    const RateSampler* rates = nullptr;
    std::function<FlowState()> flows;  // the flow tables as last counted
    std::function<std::vector<vrrp::InstanceStatus>()> vrrp;   // unset, or an empty list, when no instance is configured
    std::function<std::vector<check::RealStatus>()> reals;
    std::function<std::string(const std::string& instance)> failover;  // error text, empty: done
    std::function<size_t(const config::IpAddr&, std::optional<uint16_t>, bool)> drain;
    std::function<size_t(const config::IpAddr&, std::optional<uint16_t>, std::optional<uint32_t>)> weight;
    std::function<announce::Status()> announce;
    // drain-node (true) / undrain-node: the VIP addresses that left the
    // table or came back.
    std::function<std::vector<config::IpAddr>(bool drained)> drain_node;
    // A reload of the file, run at once on the daemon's main loop (as
    // SIGHUP's), and what became of it.
    std::function<Reloads()> reload;
    std::function<Reloads()> reloads;
    // lbctl capture's sessions; null: the command is refused.
    dataplane::Capture* capture = nullptr;
};

Server::Handler make_handler(Sources sources);

}  // namespace lbd::ctl
