#include "announce/selection.h"

#include <utility>

namespace lbd::announce {

std::string_view to_string(Verdict v) {
    switch (v) {
    case Verdict::announced: return "announced";
    case Verdict::drained: return "drained";
    case Verdict::not_master: return "not_master";
    case Verdict::no_quorum: return "no_quorum";
    }
    return "unknown";
}

ServiceKey key_of(const config::VirtualServer& vs) { return {vs.addr, vs.port, vs.proto}; }

void Selection::configure(const std::vector<config::VirtualServer>& services, std::set<IpAddr> floated) {
    services_.clear();
    for (const auto& vs : services) services_.insert(key_of(vs));
    floated_ = std::move(floated);
}

void Selection::set_master(const IpAddr& addr, bool master) {
    if (master)
        masters_.insert(addr);
    else
        masters_.erase(addr);
}

std::map<IpAddr, Verdict> Selection::verdicts() const {
    std::map<IpAddr, bool> any_quorum;
    for (const auto& k : services_) {
        const auto it = quorum_.find(k);
        any_quorum[k.addr] = any_quorum[k.addr] || (it != quorum_.end() && it->second);
    }
    std::map<IpAddr, Verdict> out;
    for (const auto& [addr, quorum] : any_quorum) {
        if (drained_)
            out[addr] = Verdict::drained;
        else if (floated_.contains(addr) && !masters_.contains(addr))
            out[addr] = Verdict::not_master;
        else
            out[addr] = quorum ? Verdict::announced : Verdict::no_quorum;
    }
    return out;
}

std::set<IpAddr> Selection::announced() const {
    std::set<IpAddr> out;
    for (const auto& [addr, v] : verdicts())
        if (v == Verdict::announced) out.insert(addr);
    return out;
}

}  // namespace lbd::announce
