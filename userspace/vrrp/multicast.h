// Membership of the VRRP groups (224.0.0.18, ff02::12) on the instances'
// interfaces. Adverts reach lbd through XDP, not through this socket; the
// membership is there so real NICs' multicast filters let the frames in. The
// socket also keeps the kernel quiet: IP protocol 112 has a listener, so a
// unicast advert draws no ICMP "protocol unreachable" back to the peer.
// A filter that accepts nothing keeps the socket's queue empty.
#pragma once

#include "util/ip_addr.h"
#include "util/unique_fd.h"

#include <set>
#include <utility>

namespace lbd::vrrp {

class GroupMembership {
public:
    GroupMembership();  // throws with context when the raw sockets cannot be opened
    // Idempotent; throws naming the group and interface on failure. There
    // is no leave: instances come and go on reload, memberships are cheap
    // and end with the daemon.
    void join(int ifindex, const IpAddr& group);

private:
    UniqueFd v4_;
    UniqueFd v6_;
    std::set<std::pair<int, IpAddr>> joined_;
};

}  // namespace lbd::vrrp
