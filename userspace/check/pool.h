// A virtual server's reals as their checks leave them, as keepalived's
// ipwrapper decides it: which reals serve and with what weight, the quorum,
// and the sorry server. Pure: the engine feeds each real's verdict (all its
// checkers up, or not) and applies service() to the data plane.
//
// - A real that fails leaves the pool, or stays at weight 0 with
//   inhibit_on_failure; its flows are to be dropped either way (failed()).
// - A dynamic weight (misc_dynamic, FILE_CHECK dynamic) replaces the
//   configured one while it is reported.
// - Quorum: the weights of the live reals summed. With the quorum up it is
//   lost below quorum - hysteresis; with it down, regained at quorum +
//   hysteresis or more.
// - While the quorum is lost and a sorry_server is set, the sorry server
//   alone serves (keepalived takes the live reals out too); with
//   sorry_server_inhibit it stays in the pool at weight 0 the rest of the
//   time.
// - A real that starts with no result yet counts as up, or down with alpha
//   (the engine passes the checkers' initial state).
#pragma once

#include "config/model.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lbd::check {

class Pool {
public:
    // up[i]: the initial verdict of vs.reals[i] (size of vs.reals).
    Pool(const config::VirtualServer& vs, std::vector<bool> up);

    struct Change {
        enum class Kind { real_up, real_down, weight, quorum_gained, quorum_lost } kind;
        size_t real = 0;  // real_up, real_down, weight
        std::string line;  // keepalived's log line for it
    };
    // Real `real`'s verdict; `weight` is a dynamic weight, or nullopt for
    // the configured one. Returns what changed, in order.
    std::vector<Change> set(size_t real, bool up, std::optional<uint32_t> weight = std::nullopt);

    // The operator's word (lbctl drain / weight): a drained real serves
    // with weight 0 but keeps its established flows; a weight replaces the
    // configured and any dynamic one. Neither touches its checks.
    struct Override {
        std::optional<uint32_t> weight;
        bool drained = false;
        bool operator==(const Override&) const = default;
    };
    std::vector<Change> set_override(size_t real, Override o);
    const Override& override_of(size_t real) const { return reals_[real].override; }

    // What the data plane serves now.
    config::VirtualServer service() const;
    // Reals whose flows through this service are to be dropped: failed ones
    // (inhibited included) and, while the sorry server serves, all the others.
    std::set<config::IpAddr> failed() const;

    bool up(size_t real) const { return reals_[real].up; }
    // What it serves with while up: 0 drained, else the operator's, the
    // dynamic or the configured weight.
    uint32_t weight(size_t real) const;
    bool quorum() const { return quorum_; }
    uint64_t live_weight() const;
    const std::string& name() const { return name_; }

private:
    struct Real {
        bool up;
        std::optional<uint32_t> dynamic;
        Override override;
    };
    std::optional<Change> update_quorum();
    bool sorry_serves() const { return !quorum_ && vs_.sorry_server.has_value(); }

    const config::VirtualServer vs_;
    const std::string name_;  // "[10.213.0.100]:tcp:80"
    std::vector<Real> reals_;
    bool quorum_ = true;
};

}  // namespace lbd::check
