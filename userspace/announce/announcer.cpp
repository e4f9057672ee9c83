#include "announce/announcer.h"

#include "util/log.h"

#include <fmt/format.h>

#include <stdexcept>
#include <utility>

namespace lbd::announce {
namespace {

// Stopping, the announcer waits this long for its thread to withdraw.
constexpr auto kStopWithin = std::chrono::seconds(5);

std::string why(Verdict v) {
    switch (v) {
    case Verdict::announced: return "announced";
    case Verdict::drained: return "the node is drained";
    case Verdict::not_master: return "its vrrp_instance is not MASTER here";
    case Verdict::no_quorum: return "no virtual_server of it has its quorum";
    }
    return "unknown";
}

}  // namespace

Announcer::Announcer(Lease lease) : lease_(std::move(lease)) { publish(); }

Announcer::~Announcer() { stop(); }

// Before the thread runs, the loop keeps what is posted for its first turn.
void Announcer::post(std::function<void()> fn) { loop_.post(std::move(fn)); }

void Announcer::configure(std::optional<uint32_t> table, const std::vector<config::VirtualServer>& services,
                          std::set<IpAddr> floated) {
    post([this, table, services, floated = std::move(floated)]() mutable {
        selection_.configure(services, std::move(floated));
        if (table != table_) {
            withdraw_all(table ? fmt::format("lb_announce_table is {} now", *table)
                               : std::string("lb_announce_table is gone from the configuration"));
            routes_.reset();
            table_ = table;
            if (table_) {
                try {
                    routes_ = std::make_unique<net::HostRoutes>(*table_);
                } catch (const std::exception& e) {
                    failed(e.what());
                }
            }
            renew();
        }
        // After what was posted before: at start-up, the checkers' and
        // VRRP's first word.
        sync_soon();
    });
    configured_ = table;
    if (started_) run_thread();
}

void Announcer::start() {
    started_ = true;
    run_thread();
}

void Announcer::run_thread() {
    if (!configured_ || thread_.joinable()) return;
    loop_.after(kRenewEvery, [this] { tick(); });
    thread_ = std::thread([this] {
        try {
            loop_.run();
        } catch (const std::exception& e) {
            log::error("announcer's loop failed: {}; the routes stay until the lease runs out", e.what());
        }
    });
}

void Announcer::tick() {
    loop_.after(kRenewEvery, [this] { tick(); });
    renew();
    sync();
}

void Announcer::set_quorum(const config::VirtualServer& service, bool quorum) {
    post([this, key = key_of(service), quorum] {
        selection_.set_quorum(key, quorum);
        sync_soon();
    });
}

void Announcer::set_master(const IpAddr& addr, bool master) {
    post([this, addr, master] {
        selection_.set_master(addr, master);
        sync_soon();
    });
}

// A burst of changes (a reload's checkers reporting) is one read and write
// of the table.
void Announcer::sync_soon() {
    if (sync_due_) return;
    sync_due_ = true;
    loop_.post([this] {
        sync_due_ = false;
        sync();
    });
}

std::vector<IpAddr> Announcer::set_drained(bool drained) {
    if (!thread_.joinable()) throw std::runtime_error("no lb_announce_table is configured: nothing is announced");
    auto answer = loop_.call([this, drained] {
        const std::set<IpAddr> before = selection_.announced();
        selection_.set_drained(drained);
        log::info("{}", drained ? "Node drained: withdrawing every VIP" : "Node undrained: announcing again");
        sync();
        const std::set<IpAddr> after = selection_.announced();
        const std::set<IpAddr>& from = drained ? before : after;
        const std::set<IpAddr>& other = drained ? after : before;
        std::vector<IpAddr> changed;
        for (const auto& a : from)
            if (!other.contains(a)) changed.push_back(a);
        return changed;
    });
    if (!answer) throw std::runtime_error("the announcer did not answer within a second");
    return *answer;
}

std::vector<IpAddr> Announcer::stop() {
    if (!thread_.joinable()) return {};
    auto withdrawn = loop_.call(
        [this] {
            const std::set<IpAddr> had = in_table_;
            withdraw_all("lbd is stopping");
            table_.reset();
            renew();
            publish();
            return std::vector<IpAddr>(had.begin(), had.end());
        },
        kStopWithin);
    loop_.stop();
    thread_.join();
    return withdrawn.value_or(std::vector<IpAddr>{});
}

void Announcer::renew() {
    lease_(table_ ? std::optional(Clock::now() + kLease) : std::nullopt);
}

// The table made to hold exactly what the selection announces.
void Announcer::sync() {
    if (!routes_) return publish();
    const auto verdicts = selection_.verdicts();
    try {
        const std::set<IpAddr> have = routes_->read();
        const std::set<IpAddr> believed = std::exchange(in_table_, have);
        for (const auto& a : have) {
            const auto v = verdicts.find(a);
            if (v != verdicts.end() && v->second == Verdict::announced) continue;
            routes_->remove(a);
            in_table_.erase(a);
            log::info("Withdrawing VIP {} (table {}): {}", a.str(), *table_,
                      v == verdicts.end() ? std::string("no virtual_server has it") : why(v->second));
        }
        for (const auto& [a, v] : verdicts) {
            if (v != Verdict::announced || have.contains(a)) continue;
            routes_->add(a);
            in_table_.insert(a);
            if (believed.contains(a))
                log::warn("VIP {}: its route was gone from table {}; added again", a.str(), *table_);
            else
                log::info("Announcing VIP {} (table {})", a.str(), *table_);
        }
        if (!error_.empty()) log::info("Routing table {} is written again", *table_);
        error_.clear();
    } catch (const std::exception& e) {
        failed(e.what());
    }
    publish();
}

void Announcer::withdraw_all(const std::string& reason) {
    if (!routes_) return;
    try {
        for (const auto& a : routes_->read()) {
            routes_->remove(a);
            log::info("Withdrawing VIP {} (table {}): {}", a.str(), routes_->table(), reason);
        }
        in_table_.clear();
    } catch (const std::exception& e) {
        failed(e.what());
    }
}

// Said once while it lasts: every second would flood the log.
void Announcer::failed(const std::string& what) {
    if (what != error_) log::error("announcing: {}", what);
    error_ = what;
}

void Announcer::publish() {
    Status s;
    s.table = table_;
    s.drained = selection_.drained();
    s.error = error_;
    for (const auto& [addr, v] : selection_.verdicts()) s.vips.push_back({addr, v, in_table_.contains(addr)});
    std::lock_guard lock(status_mutex_);
    published_ = std::move(s);
}

Status Announcer::status() const {
    std::lock_guard lock(status_mutex_);
    return published_;
}

}  // namespace lbd::announce
