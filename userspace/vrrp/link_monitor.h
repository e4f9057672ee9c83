// Interface state for track_interface and an instance's own interface, from
// rtnetlink link notifications (RTNLGRP_LINK), read when the owner's epoll
// finds fd() readable.
//
// Choices:
// - up means IFF_UP and IFF_RUNNING, as keepalived's track_interface: an
//   interface administratively up without carrier is down.
// - Every RTM_NEWLINK is reported, changed or not (the kernel sends them for
//   many reasons); the owner compares with what it knew.
// - AF_BRIDGE messages are skipped: the kernel sends an RTM_DELLINK of that
//   family when a port merely leaves its bridge.
// - After an overrun (ENOBUFS: the kernel dropped notifications) the queued,
//   now stale, messages are thrown away, every link is re-read and reported,
//   and a link reported before (or queried) that no longer exists is
//   reported down: its deletion may be among what was lost.
#pragma once

#include "net/netlink.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lbd::vrrp {

struct LinkStatus {
    int ifindex = 0;
    std::string name;
    bool up = false;  // IFF_UP and IFF_RUNNING (carrier)
    bool operator==(const LinkStatus&) const = default;
};

class LinkMonitor {
public:
    LinkMonitor();  // throws std::runtime_error when netlink is unavailable
    LinkMonitor(const LinkMonitor&) = delete;
    LinkMonitor& operator=(const LinkMonitor&) = delete;

    int fd() const;  // non-blocking; readable when notifications wait

    // The link's state now, from the kernel; nothing when there is no such link.
    std::optional<LinkStatus> query(const std::string& name);

    // Reads every pending notification and calls on() for each link message
    // (new, changed, deleted: up=false). Throws std::runtime_error when the
    // socket fails or, after an overrun, the links cannot be re-read.
    void drain(const std::function<void(const LinkStatus&)>& on);

private:
    void resync(const std::function<void(const LinkStatus&)>& on);
    void discard_pending();

    netlink::SockPtr events_;    // notifications only
    netlink::SockPtr requests_;  // queries and dumps, so no answer mixes with events
    std::vector<char> buf_;
    std::map<int, std::string> known_;  // ifindex -> name of links reported and still there
};

}  // namespace lbd::vrrp
