// A vrrp_sync_group: its instances change state together, as keepalived's
// vrrp_sync.c has it. A member entering FAULT takes every member to FAULT
// until no member has a fault of its own; a member becoming MASTER takes the
// BACKUP members to MASTER; a MASTER falling to BACKUP takes the other
// masters to BACKUP. Pure, like the instances: members report their
// transitions here (Instance::set_sync_group), and the group's own changes
// to members are not propagated again.
#pragma once

#include "vrrp/state_machine.h"

#include <functional>
#include <string>
#include <vector>

namespace lbd::vrrp {

class SyncGroup {
public:
    using Log = std::function<void(std::string)>;

    SyncGroup(std::string name, Log log);
    SyncGroup(const SyncGroup&) = delete;  // members point here
    SyncGroup& operator=(const SyncGroup&) = delete;

    // Joins `member` to the group (it must outlive the group or leave it first).
    void add(Instance& member);
    // From a member: it went `from` -> `to`, or (from == to) its own fault changed.
    void member_changed(TimePoint now, Instance& member, State from, State to);

    const std::string& name() const { return name_; }
    const std::vector<Instance*>& members() const { return members_; }

private:
    bool other_has_fault(const Instance& member) const;
    void sync_faults(TimePoint now);
    void follow(TimePoint now, const Instance& leader, State from, State to);

    std::string name_;
    Log log_;
    std::vector<Instance*> members_;
    bool propagating_ = false;
};

}  // namespace lbd::vrrp
