// What a reload's old VRRP engine leaves the next one (Engine::hand_over):
// the instances' state and counters by name, the vmacs, whose links (and
// the addresses on them) must outlive the old engine's routers, and the
// scripts still running, which must run to their end or their timeout.
#pragma once

#include "util/child_process.h"
#include "vrrp/state_machine.h"
#include "vrrp/virtual_router.h"
#include "vrrp/vmac.h"

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace lbd::vrrp {

struct Handover {
    std::map<std::string, VirtualRouter::Continued> instances;  // by vrrp_instance name
    std::vector<std::unique_ptr<Vmac>> vmacs;
    // vrrp_scripts' rise/fall state: an unchanged script that was failing
    // still counts as failing, rather than unknown until its next run.
    std::map<std::string, std::pair<config::VrrpScript, ScriptTracker>> scripts;
    // The notify and track scripts' processes, reaped and timed by the next
    // engine; the old engine's results of them go nowhere.
    std::shared_ptr<ChildProcesses> children;

    // Once the next engine's routers are made: a vmac they use again (by
    // name) is theirs now; one they do not is removed.
    void settle(const std::set<std::string>& vmacs_in_use) {
        for (auto& v : vmacs)
            if (vmacs_in_use.contains(v->name())) v->hand_over();
        vmacs.clear();
    }
};

// Whether `next` is the same instance as `before` for a reload: the same
// name, link, VRID, family and vmac, so its adverts and its addresses stay
// where they are (a different one is a new instance, and the old one shuts
// down as RFC 5798 6.4.3 has it).
inline bool continues(const config::VrrpInstance& before, const config::VrrpInstance& next) {
    return before.name == next.name && before.interface == next.interface && before.vrid == next.vrid &&
           before.family == next.family && before.use_vmac == next.use_vmac && before.vmac_name == next.vmac_name;
}

}  // namespace lbd::vrrp
