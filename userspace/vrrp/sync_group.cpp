#include "vrrp/sync_group.h"

#include <algorithm>

namespace lbd::vrrp {

SyncGroup::SyncGroup(std::string name, Log log) : name_(std::move(name)), log_(std::move(log)) {}

void SyncGroup::add(Instance& member) {
    members_.push_back(&member);
    member.set_sync_group(this);
}

bool SyncGroup::other_has_fault(const Instance& member) const {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const Instance* m) { return m != &member && m->own_fault(); });
}

// keepalived vrrp_sync_fault, and its way back: a member is held in FAULT
// while another member has a fault of its own.
void SyncGroup::sync_faults(TimePoint now) {
    const bool entering = std::any_of(members_.begin(), members_.end(), [&](const Instance* m) {
        return m->state() != State::FAULT && m->state() != State::INIT && other_has_fault(*m);
    });
    if (entering) log_(msg::sync_group(name_, State::FAULT));
    for (Instance* m : members_) m->set_group_fault(now, other_has_fault(*m));
}

// keepalived vrrp_sync_master / vrrp_sync_backup.
void SyncGroup::follow(TimePoint now, const Instance& leader, State from, State to) {
    const auto follower = [&](const Instance* m) { return m != &leader && m->state() == from; };
    if (std::none_of(members_.begin(), members_.end(), follower)) return;
    log_(msg::sync_group(name_, to));
    for (Instance* m : members_) {
        if (!follower(m)) continue;
        if (to == State::MASTER)
            m->force_master(now);
        else
            m->force_backup(now);
    }
}

void SyncGroup::member_changed(TimePoint now, Instance& member, State from, State to) {
    if (propagating_) return;  // our own changes to members come back here
    propagating_ = true;
    sync_faults(now);
    if (to == State::MASTER && from != State::MASTER) {
        follow(now, member, State::BACKUP, State::MASTER);
    } else if (to == State::BACKUP && from == State::MASTER) {
        follow(now, member, State::MASTER, State::BACKUP);
    } else if (to == State::BACKUP && from != State::BACKUP &&
               std::any_of(members_.begin(), members_.end(),
                           [](const Instance* m) { return m->state() == State::MASTER; })) {
        member.force_master(now);  // a member starting late joins a MASTER group
    }
    propagating_ = false;
}

}  // namespace lbd::vrrp
