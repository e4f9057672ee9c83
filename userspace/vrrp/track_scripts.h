// vrrp_script: each script runs every `interval` as a child process, is
// killed at `timeout` (a failure), and its results go through
// ScriptTracker's rise/fall counting, as keepalived's vrrp_script_thread and
// vrrp_script_child_thread do. A script still running when its next run is
// due is not started again: that run is skipped and logged.
//
// The owner's loop watches fd() (the schedule's timerfd) and calls
// dispatch(); results arrive while the owner dispatches the ChildProcesses,
// which is when on_change is called.
#pragma once

#include "config/model.h"
#include "util/unique_fd.h"
#include "util/child_process.h"
#include "vrrp/state_machine.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace lbd::vrrp {

class TrackScripts {
public:
    // Called when a script's status changes, the first result included.
    using OnChange = std::function<void(const std::string& name, Status status)>;

    // Every script runs at the first dispatch(), then every interval.
    // `global` gives the user of scripts that name none (with_default_user):
    // pass the config's global_defs. Scripts running when this is destroyed
    // go on until they end or time out; their results are dropped.
    // `previous`: a reload's, by name (trackers()); a script whose block
    // did not change goes on from its rise/fall count and status.
    TrackScripts(ChildProcesses& children, const std::vector<config::VrrpScript>& scripts, OnChange on_change,
                 const config::GlobalDefs& global = {},
                 const std::map<std::string, std::pair<config::VrrpScript, ScriptTracker>>& previous = {});
    TrackScripts(const TrackScripts&) = delete;
    TrackScripts& operator=(const TrackScripts&) = delete;

    int fd() const { return timer_.get(); }
    // Starts the scripts that are due.
    void dispatch();
    // unknown until the first result (down with init_fail). Throws
    // std::out_of_range for a name that is not a configured vrrp_script.
    Status status(const std::string& name) const;
    // Every script's block and tracker, by name, for a reload.
    std::map<std::string, std::pair<config::VrrpScript, ScriptTracker>> trackers() const;

private:
    struct Script;

    void run(const std::shared_ptr<Script>& script);
    void finished(Script& script, const ChildResult& result);
    void arm() const;

    ChildProcesses& children_;
    OnChange on_change_;
    std::vector<std::shared_ptr<Script>> scripts_;  // shared: a child's done() holds a weak_ptr
    UniqueFd timer_;
};

}  // namespace lbd::vrrp
