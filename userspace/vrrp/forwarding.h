// What the VRRP engine needs of the data plane, and no more: the wire its
// adverts take, the map of leases that fences its addresses, whether XDP can
// transmit on an interface, and which VIPs this node owns. The daemon gives
// it over its Dataplane (daemon/vrrp_forwarding.h); unit tests give a fake.
#pragma once

#include "util/ip_addr.h"
#include "vrrp/leases.h"
#include "vrrp/wire.h"

namespace lbd::vrrp {

class Forwarding {
public:
    virtual ~Forwarding() = default;

    virtual Wire& wire() = 0;
    virtual LeaseMap& leases() = 0;
    // Whether the lb program runs natively on ifindex: XDP transmits the
    // adverts there (BPF_PROG_RUN live frames); elsewhere AF_PACKET does.
    virtual bool native(int ifindex) const = 0;
    // The data plane serves a VIP's services only while owned. Called from
    // the VRRP thread.
    virtual void set_owned(const IpAddr& vip, bool owned) = 0;
};

}  // namespace lbd::vrrp
