// One VRRP instance's protocol state: RFC 5798 section 6 (VRRPv3, IPv4 and
// IPv6) and RFC 3768 section 6 (VRRPv2, IPv4), with keepalived's FAULT state,
// tracking and log lines. Pure: the time comes in with every call, and what
// the instance does goes out through Actions, so unit tests drive it
// deterministically (tests/unit/vrrp_state_machine_test.cpp).
//
// The caller owns the loop: it feeds adverts (decoded by vrrp/packet.h),
// tracking results and shutdown, and calls on_timer() when next_deadline()
// is reached. Actions must not call back into the instance.
#pragma once

#include "config/model_vrrp.h"
#include "vrrp/packet.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace lbd::vrrp {

class SyncGroup;

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Micros = std::chrono::microseconds;

// RFC 5798 6.4 (Initialize, Backup, Master) plus keepalived's FAULT. INIT is
// also where shutdown() leaves an instance (notify(INIT) is keepalived's "STOP").
enum class State : uint8_t { INIT, BACKUP, MASTER, FAULT };
std::string_view to_string(State s);  // "INIT", "BACKUP", "MASTER", "FAULT"

// How start() begins, after a restart (vrrp/leases.h).
enum class Start : uint8_t {
    fresh,          // RFC 5798 6.4.1 as configured
    resume_master,  // the previous lbd (or engine, on a reload) was MASTER and its lease is current:
                    // MASTER at once, no transition
    backup,         // the previous lbd's lease expired (its addresses were fenced): BACKUP whatever the
                    // priority
    resume_backup,  // a reload keeps an instance that was not MASTER: BACKUP at once, silently, its
                    // Master_Down_Timer started anew
};

// What the state machine needs from a decoded advert (RFC 5798 5.2; RFC 3768 5.3).
struct ReceivedAdvert {
    uint8_t priority = 0;
    // v3: Max Adver Int in centiseconds; v2: Adver Int seconds * 100 (as vrrp/packet.h).
    uint16_t max_advert_int_cs = 100;
    config::IpAddr source;  // the IP source address: the sender's primary address
};

// Outputs. A test records them; the daemon sends, adds addresses, runs scripts.
class Actions {
public:
    virtual ~Actions() = default;
    virtual void send_advert(uint8_t priority) = 0;  // our own advert interval and addresses
    virtual void take_addresses() = 0;     // add the VIPs, send gratuitous ARP / unsolicited NA
    virtual void release_addresses() = 0;  // remove the VIPs (idempotent)
    virtual void notify(State s) = 0;      // notify_master/backup/fault; INIT after start: notify_stop
    virtual void log(std::string line) = 0;
};

struct Settings {
    std::string name;  // "VI_1"
    int version = kVersion3;
    uint8_t priority = 100;        // base priority, 1..255; 255 = address owner (RFC 5798 5.2.4)
    uint32_t advert_int_cs = 100;  // Advertisement_Interval (v2: whole seconds * 100)
    bool preempt = true;           // Preempt_Mode (RFC 5798 6.1); false: nopreempt
    Micros preempt_delay{0};       // keepalived: time after start / after first seeing a lower master
    bool start_as_master = false;  // `state MASTER`: take over at start, then let the election decide
    config::IpAddr primary_address;  // ours, for the equal-priority tie-break (RFC 5798 6.4.3)

    static Settings from(const config::VrrpInstance& cfg, const config::IpAddr& primary_address);
};

// RFC 5798 6.1 / 8.3.2 (v3, from Master_Adver_Interval in centiseconds) and
// RFC 3768 6.1 (v2: (256 - Priority) / 256 seconds), in microseconds, truncated.
Micros skew_time(int version, int priority, uint32_t master_adver_int_cs);
// (3 * Master_Adver_Interval) + Skew_Time.
Micros master_down_interval(int version, int priority, uint32_t master_adver_int_cs);

class Instance {
public:
    Instance(Settings settings, Actions& actions);
    Instance(const Instance&) = delete;  // a sync group points here
    Instance& operator=(const Instance&) = delete;

    // RFC 5798 6.4.1: the owner (255) and `state MASTER` become MASTER, others
    // BACKUP; FAULT if set_fault(true) came first. After a restart `how` may
    // say otherwise (FAULT still comes first).
    void start(TimePoint now, Start how = Start::fresh);
    void on_advert(TimePoint now, const ReceivedAdvert& advert);
    // Adver_Timer (MASTER) or Master_Down_Timer (BACKUP) when due; early calls do nothing.
    void on_timer(TimePoint now);
    std::optional<TimePoint> next_deadline() const;

    // The instance's own tracking (interface down, weight-0 script or file):
    // FAULT while set; leaving goes to BACKUP (the owner to MASTER).
    void set_fault(TimePoint now, bool fault);
    // From effective_priority(); clamped to 1..254; ignored for an owner.
    void set_effective_priority(TimePoint now, int priority);
    // RFC 5798 6.4.2/6.4.3 Shutdown: a MASTER sends priority 0, releases; all go to INIT.
    void shutdown(TimePoint now);

    // MASTER -> BACKUP, no priority-0 advert (sync group).
    void force_backup(TimePoint now);
    // Operator failover: a MASTER sends priority 0 (peers take over after
    // Skew_Time) and goes BACKUP; with preempt and a higher priority it takes
    // the role back after Master_Down_Interval.
    void failover(TimePoint now);
    // BACKUP -> MASTER at once (sync group).
    void force_master(TimePoint now);
    // FAULT because another member of the sync group is in FAULT.
    void set_group_fault(TimePoint now, bool fault);
    void set_sync_group(SyncGroup* group) { group_ = group; }

    const std::string& name() const { return s_.name; }
    State state() const { return state_; }
    uint8_t priority() const { return priority_; }  // effective
    bool own_fault() const { return own_fault_; }
    uint32_t master_adver_int_cs() const { return master_adver_int_cs_; }
    Micros skew_time() const;
    Micros master_down_interval() const;

private:
    bool faulty() const { return own_fault_ || group_fault_; }
    void enter_master(TimePoint now, bool timed_out);
    void resume_master(TimePoint now);
    void resume_backup(TimePoint now);
    void enter_backup(TimePoint now, bool init);
    void enter_fault(TimePoint now);
    void apply_fault(TimePoint now);
    void leave_fault(TimePoint now);
    void send_stop();
    void set_state(TimePoint now, State s);
    void backup_rx(TimePoint now, const ReceivedAdvert& a);
    void master_rx(TimePoint now, const ReceivedAdvert& a);
    void log(const std::string& line) { actions_.log(line); }

    Settings s_;
    Actions& actions_;
    SyncGroup* group_ = nullptr;
    State state_ = State::INIT;
    uint8_t priority_;
    uint32_t master_adver_int_cs_;
    bool own_fault_ = false;
    bool group_fault_ = false;
    TimePoint adver_timer_{};        // MASTER
    TimePoint master_down_timer_{};  // BACKUP
    std::optional<TimePoint> preempt_time_;  // BACKUP, preempt_delay running
};

// ---- tracking (keepalived vrrp_track.c) ------------------------------------

enum class Status : uint8_t { unknown, up, down };  // unknown: no result yet

// One entry of track_script / track_interface / track_file, resolved by the
// caller (weight from the entry, else the script's or file's own).
struct TrackedState {
    enum class Kind : uint8_t { script, interface, file };
    Kind kind = Kind::script;
    int32_t weight = 0;  // 0: a failure means FAULT
    bool reverse = false;
    Status status = Status::up;  // script, interface
    int64_t value = 0;           // file: the number it holds
};

// base plus each entry's weight (positive weights count while up, negative
// while down; reverse flips the sign), clamped to 1..254; 255 stays 255.
int effective_priority(int base, std::span<const TrackedState> tracked);
// A weight-0 entry failing (reverse: succeeding), or a file whose
// value * weight is -254 or less.
bool tracking_fault(std::span<const TrackedState> tracked);

// A vrrp_script's rise/fall counting over its exit statuses.
class ScriptTracker {
public:
    ScriptTracker(std::string name, uint32_t rise, uint32_t fall, bool init_fail = false);
    // One run's exit status (0: success). Returns the log line when the
    // script changes state: fall failures in a row take it down, rise
    // successes bring it up; the first result decides from unknown.
    std::optional<std::string> on_result(int exit_status);
    Status status() const { return status_; }

private:
    std::string name_;
    uint32_t rise_, fall_;
    uint32_t count_;  // 0 .. rise + fall - 1; up at >= rise
    Status status_;
};

// ---- log lines: keepalived 2.2's words, all of them here --------------------

namespace msg {
std::string entering(std::string_view instance, State s);  // "VRRP_Instance(VI_1) Entering MASTER STATE"
std::string entering_backup_init(std::string_view instance);
std::string resuming_master(std::string_view instance);  // lbd's own: a restart within the lease
std::string advert_timeout(std::string_view instance);
// keepalived 1.x's line before a new master's first advert; 2.x dropped it,
// operators' patterns kept it.
std::string transition_master(std::string_view instance);
std::string sent_priority_zero(std::string_view instance);
std::string priority_changed(std::string_view instance, int from, int to);
std::string sync_group(std::string_view group, State s);  // "VRRP_Group(G1) Syncing instances to FAULT state"
std::string script_succeeded(std::string_view script);
std::string script_failed(std::string_view script, int exit_status);
}  // namespace msg

}  // namespace lbd::vrrp
