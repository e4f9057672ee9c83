// The VRRP state machine: RFC 5798 6.4 (RFC 3768 6.4 for v2), as keepalived
// 2.2 runs it. Section numbers below are RFC 5798's unless said otherwise.
#include "vrrp/state_machine.h"

#include "vrrp/sync_group.h"

#include <fmt/format.h>

#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace lbd::vrrp {

// ---- log lines: keepalived 2.2's words (vrrp.c, vrrp_scheduler.c, vrrp_track.c, vrrp_sync.c)

namespace msg {
namespace {
// "VRRP_Instance(VI_1) " and the rest: keepalived 1.x's prefix, which also
// matches the "(VI_1) ..." patterns written for keepalived 2.x.
template <class... A>
std::string line(std::string_view instance, fmt::format_string<A...> f, A&&... a) {
    return fmt::format("VRRP_Instance({}) ", instance) + fmt::format(f, std::forward<A>(a)...);
}
}  // namespace

std::string entering(std::string_view i, State s) { return line(i, "Entering {} STATE", to_string(s)); }
std::string entering_backup_init(std::string_view i) { return line(i, "Entering BACKUP STATE (init)"); }
std::string resuming_master(std::string_view i) { return line(i, "Resuming MASTER STATE (its lease is current)"); }
std::string advert_timeout(std::string_view i) { return line(i, "Receive advertisement timeout"); }
std::string transition_master(std::string_view i) { return line(i, "Transition to MASTER STATE"); }
std::string sent_priority_zero(std::string_view i) { return line(i, "sent 0 priority"); }
std::string priority_changed(std::string_view i, int from, int to) {
    return line(i, "Changing effective priority from {} to {}", from, to);
}
std::string sync_group(std::string_view g, State s) {
    return fmt::format("VRRP_Group({}) Syncing instances to {} state", g, to_string(s));
}
std::string script_succeeded(std::string_view s) { return fmt::format("VRRP_Script({}) succeeded", s); }
std::string script_failed(std::string_view s, int status) {
    return fmt::format("VRRP_Script({}) failed (exited with status {})", s, status);
}

namespace {
std::string master_rx_higher(std::string_view i, const config::IpAddr& from, int prio, int ours) {
    return line(i, "Master received advert from {} with higher priority {}, ours {}", from.str(), prio, ours);
}
std::string master_rx_higher_address(std::string_view i, const config::IpAddr& from, int prio) {
    return line(i, "Master received advert from {} with same priority {} but higher IP address than ours",
                from.str(), prio);
}
std::string master_rx_lower(std::string_view i, const config::IpAddr& from, int prio, int ours) {
    return line(i, "Received advert from {} with lower priority {}, ours {}, forcing new election", from.str(), prio,
                ours);
}
std::string master_rx_zero(std::string_view i) { return line(i, "Master received priority 0 message"); }
std::string master_rx_our_address(std::string_view i) {
    return line(i, "WARNING - equal priority advert received from remote host with our IP address.");
}
std::string backup_rx_zero(std::string_view i) { return line(i, "Backup received priority 0 advertisement"); }
std::string backup_rx_lower(std::string_view i, int prio, const config::IpAddr& from) {
    return line(i, "received lower priority ({}) advert from {} - discarding", prio, from.str());
}
std::string interval_learned(std::string_view i, uint32_t from_cs, uint32_t to_cs, bool new_master) {
    return line(i, "advertisement interval updated from {}ms to {}ms by {}master", from_cs * 10, to_cs * 10,
                new_master ? "new " : "");
}
std::string interval_mismatch(std::string_view i, uint32_t mine_cs, uint32_t theirs_cs) {
    return line(i, "advertisement interval mismatch mine={} sec rcv'd={} sec", mine_cs / 100, theirs_cs / 100);
}
std::string preempt_delay_start(std::string_view i, Micros d) {
    return line(i, "start preempt delay ({}.{:06})", d.count() / 1000000, d.count() % 1000000);
}
std::string preempt_delay_stop(std::string_view i) { return line(i, "stop preempt delay"); }
}  // namespace
}  // namespace msg

std::string_view to_string(State s) {
    constexpr std::string_view kNames[] = {"INIT", "BACKUP", "MASTER", "FAULT"};
    return kNames[static_cast<size_t>(s)];
}

namespace {

constexpr int64_t kMicrosPerCs = 10'000;
constexpr int kMaxTrackedPriority = kPriorityOwner - 1;  // keepalived: tracking never makes an owner

Micros centis(uint32_t cs) { return Micros(int64_t(cs) * kMicrosPerCs); }

// <0, 0, >0 as a is below, equal to or above b in network order; 0 across families.
int compare(const config::IpAddr& a, const config::IpAddr& b) {
    if (a.family != b.family) return 0;
    const int r = std::memcmp(a.bytes.data(), b.bytes.data(), a.family == AF_INET6 ? 16 : 4);
    return (r > 0) - (r < 0);
}

}  // namespace

Settings Settings::from(const config::VrrpInstance& cfg, const config::IpAddr& primary_address) {
    Settings s;
    s.name = cfg.name;
    s.version = cfg.version;
    s.priority = cfg.priority;
    s.advert_int_cs = cfg.advert_int_cs;
    s.preempt = cfg.preempt;
    s.preempt_delay = cfg.preempt_delay;
    s.start_as_master = cfg.initial_state == config::VrrpState::MASTER;
    s.primary_address = primary_address;
    return s;
}

// 6.1 Skew_Time: ((256 - Priority) * Master_Adver_Interval) / 256 centiseconds;
// RFC 3768 6.1: (256 - Priority) / 256 seconds. keepalived computes both in
// microseconds, so do we.
Micros skew_time(int version, int priority, uint32_t master_adver_int_cs) {
    const int64_t n = 256 - priority;
    if (version == kVersion2) return Micros(n * 1'000'000 / 256);
    return Micros(n * int64_t(master_adver_int_cs) * kMicrosPerCs / 256);
}

// 6.1 Master_Down_Interval: (3 * Master_Adver_Interval) + Skew_Time.
Micros master_down_interval(int version, int priority, uint32_t master_adver_int_cs) {
    return 3 * centis(master_adver_int_cs) + skew_time(version, priority, master_adver_int_cs);
}

Instance::Instance(Settings settings, Actions& actions)
    : s_(std::move(settings)), actions_(actions), priority_(s_.priority), master_adver_int_cs_(s_.advert_int_cs) {}

Micros Instance::skew_time() const { return vrrp::skew_time(s_.version, priority_, master_adver_int_cs_); }
Micros Instance::master_down_interval() const {
    return vrrp::master_down_interval(s_.version, priority_, master_adver_int_cs_);
}

std::optional<TimePoint> Instance::next_deadline() const {
    if (state_ == State::MASTER) return adver_timer_;
    if (state_ == State::BACKUP) return master_down_timer_;
    return std::nullopt;
}

void Instance::set_state(TimePoint now, State s) {
    const State from = state_;
    state_ = s;
    actions_.notify(s);
    if (group_ != nullptr) group_->member_changed(now, *this, from, s);
}

// 6.4.1 Initialize: the owner goes to Master; so does `state MASTER`, as
// keepalived has it (a 1 us Master_Down_Timer there). Everything else waits
// as Backup for Master_Down_Interval.
void Instance::start(TimePoint now, Start how) {
    if (state_ != State::INIT) return;
    master_adver_int_cs_ = s_.advert_int_cs;
    if (faulty())
        enter_fault(now);
    else if (how == Start::resume_master)
        resume_master(now);
    else if (how == Start::resume_backup)
        resume_backup(now);
    else if (how == Start::fresh && (s_.priority == kPriorityOwner || s_.start_as_master))
        enter_master(now, false);
    else
        enter_backup(now, true);
}

// The previous run was master and no backup can have timed out on it yet:
// an advert now resets their Master_Down_Timers, and the addresses it left
// stay (adding them again is harmless and announces them).
void Instance::resume_master(TimePoint now) {
    log(msg::resuming_master(s_.name));
    actions_.send_advert(priority_);
    actions_.take_addresses();
    adver_timer_ = now + centis(s_.advert_int_cs);
    set_state(now, State::MASTER);
}

// A reload: the instance was Backup and stays so. It holds no addresses and
// says nothing; the timer runs from now, as a backup that just heard an
// advert (the master's next one is due within Master_Adver_Interval).
void Instance::resume_backup(TimePoint now) {
    master_down_timer_ = now + master_down_interval();
    set_state(now, State::BACKUP);
}

// 6.4.2 "If the Master_Down_Timer fires": send an advert, announce the
// addresses, start the Adver_Timer, become Master. keepalived sends the advert
// before adding the addresses, so the old master lets them go first.
void Instance::enter_master(TimePoint now, bool timed_out) {
    if (timed_out) log(msg::advert_timeout(s_.name));
    log(msg::transition_master(s_.name));
    master_adver_int_cs_ = s_.advert_int_cs;  // a master advertises its own interval
    preempt_time_.reset();
    actions_.send_advert(priority_);
    log(msg::entering(s_.name, State::MASTER));
    actions_.take_addresses();
    adver_timer_ = now + centis(s_.advert_int_cs);
    set_state(now, State::MASTER);
}

// 6.4.1 / 6.4.3 to Backup: Master_Down_Timer = Master_Down_Interval (with the
// Master_Adver_Interval as it stands: learned from the advert that demoted us).
// The addresses go (at start too: keepalived clears what a crashed run left).
void Instance::enter_backup(TimePoint now, bool init) {
    log(init ? msg::entering_backup_init(s_.name) : msg::entering(s_.name, State::BACKUP));
    actions_.release_addresses();
    preempt_time_.reset();
    if (init && s_.preempt && s_.preempt_delay.count() > 0) preempt_time_ = now + s_.preempt_delay;
    master_down_timer_ = now + master_down_interval();
    set_state(now, State::BACKUP);
}

// keepalived: a master entering FAULT sends priority 0 so a backup takes over
// after Skew_Time rather than Master_Down_Interval.
void Instance::enter_fault(TimePoint now) {
    log(msg::entering(s_.name, State::FAULT));
    if (state_ == State::MASTER) send_stop();
    actions_.release_addresses();
    preempt_time_.reset();
    set_state(now, State::FAULT);
}

// keepalived vrrp_state_leave_fault: back as at start, but BACKUP without
// "(init)" and without the `state MASTER` shortcut; the owner to MASTER.
void Instance::leave_fault(TimePoint now) {
    master_adver_int_cs_ = s_.advert_int_cs;
    if (s_.priority == kPriorityOwner)
        enter_master(now, false);
    else
        enter_backup(now, false);
}

void Instance::send_stop() {
    actions_.send_advert(kPriorityStop);
    log(msg::sent_priority_zero(s_.name));
}

void Instance::on_timer(TimePoint now) {
    if (state_ == State::MASTER && now >= adver_timer_) {
        // 6.4.3 "If the Adver_Timer fires": send, reset to Advertisement_Interval.
        actions_.send_advert(priority_);
        adver_timer_ = now + centis(s_.advert_int_cs);
    } else if (state_ == State::BACKUP && now >= master_down_timer_) {
        enter_master(now, true);
    }
}

void Instance::on_advert(TimePoint now, const ReceivedAdvert& a) {
    if (state_ != State::BACKUP && state_ != State::MASTER) return;  // INIT, FAULT: not listening
    // RFC 3768 7.1: a v2 advert whose Adver Int differs from ours MUST be discarded.
    if (s_.version == kVersion2 && a.max_advert_int_cs != s_.advert_int_cs) {
        log(msg::interval_mismatch(s_.name, s_.advert_int_cs, a.max_advert_int_cs));
        return;
    }
    if (state_ == State::BACKUP)
        backup_rx(now, a);
    else
        master_rx(now, a);
}

// 6.4.2 Backup, "If an ADVERTISEMENT is received".
void Instance::backup_rx(TimePoint now, const ReceivedAdvert& a) {
    if (a.priority == kPriorityStop) {
        log(msg::backup_rx_zero(s_.name));
        master_down_timer_ = now + skew_time();
        return;
    }
    const bool lower = a.priority < priority_;
    // keepalived's preempt_delay: lower adverts still count as a live master
    // until the delay (from start, or from the first lower advert) has run.
    const bool delaying = s_.preempt_delay.count() > 0 && (!preempt_time_ || now < *preempt_time_);
    if (s_.preempt && lower && !delaying) {
        // Discard: the Master_Down_Timer runs on and we preempt when it fires.
        log(msg::backup_rx_lower(s_.name, a.priority, a.source));
        return;
    }
    // v3 learns Master_Adver_Interval from the advert; RFC 3768 has none to learn.
    if (s_.version == kVersion3 && a.max_advert_int_cs != 0 && a.max_advert_int_cs != master_adver_int_cs_) {
        log(msg::interval_learned(s_.name, master_adver_int_cs_, a.max_advert_int_cs, false));
        master_adver_int_cs_ = a.max_advert_int_cs;
    }
    master_down_timer_ = now + master_down_interval();
    if (s_.preempt && s_.preempt_delay.count() > 0) {
        if (!lower && preempt_time_) {
            log(msg::preempt_delay_stop(s_.name));
            preempt_time_.reset();
        } else if (lower && !preempt_time_) {
            log(msg::preempt_delay_start(s_.name, s_.preempt_delay));
            preempt_time_ = now + s_.preempt_delay;
        }
    }
}

// 6.4.3 Master, "If an ADVERTISEMENT is received".
void Instance::master_rx(TimePoint now, const ReceivedAdvert& a) {
    if (a.priority == kPriorityStop) {
        log(msg::master_rx_zero(s_.name));
        actions_.send_advert(priority_);
        adver_timer_ = now + centis(s_.advert_int_cs);
        return;
    }
    const int address = compare(a.source, s_.primary_address);
    if (a.priority > priority_ || (a.priority == priority_ && address > 0)) {
        log(a.priority > priority_ ? msg::master_rx_higher(s_.name, a.source, a.priority, priority_)
                                   : msg::master_rx_higher_address(s_.name, a.source, a.priority));
        if (s_.version == kVersion3 && a.max_advert_int_cs != 0 && a.max_advert_int_cs != master_adver_int_cs_) {
            log(msg::interval_learned(s_.name, master_adver_int_cs_, a.max_advert_int_cs, true));
            master_adver_int_cs_ = a.max_advert_int_cs;
        }
        enter_backup(now, false);
        return;
    }
    if (a.priority == priority_ && address == 0) {
        log(msg::master_rx_our_address(s_.name));
        return;
    }
    // Lower: the RFC discards it; keepalived also answers at once so a
    // lower-priority router that thinks it is master steps down now.
    log(msg::master_rx_lower(s_.name, a.source, a.priority, priority_));
    actions_.send_advert(priority_);
}

void Instance::set_fault(TimePoint now, bool fault) {
    if (own_fault_ == fault) return;
    own_fault_ = fault;
    apply_fault(now);
    if (group_ != nullptr) group_->member_changed(now, *this, state_, state_);
}

void Instance::set_group_fault(TimePoint now, bool fault) {
    group_fault_ = fault;
    apply_fault(now);
}

void Instance::apply_fault(TimePoint now) {
    if (state_ == State::INIT) return;  // start() decides
    if (faulty() && state_ != State::FAULT)
        enter_fault(now);
    else if (!faulty() && state_ == State::FAULT)
        leave_fault(now);
}

void Instance::set_effective_priority(TimePoint, int priority) {
    if (s_.priority == kPriorityOwner) return;
    const auto p = static_cast<uint8_t>(std::clamp(priority, 1, kMaxTrackedPriority));
    if (p == priority_) return;
    log(msg::priority_changed(s_.name, priority_, p));
    priority_ = p;
}

// 6.4.2 / 6.4.3 "If a Shutdown event is received".
void Instance::shutdown(TimePoint now) {
    if (state_ == State::INIT) return;
    if (state_ == State::MASTER) {
        send_stop();
        actions_.release_addresses();
    }
    preempt_time_.reset();
    set_state(now, State::INIT);
}

void Instance::force_backup(TimePoint now) {
    if (state_ != State::MASTER) return;
    master_adver_int_cs_ = s_.advert_int_cs;
    enter_backup(now, false);
}

void Instance::failover(TimePoint now) {
    if (state_ != State::MASTER) return;
    send_stop();
    force_backup(now);
}

void Instance::force_master(TimePoint now) {
    if (state_ == State::BACKUP) enter_master(now, false);
}

// ---- tracking ---------------------------------------------------------------

namespace {

// keepalived process_update_track_file_status: weight 0 maps a non-zero value
// (reverse: zero) to down; otherwise value * weight, within -254..254.
int file_status(const TrackedState& t) {
    const int sign = t.reverse ? -1 : 1;
    if (t.weight == 0) return (t.value != 0) == (sign == 1) ? kTrackFileDown : 0;
    const int64_t value = std::clamp<int64_t>(t.value, -2147483647, 2147483647);
    return static_cast<int>(std::clamp<int64_t>(value * t.weight * sign, kTrackFileDown, 254));
}

// keepalived: a positive weight counts while up, a negative one while down;
// reverse turns the weight's sign.
int weight_of(const TrackedState& t) {
    if (t.kind == TrackedState::Kind::file) return file_status(t) == kTrackFileDown ? 0 : file_status(t);
    if (t.weight == 0 || t.status == Status::unknown) return 0;
    const bool up = t.status == Status::up;
    return (up && t.weight > 0) || (!up && t.weight < 0) ? t.weight * (t.reverse ? -1 : 1) : 0;
}

bool faults(const TrackedState& t) {
    if (t.kind == TrackedState::Kind::file) return file_status(t) == kTrackFileDown;
    return t.weight == 0 && t.status != Status::unknown && (t.status == Status::up) == t.reverse;
}

}  // namespace

int effective_priority(int base, std::span<const TrackedState> tracked) {
    if (base >= kPriorityOwner) return kPriorityOwner;
    int64_t total = base;
    for (const TrackedState& t : tracked) total += weight_of(t);
    return static_cast<int>(std::clamp<int64_t>(total, 1, kMaxTrackedPriority));
}

bool tracking_fault(std::span<const TrackedState> tracked) {
    return std::any_of(tracked.begin(), tracked.end(), faults);
}

// keepalived vrrp_script result counting: up at count >= rise; a success
// fills the count, each failure takes one off, down below rise.
ScriptTracker::ScriptTracker(std::string name, uint32_t rise, uint32_t fall, bool init_fail)
    : name_(std::move(name)),
      rise_(std::max<uint32_t>(rise, 1)),
      fall_(std::max<uint32_t>(fall, 1)),
      count_(init_fail ? 0 : rise_ - 1),
      status_(init_fail ? Status::down : Status::unknown) {}

std::optional<std::string> ScriptTracker::on_result(int exit_status) {
    const bool ok = exit_status == 0;
    if (ok && count_ < rise_ - 1) {
        ++count_;  // rising
        return std::nullopt;
    }
    if (!ok && count_ > rise_) {
        --count_;  // falling
        return std::nullopt;
    }
    count_ = ok ? rise_ + fall_ - 1 : 0;
    const Status now = ok ? Status::up : Status::down;
    if (status_ == now) return std::nullopt;
    status_ = now;
    return ok ? msg::script_succeeded(name_) : msg::script_failed(name_, exit_status);
}

}  // namespace lbd::vrrp
