#include "config/nat.h"

namespace lbd::config {

NatReplyKey reply_key(const VirtualServer& vs, const RealServer& real) {
    if (vs.port == 0) return {real.addr, 0, vs.proto};
    return {real.addr, real.port != 0 ? real.port : vs.port, vs.proto};
}

std::map<NatReplyKey, std::vector<const VirtualServer*>> nat_reply_keys(const std::vector<VirtualServer>& services) {
    std::map<NatReplyKey, std::vector<const VirtualServer*>> out;
    for (const auto& vs : services) {
        if (vs.mode != Mode::NAT) continue;
        for (const auto& real : vs.reals) {
            auto& list = out[reply_key(vs, real)];
            if (list.empty() || list.back() != &vs) list.push_back(&vs);
        }
    }
    return out;
}

}  // namespace lbd::config
