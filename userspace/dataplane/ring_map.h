// One VIP's Maglev ring as the kernel holds it: an inner array of `rings`
// (slot -> index into `reals`), mapped into the daemon's memory so that a
// change writes the slots that differ, in place, with plain stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "util/unique_fd.h"

namespace lbd::dataplane {

class RingMap {
public:
    // A new, zeroed ring of `slots` entries, not yet in `rings`; throws
    // "cannot create a ring map: ..." with the kernel's reason.
    static RingMap create(uint32_t slots);
    // The ring `rings` holds for vip_id (a previous run's), when it has
    // `slots` entries and can be mapped; none otherwise.
    static std::optional<RingMap> adopt(int rings_fd, uint32_t vip_id, uint32_t slots);

    RingMap(RingMap&& o) noexcept;
    RingMap& operator=(RingMap&& o) noexcept;
    RingMap(const RingMap&) = delete;
    RingMap& operator=(const RingMap&) = delete;
    ~RingMap();

    int fd() const { return fd_.get(); }
    uint32_t slots() const { return slots_; }
    uint32_t at(uint32_t slot) const;
    // Makes the ring equal `table` (slots() entries): stores only the slots
    // that differ, each one whole, so a packet meanwhile reads a slot's old
    // real or its new one.
    struct Written {
        size_t changed = 0;  // slots
        bool dropped = false;  // some value the ring held is in no slot now
    };
    Written write(std::span<const uint32_t> table);

private:
    RingMap(UniqueFd fd, uint32_t slots);

    UniqueFd fd_;
    uint32_t slots_ = 0;
    void* mem_ = nullptr;
    size_t len_ = 0;
};

}  // namespace lbd::dataplane
