// When a master announces its VIPs (gratuitous ARP / unsolicited NA), as
// keepalived times it: garp_master_repeat announcements on becoming master,
// the same again after garp_master_delay (switches that were slow to learn
// get a second chance), then garp_master_refresh_repeat every
// garp_master_refresh while master. Announcements of one burst are
// garp_interval (IPv4) / gna_interval (IPv6) apart. Pure: the caller passes
// the time and sends what due() returns.
#pragma once

#include "vrrp/state_machine.h"

#include <cstdint>
#include <deque>
#include <optional>

namespace lbd::vrrp {

struct GarpSettings {
    Micros delay{0};  // 0: no second burst
    uint32_t repeat = 5;
    Micros refresh{0};  // 0: no refresh
    uint32_t refresh_repeat = 1;
    Micros interval{0};  // between announcements of one burst

    static GarpSettings from(const config::VrrpInstance& cfg);
};

class GarpSchedule {
public:
    explicit GarpSchedule(GarpSettings settings) : s_(settings) {}

    void start(TimePoint now);  // became master
    void stop();                // left master
    // How many announcements are due at `now` (each is one GARP or NA per
    // VIP); they are then no longer pending.
    uint32_t due(TimePoint now);
    std::optional<TimePoint> next_deadline() const;

private:
    void burst(TimePoint at, uint32_t count);

    GarpSettings s_;
    std::deque<TimePoint> pending_;  // sorted
    std::optional<TimePoint> next_refresh_;
};

}  // namespace lbd::vrrp
