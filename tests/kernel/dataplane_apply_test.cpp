// Dataplane::apply is all or nothing: an apply the id pools cannot hold, or
// one whose ring maps the kernel refuses half-way through, throws and leaves
// every map the program reads byte for byte as it was. The data plane is a
// real one (its maps pinned under a bpffs directory of this test's own),
// attached to no interface.
#include "kernel_test.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace lbd
