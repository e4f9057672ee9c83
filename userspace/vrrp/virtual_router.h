// One vrrp_instance at run time: its state machine (vrrp/state_machine.h)
// and what the machine's actions do to the world — adverts and
// announcements through the XDP channel, addresses and routes through
// rtnetlink, the data plane's vip_active, notify scripts. Also the checks
// keepalived makes of an advert beyond the wire-level ones the XDP program
// already made: the address list must be the instance's own
// (vrrp_skip_check_adv_addr skips it for adverts from the master already
// known).
//
// Lives on the VRRP thread; the engine calls it with the time.
#pragma once

#include "config/model.h"
#include "vrrp/addresses.h"
#include "vrrp/forwarding.h"
#include "vrrp/garp_schedule.h"
#include "vrrp/notifier.h"
#include "vrrp/state_machine.h"
#include "vrrp/status.h"
#include "vrrp/vmac.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace lbd::vrrp {

// What the routers of one engine share.
struct RouterEnv {
    Forwarding& dataplane;  // the wire, and the VIPs' ownership
    Addresses& addresses;
    Notifier& notifier;
    // After every state change, notify scripts already started.
    std::function<void(size_t router, State state)> changed;
};

class VirtualRouter : private Actions {
public:
    // Resolves the interface, its MAC and the advert source, creates the
    // vmac (use_vmac) and configures the instance on the wire. Throws
    // std::runtime_error naming the instance and what failed.
    VirtualRouter(const config::VrrpInstance& cfg, size_t index, uint32_t channel_id, RouterEnv env);
    ~VirtualRouter() override;
    VirtualRouter(const VirtualRouter&) = delete;
    VirtualRouter& operator=(const VirtualRouter&) = delete;

    Instance& instance() { return instance_; }
    const Instance& instance() const { return instance_; }
    const config::VrrpInstance& config() const { return cfg_; }
    uint32_t channel_id() const { return channel_id_; }

    // A restart resuming as MASTER: the data plane goes on serving the
    // addresses from the first apply(), before the loop starts.
    void keep_serving();

    // A reload: what this router was, for the next engine's router of the
    // same instance; the counters lbctl shows go on from there.
    struct Continued {
        State state = State::INIT;
        int64_t since_unix_ms = 0;
        uint64_t transitions = 0, adverts_sent = 0, adverts_received = 0;
    };
    Continued continued() const;
    // Before start(): the instance carries on from `before`. Its first state,
    // when it is the one it had, is no transition: no notify, no count.
    void continue_from(const Continued& before) { continued_ = before; }
    // A reload keeping this instance as `next` has it: a MASTER lets go of
    // the addresses, routes and rules `next` no longer lists (the next
    // engine adds new ones).
    void drop_what_is_not_in(const config::VrrpInstance& next);
    // A reload: the vmac outlives this router, for the next engine.
    std::unique_ptr<Vmac> take_vmac() { return std::move(vmac_); }
    std::optional<std::string> vmac_name() const {
        return vmac_ ? std::optional<std::string>(vmac_->name()) : std::nullopt;
    }

    // An advert the XDP program queued for this instance.
    void on_packet(TimePoint at, std::span<const uint8_t> packet);
    // Timers of the state machine and of the announcements.
    void on_timer(TimePoint now);
    std::optional<TimePoint> next_deadline() const;

    // When the last advert the wire took for every destination was sent
    // (priority 0 included): what a MASTER's lease runs from. An advert the
    // wire failed to send leaves it where it was.
    std::optional<TimePoint> last_confirmed_advert() const { return last_confirmed_advert_; }

    // For lbctl status; `group` names its sync group.
    InstanceStatus status(const std::string& group) const;

private:
    void send_advert(uint8_t priority) override;
    void take_addresses() override;
    void release_addresses() override;
    void notify(State s) override;
    void log(std::string line) override;

    std::optional<std::string> address_mismatch(const Advert& advert) const;
    void announce(TimePoint now);
    void report(const std::vector<std::string>& errors, const char* what);

    const config::VrrpInstance cfg_;
    const size_t index_;
    const uint32_t channel_id_;
    RouterEnv env_;
    const int ifindex_;        // adverts in and out
    std::unique_ptr<Vmac> vmac_;
    int address_ifindex_ = 0;  // where addresses without `dev` go (the vmac, if any)
    bool ipv6_router_ = false; // NA Router flag
    std::vector<config::VirtualAddress> owned_;  // virtual_ipaddress + virtual_ipaddress_excluded
    GarpSchedule garp_;
    Instance instance_;
    IpAddr src_;                          // our advert source
    std::optional<IpAddr> last_master_;  // source of the last advert accepted
    std::optional<TimePoint> last_confirmed_advert_;
    uint64_t adverts_sent_ = 0, adverts_received_ = 0, transitions_ = 0;
    int64_t since_unix_ms_ = 0;
    std::string last_rejection_;  // logged once until it changes or an advert is accepted
    std::string last_send_error_;
    std::optional<Continued> continued_;
};

}  // namespace lbd::vrrp
