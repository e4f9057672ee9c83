#include "check/pool.h"

#include "check/socket.h"

#include <fmt/format.h>

#include <utility>

namespace lbd::check {
namespace {

std::string real_name(const config::RealServer& r, config::Proto proto) {
    return service_name(r.addr, r.port, proto);
}

}  // namespace

Pool::Pool(const config::VirtualServer& vs, std::vector<bool> up)
    : vs_(vs), name_(service_name(vs.addr, vs.port, vs.proto)) {
    for (size_t i = 0; i < vs_.reals.size(); ++i) reals_.push_back({i < up.size() ? up[i] : true, std::nullopt, {}});
    quorum_ = live_weight() >= vs_.quorum;
}

uint32_t Pool::weight(size_t real) const {
    const Real& r = reals_[real];
    if (r.override.drained) return 0;
    return r.override.weight.value_or(r.dynamic.value_or(vs_.reals[real].weight));
}

uint64_t Pool::live_weight() const {
    uint64_t sum = 0;
    for (size_t i = 0; i < reals_.size(); ++i)
        if (reals_[i].up) sum += weight(i);
    return sum;
}

std::optional<Pool::Change> Pool::update_quorum() {
    const uint64_t live = live_weight();
    const uint64_t q = vs_.quorum, h = vs_.hysteresis;
    if (quorum_ && live + h < q) {
        quorum_ = false;
        std::string line = fmt::format("Lost quorum {}-{}={} > {} for VS {}", q, h, q - h, live, name_);
        if (vs_.sorry_server)
            line += fmt::format("; removing alive servers, adding sorry server {}",
                                service_name(vs_.sorry_server->addr, vs_.sorry_server->port, vs_.proto));
        return Change{Change::Kind::quorum_lost, 0, std::move(line)};
    }
    if (!quorum_ && live >= q + h) {
        quorum_ = true;
        std::string line = fmt::format("Gained quorum {}+{}={} <= {} for VS {}", q, h, q + h, live, name_);
        if (vs_.sorry_server)
            line += fmt::format("; adding alive servers, removing sorry server {}",
                                service_name(vs_.sorry_server->addr, vs_.sorry_server->port, vs_.proto));
        return Change{Change::Kind::quorum_gained, 0, std::move(line)};
    }
    return std::nullopt;
}

std::vector<Pool::Change> Pool::set(size_t i, bool up, std::optional<uint32_t> dynamic) {
    std::vector<Change> out;
    Real& r = reals_[i];
    const config::RealServer& cfg = vs_.reals[i];
    const std::string real = real_name(cfg, vs_.proto);
    if (r.up != up) {
        r.up = up;
        const bool inhibit = cfg.inhibit_on_failure;
        out.push_back({up ? Change::Kind::real_up : Change::Kind::real_down, i,
                       up ? fmt::format("{} service {} to VS {}", inhibit ? "Enabling" : "Adding", real, name_)
                          : fmt::format("{} service {} from VS {}", inhibit ? "Disabling" : "Removing", real, name_)});
    }
    if (r.dynamic != dynamic) {
        const uint32_t before = weight(i);
        r.dynamic = dynamic;
        if (weight(i) != before)
            out.push_back({Change::Kind::weight, i,
                           fmt::format("Changing weight from {} to {} for service {} of VS {}", before, weight(i), real,
                                       name_)});
    }
    if (auto q = update_quorum()) out.push_back(std::move(*q));
    return out;
}

std::vector<Pool::Change> Pool::set_override(size_t i, Override o) {
    std::vector<Change> out;
    Real& r = reals_[i];
    if (r.override == o) return out;
    const Override before = r.override;
    const uint32_t weight_before = weight(i);
    r.override = o;
    const std::string real = real_name(vs_.reals[i], vs_.proto);
    if (o.drained != before.drained)
        out.push_back({Change::Kind::weight, i,
                       o.drained ? fmt::format("Draining service {} of VS {}: weight 0, established flows kept", real,
                                               name_)
                                 : fmt::format("Undraining service {} of VS {}", real, name_)});
    if (weight(i) != weight_before && o.drained == before.drained)
        out.push_back({Change::Kind::weight, i,
                       fmt::format("Changing weight from {} to {} for service {} of VS {} (lbctl)", weight_before,
                                   weight(i), real, name_)});
    if (auto q = update_quorum()) out.push_back(std::move(*q));
    return out;
}

config::VirtualServer Pool::service() const {
    config::VirtualServer out = vs_;
    out.reals.clear();
    const bool sorry = sorry_serves();
    for (size_t i = 0; i < reals_.size(); ++i) {
        config::RealServer r = vs_.reals[i];
        r.weight = weight(i);
        if (sorry || !reals_[i].up) {
            if (!r.inhibit_on_failure) continue;
            r.weight = 0;
        }
        out.reals.push_back(std::move(r));
    }
    if (vs_.sorry_server && (sorry || vs_.sorry_server->inhibit)) {
        config::RealServer s;
        s.addr = vs_.sorry_server->addr;
        s.port = vs_.sorry_server->port;
        s.weight = sorry ? 1 : 0;
        s.loc = vs_.sorry_server->loc;
        out.reals.push_back(std::move(s));
    }
    return out;
}

std::set<config::IpAddr> Pool::failed() const {
    std::set<config::IpAddr> out;
    const bool sorry = sorry_serves();
    for (size_t i = 0; i < reals_.size(); ++i)
        if (sorry || !reals_[i].up) out.insert(vs_.reals[i].addr);
    return out;
}

}  // namespace lbd::check
