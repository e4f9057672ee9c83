// The data plane as the VRRP engine sees it (vrrp/forwarding.h), over the
// daemon's Dataplane: the lb object's VRRP maps and tx program are the
// wire, its vrrp_leases the leases. One for the daemon's life: the wire's
// ring buffer and group memberships outlive the engines a reload replaces.
#pragma once

#include "dataplane/dataplane.h"
#include "vrrp/forwarding.h"
#include "vrrp/xdp_channel.h"

#include <functional>
#include <memory>

namespace lbd {

class VrrpForwarding : public vrrp::Forwarding {
public:
    // `dp` outlives this.
    explicit VrrpForwarding(dataplane::Dataplane& dp);

    // Opened at the first use, by the first engine: raw sockets for the
    // group memberships are not asked for by a daemon without VRRP. Throws
    // as XdpChannel does.
    vrrp::Wire& wire() override;
    vrrp::LeaseMap& leases() override { return leases_; }
    bool native(int ifindex) const override { return dp_.native(ifindex); }
    void set_owned(const IpAddr& vip, bool owned) override {
        dp_.set_owned(vip, owned);
        if (also_) also_(vip, owned);
    }
    // Whoever else follows ownership (the announcer: a VIP VRRP floats is
    // announced only by its master). Set before the first engine.
    void also_tell(std::function<void(const IpAddr&, bool)> fn) { also_ = std::move(fn); }

private:
    dataplane::Dataplane& dp_;
    vrrp::BpfLeaseMap leases_;
    std::unique_ptr<vrrp::XdpChannel> wire_;
    std::function<void(const IpAddr&, bool)> also_;
};

}  // namespace lbd
