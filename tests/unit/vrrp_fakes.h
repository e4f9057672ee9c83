// Fakes of what the VRRP engine does to the world (vrrp/forwarding.h,
// vrrp/addresses.h): they record what was asked of them, answer from the
// test's script, and are safe to read from the test's thread while the
// engine's thread writes them.
#pragma once

#include "vrrp/addresses.h"
#include "vrrp/forwarding.h"
#include "vrrp_frames.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lbd::vrrp::test {

// One lock and one condition for all fakes of a test: a waiter wakes on any
// change and checks its own predicate.
struct World {
    std::mutex mutex;
    std::condition_variable changed;

    // Waits until pred() holds (under the lock); false after `limit`.
    bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, limit, pred);
    }
    void touch(const std::function<void()>& edit) {
        {
            std::lock_guard lock(mutex);
            edit();
        }
        changed.notify_all();
    }
};

class FakeWire : public Wire {
public:
    struct Sent {
        uint32_t id;
        char kind;  // 'A' advert ('a' one that failed), 'G' gratuitous ARP, 'N' neighbour advertisement
        uint8_t priority;
        IpAddr vip;
    };

    explicit FakeWire(World& w) : w_(w), events_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
    ~FakeWire() override { close(events_); }

    void configure(const ChannelInstance& c) override {
        w_.touch([&] { configured[c.id] = c; });
    }
    void remove(uint32_t id) override {
        w_.touch([&] { configured.erase(id); });
    }
    void join(int ifindex, const IpAddr& group) override {
        w_.touch([&] { joined.emplace_back(ifindex, group); });
    }
    // An advert the wire failed to send is recorded with kind 'a'.
    std::vector<std::string> send_advert(uint32_t id, uint8_t priority, uint16_t) override {
        bool failing = false;
        w_.touch([&] {
            failing = fail_adverts;
            sent.push_back({id, failing ? 'a' : 'A', priority, {}});
        });
        if (failing) return {"advert: XDP transmit on ifindex 1: No buffer space available"};
        return {};
    }
    std::vector<std::string> send_garp(uint32_t id, const IpAddr& vip) override {
        w_.touch([&] { sent.push_back({id, 'G', 0, vip}); });
        return {};
    }
    std::vector<std::string> send_na(uint32_t id, const IpAddr& vip, bool) override {
        w_.touch([&] { sent.push_back({id, 'N', 0, vip}); });
        return {};
    }
    lbd_vrrp_key key(uint32_t id) const override {
        lbd_vrrp_key k{};
        k.ifindex = id + 100;  // distinct per instance, as interface, VRID and family are
        k.vrid = static_cast<__u8>(id);
        return k;
    }
    int events_fd() const override { return events_; }
    void consume(const std::function<void(const RxEvent&)>& on) override {
        uint64_t n;
        while (read(events_, &n, sizeof n) > 0) {
        }
        std::deque<std::pair<uint32_t, std::vector<uint8_t>>> batch;
        {
            std::lock_guard lock(w_.mutex);
            batch.swap(queued_);
        }
        for (const auto& [id, packet] : batch) on(RxEvent{1, id, std::chrono::steady_clock::now(), packet});
    }

    // An advert (the IP packet) arriving for instance `id`.
    void arrive(uint32_t id, std::vector<uint8_t> packet) {
        {
            std::lock_guard lock(w_.mutex);
            queued_.emplace_back(id, std::move(packet));
        }
        const uint64_t one = 1;
        if (write(events_, &one, sizeof one) != sizeof one) throw std::runtime_error("eventfd");
    }

    // Read and written under World::mutex.
    bool fail_adverts = false;
    std::map<uint32_t, ChannelInstance> configured;
    std::vector<std::pair<int, IpAddr>> joined;
    std::vector<Sent> sent;

private:
    World& w_;
    int events_;
    std::deque<std::pair<uint32_t, std::vector<uint8_t>>> queued_;
};

class FakeAddresses : public Addresses {
public:
    explicit FakeAddresses(World& w) : w_(w) {}
    std::vector<std::string> add(const std::vector<config::VirtualAddress>& a, int) override {
        w_.touch([&] {
            for (const auto& v : a) held.insert(v.prefix.str());
        });
        return {};
    }
    std::vector<std::string> remove(const std::vector<config::VirtualAddress>& a, int) override {
        w_.touch([&] {
            for (const auto& v : a) held.erase(v.prefix.str());
        });
        return {};
    }
    std::vector<std::string> add_routes(const std::vector<config::VirtualRoute>& r, int) override {
        w_.touch([&] {
            for (const auto& v : r) routes.insert(v.dest.str());
        });
        return {};
    }
    std::vector<std::string> remove_routes(const std::vector<config::VirtualRoute>& r, int) override {
        w_.touch([&] {
            for (const auto& v : r) routes.erase(v.dest.str());
        });
        return {};
    }
    std::vector<std::string> add_rules(const std::vector<config::IpRule>& r) override {
        w_.touch([&] {
            for (const auto& v : r) rules.insert(v.priority);
        });
        return {};
    }
    std::vector<std::string> remove_rules(const std::vector<config::IpRule>& r) override {
        w_.touch([&] {
            for (const auto& v : r) rules.erase(v.priority);
        });
        return {};
    }

    // Under World::mutex.
    std::set<std::string> held;    // addresses: "192.0.2.100/32"
    std::set<std::string> routes;  // destinations: "10.1.0.0/16"
    std::set<uint32_t> rules;      // priorities

private:
    World& w_;
};

class FakeLeaseMap : public LeaseMap {
public:
    explicit FakeLeaseMap(World& w) : w_(w) {}
    lbd_vrrp_lease read(uint32_t id) const override {
        auto it = slots.find(id);
        return it == slots.end() ? lbd_vrrp_lease{} : it->second;
    }
    void write(uint32_t id, const lbd_vrrp_lease& lease) override {
        w_.touch([&] { slots[id] = lease; });
    }
    std::map<uint32_t, lbd_vrrp_lease> slots;  // under World::mutex

private:
    World& w_;
};

class FakeForwarding : public Forwarding {
public:
    explicit FakeForwarding(World& w) : wire_(w), leases_(w), w_(w) {}
    Wire& wire() override { return wire_; }
    LeaseMap& leases() override { return leases_; }
    bool native(int) const override { return true; }
    void set_owned(const IpAddr& vip, bool owned) override {
        w_.touch([&] { this->owned[vip] = owned; });
    }

    FakeWire& fake_wire() { return wire_; }
    FakeLeaseMap& fake_leases() { return leases_; }
    std::map<IpAddr, bool> owned;  // under World::mutex

private:
    FakeWire wire_;
    FakeLeaseMap leases_;
    World& w_;
};

// A peer's VRRPv3 advert for VRID 51 listing 192.0.2.100, as it arrives (the
// IP packet), what the tests' instances on lo accept.
inline std::vector<uint8_t> advert_from(const char* peer, uint8_t priority, uint16_t interval_cs = 100) {
    Advert a;
    a.version = kVersion3;
    a.vrid = 51;
    a.priority = priority;
    a.max_advert_int_cs = interval_cs;
    a.family = AF_INET;
    a.addresses = {*IpAddr::parse("192.0.2.100")};
    return build_packet(a, *IpAddr::parse(peer), vrrp_group(AF_INET));
}

}  // namespace lbd::vrrp::test
