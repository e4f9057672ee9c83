// A ring map as the kernel holds it: created with the template's flags,
// written through the daemon's mapping and read back through bpf(), with
// only the slots that differ stored and a real that loses its last slot
// reported.
#include "kernel_test.h"

#include <bpf/bpf.h>

#include <gtest/gtest.h>

#include <vector>

#include "dataplane/ring_map.h"
#include "lbd_abi.h"

namespace lbd::dataplane {
namespace {

uint32_t slot_by_syscall(int fd, uint32_t slot) {
    uint32_t value = 0;
    EXPECT_EQ(bpf_map_lookup_elem(fd, &slot, &value), 0);
    return value;
}

TEST(RingMap, WritesOnlyWhatDiffers) {
    LBD_REQUIRE_NETNS();
    RingMap ring = RingMap::create(13);
    bpf_map_info info{};
    __u32 len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(ring.fd(), &info, &len), 0);
    EXPECT_EQ(info.map_flags, uint32_t{LBD_RING_MAP_FLAGS});
    EXPECT_EQ(info.max_entries, 13u);

    std::vector<uint32_t> table(13, 4);
    table[12] = 9;
    RingMap::Written w = ring.write(table);
    EXPECT_EQ(w.changed, 13u);  // a new map holds zeros
    for (uint32_t slot = 0; slot < 13; ++slot) {
        EXPECT_EQ(slot_by_syscall(ring.fd(), slot), table[slot]);
        EXPECT_EQ(ring.at(slot), table[slot]);
    }

    // 9 keeps a slot, 4 loses some: nothing dropped.
    table[0] = 9;
    w = ring.write(table);
    EXPECT_EQ(w.changed, 1u);
    EXPECT_FALSE(w.dropped);
    EXPECT_EQ(slot_by_syscall(ring.fd(), 0), 9u);

    // 9 loses both its slots.
    table[0] = table[12] = 5;
    w = ring.write(table);
    EXPECT_EQ(w.changed, 2u);
    EXPECT_TRUE(w.dropped);

    w = ring.write(table);
    EXPECT_EQ(w.changed, 0u);
    EXPECT_FALSE(w.dropped);
    EXPECT_THROW(ring.write(std::vector<uint32_t>(12)), std::logic_error);
}

TEST(RingMap, AdoptsOnlyARingOfItsSize) {
    LBD_REQUIRE_NETNS();
    RingMap template_ring = RingMap::create(7);
    LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<__u32>(template_ring.fd()));
    UniqueFd outer(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "kt_rings", 4, 4, 2, &opts));
    ASSERT_TRUE(outer);
    RingMap ring = RingMap::create(11);
    ring.write(std::vector<uint32_t>(11, 3));
    const uint32_t id = 1;
    const int fd = ring.fd();
    ASSERT_EQ(bpf_map_update_elem(outer.get(), &id, &fd, BPF_ANY), 0);

    auto adopted = RingMap::adopt(outer.get(), 1, 11);
    ASSERT_TRUE(adopted);
    EXPECT_EQ(adopted->at(10), 3u);
    EXPECT_FALSE(RingMap::adopt(outer.get(), 1, 13));  // another size
    EXPECT_FALSE(RingMap::adopt(outer.get(), 0, 11));  // no ring there
}

}  // namespace
}  // namespace lbd::dataplane
