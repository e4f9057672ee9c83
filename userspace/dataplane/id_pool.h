// Small integer ids (VIP ids, real indexes) for array-indexed maps. A
// released id is handed out again only after every id ever used, so a stale
// map entry is least likely to meet a new owner.
#pragma once

#include <cstdint>
#include <algorithm>
#include <deque>
#include <optional>

namespace lbd::dataplane {

class IdPool {
public:
    explicit IdPool(uint32_t size) : size_(size) {}
    std::optional<uint32_t> take() {
        if (next_ < size_)
            return next_++;
        if (free_.empty())
            return std::nullopt;
        uint32_t id = free_.front();
        free_.pop_front();
        return id;
    }
    void release(uint32_t id) { free_.push_back(id); }
    // Marks `id` taken: one a previous run handed out, found in its maps.
    void claim(uint32_t id) {
        if (id >= size_)
            return;
        while (next_ <= id)
            free_.push_back(next_++);
        std::erase(free_, id);
    }

private:
    uint32_t size_;
    uint32_t next_ = 0;
    std::deque<uint32_t> free_;
};

}  // namespace lbd::dataplane
