// Dataplane::apply is all or nothing: an apply the id pools cannot hold, or
// one whose ring maps the kernel refuses half-way through, throws and leaves
// every map the program reads byte for byte as it was. A ring that changes
// is rewritten in place into what a fresh build gives. The data plane is a
// real one (its maps pinned under a bpffs directory of this test's own),
// attached to no interface.
#include "kernel_test.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "dataplane/dataplane.h"
#include "lb.skel.h"
#include "util/unique_fd.h"

namespace lbd {
namespace {

constexpr uint32_t kRingSize = 4099;  // prime, above the most reals a test puts in one ring

IpAddr addr(const std::string& text) { return *IpAddr::parse(text); }

// 10.N.x.y: real `i` of a block of addresses.
IpAddr real_addr(int block, int i) { return addr(fmt::format("10.{}.{}.{}", block, i / 250, 1 + i % 250)); }

config::VirtualServer service(const std::string& vip, uint16_t port, int block, int reals) {
    config::VirtualServer vs;
    vs.addr = addr(vip);
    vs.port = port;
    for (int i = 0; i < reals; ++i) {
        config::RealServer rs;
        rs.addr = real_addr(block, i);
        vs.reals.push_back(rs);
    }
    return vs;
}

// Every entry of a map as bytes, by key bytes.
using Entries = std::map<std::vector<uint8_t>, std::vector<uint8_t>>;

Entries entries(int fd) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    Entries out;
    std::vector<uint8_t> key(info.key_size), next(info.key_size), value(info.value_size);
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, next.data()) == 0) {
        if (bpf_map_lookup_elem(fd, next.data(), value.data()) == 0)
            out.emplace(next, value);
        key = next;
        prev = key.data();
    }
    return out;
}

// What the program reads: services, reals, activity, lc sets, NAT replies,
// and each ring's slots (the outer map holds the rings' ids, which a swap
// changes: their contents are what counts).
struct Maps {
    std::map<std::string, Entries> tables;
    std::map<uint32_t, Entries> rings;
    bool operator==(const Maps&) const = default;
};

Maps read_maps(const dataplane::Dataplane& dp) {
    const auto& m = dp.objects().maps;
    Maps out;
    for (auto [name, map] : {std::pair{"vips4", m.vips4}, {"vips6", m.vips6}, {"vip_active", m.vip_active},
                             {"reals", m.reals}, {"lc_sets", m.lc_sets}, {"nat_reverse4", m.nat_reverse4},
                             {"nat_reverse6", m.nat_reverse6}, {"real_conns", m.real_conns}})
        out.tables[name] = entries(bpf_map__fd(map));
    for (uint32_t id = 0; id < LBD_MAX_VIPS; ++id) {
        uint32_t inner_id = 0;
        if (bpf_map_lookup_elem(bpf_map__fd(m.rings), &id, &inner_id) != 0)
            continue;
        UniqueFd inner(bpf_map_get_fd_by_id(inner_id));
        EXPECT_TRUE(inner) << "ring " << id;
        out.rings[id] = entries(inner.get());
    }
    return out;
}

class DataplaneApply : public testing::Test {
protected:
    void SetUp() override {
        LBD_REQUIRE_NETNS();
        dataplane::Options o;
        o.instance = fmt::format("kt-apply-{}", getpid());
        o.ring_size = kRingSize;
        dp_ = std::make_unique<dataplane::Dataplane>(o);
    }
    std::unique_ptr<dataplane::Dataplane> dp_;
};

TEST_F(DataplaneApply, TooManyServicesChangeNothing) {
    const std::vector running = {service("192.0.2.1", 80, 1, 3), service("192.0.2.2", 80, 1, 2)};
    dp_->apply(running);
    const Maps before = read_maps(*dp_);
    ASSERT_EQ(before.rings.size(), 2u);
    std::vector<config::VirtualServer> next = running;
    next[0].reals.pop_back();  // a change the apply would make first
    for (int i = 0; i < LBD_MAX_VIPS; ++i) next.push_back(service("198.51.100.1", static_cast<uint16_t>(1000 + i), 2, 1));
    try {
        dp_->apply(next);
        FAIL() << "an apply of more services than ids did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_EQ(std::string(e.what()), fmt::format("{} virtual services, the data plane has room for {}",
                                                     next.size(), LBD_MAX_VIPS));
    }
    EXPECT_TRUE(read_maps(*dp_) == before);
    EXPECT_THROW(dp_->check_capacity(next), std::runtime_error);
    // The running services are still the pools' only users: the apply of
    // as many services as there are ids passes.
    next.resize(LBD_MAX_VIPS);
    dp_->check_capacity(next);
    dp_->apply(next);
    EXPECT_EQ(entries(bpf_map__fd(dp_->objects().maps.rings)).size(), size_t{LBD_MAX_VIPS});
}

// A service that stays keeps its old reals' ids until its ring is swapped:
// replacing 2,100 reals by 2,100 others needs 4,200 ids at once.
TEST_F(DataplaneApply, RealsPeakChangesNothing) {
    const std::vector running = {service("192.0.2.1", 80, 1, 2100), service("192.0.2.2", 443, 3, 2)};
    dp_->apply(running);
    const Maps before = read_maps(*dp_);
    std::vector next = {service("192.0.2.1", 80, 2, 2100), service("192.0.2.2", 443, 3, 3)};
    try {
        dp_->apply(next);
        FAIL() << "an apply beyond the reals' pool did not throw";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("4203 real servers at once"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(read_maps(*dp_) == before);
    EXPECT_THROW(dp_->check_capacity(next), std::runtime_error);
    // A service that goes frees its reals first: the same reals under
    // another service fit.
    next[0].port = 8080;
    dp_->check_capacity(next);
    dp_->apply(next);
    EXPECT_EQ(read_maps(*dp_).tables["vips4"].size(), 2u);
}

// A fault after some of the new rings were made: descriptors run out (the
// rings are made and held before the first write).
TEST_F(DataplaneApply, RingRefusedHalfwayChangesNothing) {
    const std::vector running = {service("192.0.2.1", 80, 1, 3)};
    dp_->apply(running);
    const Maps before = read_maps(*dp_);
    std::vector<config::VirtualServer> next = {service("192.0.2.1", 80, 1, 4)};
    for (int i = 0; i < 64; ++i) next.push_back(service("198.51.100.1", static_cast<uint16_t>(1000 + i), 2, 2));

    rlimit saved{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
    UniqueFd probe(dup(0));
    ASSERT_TRUE(probe);
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(probe.get()) + 16;  // room for a few rings, not 65
    probe.reset();
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    std::string error;
    try {
        dp_->apply(next);
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
    EXPECT_EQ(error, fmt::format("cannot create a ring map: {}", strerror(EMFILE)));
    EXPECT_TRUE(read_maps(*dp_) == before);

    dp_->apply(next);
    const Maps after = read_maps(*dp_);
    EXPECT_EQ(after.rings.size(), next.size());
    EXPECT_EQ(after.tables.at("vips4").size(), next.size());
}

// The inner map `rings` holds for a service, and its slots as the addresses
// of the reals they name.
struct Ring {
    uint32_t map_id = 0;
    std::vector<std::string> slots;
};

Ring ring_of(const dataplane::Dataplane& dp, const config::VirtualServer& vs) {
    const auto& m = dp.objects().maps;
    lbd_vip_key4 key{};
    memcpy(&key.addr, vs.addr.bytes.data(), 4);
    key.port = htons(vs.port);
    key.proto = IPPROTO_TCP;
    lbd_vip_meta meta{};
    Ring out;
    if (bpf_map_lookup_elem(bpf_map__fd(m.vips4), &key, &meta) != 0 ||
        bpf_map_lookup_elem(bpf_map__fd(m.rings), &meta.vip_id, &out.map_id) != 0)
        return out;
    UniqueFd inner(bpf_map_get_fd_by_id(out.map_id));
    EXPECT_TRUE(inner);
    for (uint32_t slot = 0; slot < meta.ring_size; ++slot) {
        uint32_t index = 0;
        lbd_real real{};
        EXPECT_EQ(bpf_map_lookup_elem(inner.get(), &slot, &index), 0);
        EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(m.reals), &index, &real), 0);
        IpAddr a;
        a.family = real.family;
        memcpy(a.bytes.data(), real.addr.bytes, a.bytes.size());
        out.slots.push_back(real.family ? a.str() : "(no real)");
    }
    return out;
}

// What a data plane that never served anything else makes of `services`.
Ring fresh_ring(const std::vector<config::VirtualServer>& services, const config::VirtualServer& vs) {
    dataplane::Options o;
    o.instance = fmt::format("kt-fresh-{}", getpid());
    o.ring_size = kRingSize;
    dataplane::Dataplane fresh(o);
    fresh.apply(services);
    return ring_of(fresh, vs);
}

// A weight change and a real leaving: the service keeps its inner map, whose
// slots become what a fresh build gives, and a real that left is in no
// slot and no longer in `reals`; the other service's ring is untouched.
TEST_F(DataplaneApply, ChangedRingRewrittenInPlace) {
    std::vector services = {service("192.0.2.1", 80, 1, 4), service("192.0.2.2", 80, 2, 3)};
    dp_->apply(services);
    const Ring a = ring_of(*dp_, services[0]), b = ring_of(*dp_, services[1]);
    ASSERT_EQ(a.slots.size(), kRingSize);
    const std::string heavy = real_addr(1, 0).str();
    const auto share = [&](const Ring& r) { return std::count(r.slots.begin(), r.slots.end(), heavy); };

    services[0].reals[0].weight = 3;
    dp_->apply(services);
    const Ring weighted = ring_of(*dp_, services[0]);
    EXPECT_EQ(weighted.map_id, a.map_id);
    EXPECT_GT(share(weighted), share(a) * 3 / 2);
    EXPECT_EQ(weighted.slots, fresh_ring(services, services[0]).slots);

    const std::string gone = real_addr(1, 1).str();
    services[0].reals.erase(services[0].reals.begin() + 1);
    dp_->apply(services);
    const Ring fewer = ring_of(*dp_, services[0]);
    EXPECT_EQ(fewer.map_id, a.map_id);
    EXPECT_EQ(std::count(fewer.slots.begin(), fewer.slots.end(), gone), 0);
    EXPECT_EQ(std::count(fewer.slots.begin(), fewer.slots.end(), "(no real)"), 0);
    EXPECT_EQ(fewer.slots, fresh_ring(services, services[0]).slots);
    for (const auto& [key, value] : read_maps(*dp_).tables.at("reals")) {
        lbd_real real{};
        memcpy(&real, value.data(), sizeof(real));
        EXPECT_NE(memcmp(real.addr.bytes, real_addr(1, 1).bytes.data(), 4), 0) << "the real that left is in reals";
    }

    const Ring b_after = ring_of(*dp_, services[1]);
    EXPECT_EQ(b_after.map_id, b.map_id);
    EXPECT_EQ(b_after.slots, b.slots);
}

// A service whose reals all have weight 0 has no ring (the program passes
// its new flows); when one comes back, a new map, filled, goes in.
TEST_F(DataplaneApply, RingWithNoRealGoesAndComesBackNew) {
    std::vector services = {service("192.0.2.1", 80, 1, 2)};
    dp_->apply(services);
    const Ring before = ring_of(*dp_, services[0]);
    ASSERT_NE(before.map_id, 0u);
    for (auto& rs : services[0].reals) rs.weight = 0;
    dp_->apply(services);
    EXPECT_EQ(ring_of(*dp_, services[0]).map_id, 0u);
    services[0].reals[1].weight = 1;
    dp_->apply(services);
    const Ring back = ring_of(*dp_, services[0]);
    EXPECT_NE(back.map_id, 0u);
    EXPECT_NE(back.map_id, before.map_id);
    EXPECT_EQ(back.slots, std::vector<std::string>(kRingSize, real_addr(1, 1).str()));
}

// A killed daemon's rings are adopted: kept as they are when the config
// gives the same inputs (their fingerprints in ring_inputs match), and
// rewritten in place when it does not.
TEST_F(DataplaneApply, RestartKeepsOrRewritesAdoptedRings) {
    dataplane::Options o;
    o.instance = fmt::format("kt-adopt-{}", getpid());
    o.ring_size = kRingSize;
    std::vector services = {service("192.0.2.1", 80, 1, 4), service("192.0.2.2", 80, 2, 3)};
    // The first daemon: serves, then dies without tearing anything down.
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        try {
            auto first = std::make_unique<dataplane::Dataplane>(o);
            first->apply(services);
            first.release();  // no destructor: the pins stay, as after SIGKILL
            _exit(0);
        } catch (...) {
            _exit(1);
        }
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    dataplane::Dataplane second(o);
    ASSERT_TRUE(second.adopted());
    const Ring a = ring_of(second, services[0]), b = ring_of(second, services[1]);
    ASSERT_NE(a.map_id, 0u);
    uint64_t inputs = 0;
    uint32_t id = 0;
    ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(second.objects().maps.ring_inputs), &id, &inputs), 0);
    EXPECT_NE(inputs, 0u);

    services[1].reals[0].weight = 5;
    second.apply(services);
    const Ring kept = ring_of(second, services[0]), rewritten = ring_of(second, services[1]);
    EXPECT_EQ(kept.map_id, a.map_id);
    EXPECT_EQ(kept.slots, a.slots);
    EXPECT_EQ(rewritten.map_id, b.map_id);
    EXPECT_NE(rewritten.slots, b.slots);
    EXPECT_EQ(rewritten.slots, fresh_ring(services, services[1]).slots);
}

}  // namespace
}  // namespace lbd
