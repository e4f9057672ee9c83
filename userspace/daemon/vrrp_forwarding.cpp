#include "daemon/vrrp_forwarding.h"

#include "lb.skel.h"

namespace lbd {

VrrpForwarding::VrrpForwarding(dataplane::Dataplane& dp)
    : dp_(dp), leases_(bpf_map__fd(dp.objects().maps.vrrp_leases)) {}

vrrp::Wire& VrrpForwarding::wire() {
    if (!wire_) {
        const auto& m = dp_.objects().maps;
        wire_ = std::make_unique<vrrp::XdpChannel>(vrrp::ChannelMaps{
            bpf_map__fd(m.vrrp_rx), bpf_map__fd(m.vrrp_peers), bpf_map__fd(m.vrrp_tx), bpf_map__fd(m.vrrp_events),
            bpf_map__fd(m.vrrp_rx_stats), bpf_program__fd(dp_.objects().progs.lbd_vrrp_tx)});
    }
    return *wire_;
}

}  // namespace lbd
