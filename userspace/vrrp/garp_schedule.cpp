#include "vrrp/garp_schedule.h"

#include <sys/socket.h>

#include <algorithm>

namespace lbd::vrrp {

namespace {
Micros micros(config::Duration d) { return std::chrono::duration_cast<Micros>(d); }
}  // namespace

GarpSettings GarpSettings::from(const config::VrrpInstance& cfg) {
    GarpSettings s;
    s.delay = micros(cfg.garp_master_delay);
    s.repeat = cfg.garp_master_repeat;
    s.refresh = micros(cfg.garp_master_refresh);
    s.refresh_repeat = cfg.garp_master_refresh_repeat;
    s.interval = micros(cfg.family == AF_INET6 ? cfg.gna_interval : cfg.garp_interval);
    return s;
}

void GarpSchedule::burst(TimePoint at, uint32_t count) {
    for (uint32_t i = 0; i < count; ++i)
        pending_.push_back(at + i * s_.interval);
    std::sort(pending_.begin(), pending_.end());
}

void GarpSchedule::start(TimePoint now) {
    stop();
    burst(now, s_.repeat);
    if (s_.delay > Micros::zero())
        burst(now + s_.delay, s_.repeat);
    if (s_.refresh > Micros::zero())
        next_refresh_ = now + s_.refresh;
}

void GarpSchedule::stop() {
    pending_.clear();
    next_refresh_.reset();
}

uint32_t GarpSchedule::due(TimePoint now) {
    while (next_refresh_ && *next_refresh_ <= now) {
        burst(*next_refresh_, s_.refresh_repeat);
        *next_refresh_ += s_.refresh;
    }
    uint32_t n = 0;
    while (!pending_.empty() && pending_.front() <= now) {
        pending_.pop_front();
        ++n;
    }
    return n;
}

std::optional<TimePoint> GarpSchedule::next_deadline() const {
    std::optional<TimePoint> next = next_refresh_;
    if (!pending_.empty() && (!next || pending_.front() < *next))
        next = pending_.front();
    return next;
}

}  // namespace lbd::vrrp
