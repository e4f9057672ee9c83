#include "vrrp/link_monitor.h"

#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/cache.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "net/netlink.h"

namespace lbd::vrrp {
namespace {

constexpr size_t kBufSize = 64 * 1024;  // one notification is a few KiB
// libnl leaves 32 KiB; a burst of flapping links overruns that. The kernel
// caps it at net.core.rmem_max, and an overrun is handled anyway.
constexpr int kReceiveBuffer = 1 << 20;

bool is_up(unsigned flags) { return (flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING); }

LinkStatus status(rtnl_link* l) {
    return {rtnl_link_get_ifindex(l), rtnl_link_get_name(l), is_up(rtnl_link_get_flags(l))};
}

struct Event {
    LinkStatus status;
    bool deleted = false;
};

std::optional<Event> parse(nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK)
        return std::nullopt;
    if (!nlmsg_valid_hdr(h, sizeof(ifinfomsg)))
        return std::nullopt;
    const auto* ifi = static_cast<const ifinfomsg*>(nlmsg_data(h));
    if (ifi->ifi_family == AF_BRIDGE)
        return std::nullopt;
    nlattr* tb[IFLA_MAX + 1];
    if (nlmsg_parse(h, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0 || !tb[IFLA_IFNAME])
        return std::nullopt;
    const bool deleted = h->nlmsg_type == RTM_DELLINK;
    return Event{{ifi->ifi_index, nla_get_string(tb[IFLA_IFNAME]), !deleted && is_up(ifi->ifi_flags)}, deleted};
}

}  // namespace

LinkMonitor::LinkMonitor() : buf_(kBufSize) {
    events_ = netlink::open_route_socket();
    requests_ = netlink::open_route_socket();
    netlink::check(nl_socket_add_membership(events_.get(), RTNLGRP_LINK), "joining link notifications");
    netlink::check(nl_socket_set_nonblocking(events_.get()), "link notifications");
    netlink::check(nl_socket_set_buffer_size(events_.get(), kReceiveBuffer, 0), "link notifications");
}

int LinkMonitor::fd() const { return nl_socket_get_fd(events_.get()); }

std::optional<LinkStatus> LinkMonitor::query(const std::string& name) {
    rtnl_link* raw = nullptr;
    const int err = rtnl_link_get_kernel(requests_.get(), 0, name.c_str(), &raw);
    if (err == -NLE_NODEV || err == -NLE_OBJ_NOTFOUND)
        return std::nullopt;
    netlink::check(err, "interface " + name);
    netlink::LinkPtr link(raw);
    LinkStatus s = status(link.get());
    known_[s.ifindex] = s.name;
    return s;
}

void LinkMonitor::drain(const std::function<void(const LinkStatus&)>& on) {
    for (;;) {
        // MSG_TRUNC: the length of the datagram, even when it did not fit.
        const ssize_t n = recv(fd(), buf_.data(), buf_.size(), MSG_TRUNC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 && errno != ENOBUFS)
            throw std::runtime_error(fmt::format("link notifications: {}", std::strerror(errno)));
        if (n < 0 || static_cast<size_t>(n) > buf_.size()) {  // lost, or cut short: as lost
            resync(on);
            continue;
        }
        int left = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf_.data()); nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
            const auto e = parse(h);
            if (!e)
                continue;
            if (e->deleted)
                known_.erase(e->status.ifindex);
            else
                known_[e->status.ifindex] = e->status.name;
            on(e->status);
        }
    }
}

// The kernel reports an overrun before the messages still queued, which are
// older than the ones it dropped: reading them after the dump would undo it.
void LinkMonitor::discard_pending() {
    for (;;) {
        const ssize_t n = recv(fd(), buf_.data(), buf_.size(), MSG_TRUNC);
        if (n >= 0 || errno == EINTR || errno == ENOBUFS)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        throw std::runtime_error(fmt::format("link notifications: {}", std::strerror(errno)));
    }
}

void LinkMonitor::resync(const std::function<void(const LinkStatus&)>& on) {
    discard_pending();
    nl_cache* raw = nullptr;
    netlink::check(rtnl_link_alloc_cache(requests_.get(), AF_UNSPEC, &raw), "re-reading the links after an overrun");
    netlink::CachePtr cache(raw);
    std::vector<LinkStatus> now;
    for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o))
        now.push_back(status(reinterpret_cast<rtnl_link*>(o)));
    std::set<int> present;
    for (const LinkStatus& s : now)
        present.insert(s.ifindex);
    std::vector<LinkStatus> gone;
    for (const auto& [ifindex, name] : known_)
        if (!present.count(ifindex))
            gone.push_back({ifindex, name, false});
    known_.clear();
    for (const LinkStatus& s : now)
        known_[s.ifindex] = s.name;
    // on() may call query(), which writes known_: it is settled first.
    for (const LinkStatus& s : now)
        on(s);
    for (const LinkStatus& s : gone)
        on(s);
}

}  // namespace lbd::vrrp
