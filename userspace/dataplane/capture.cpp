#include "dataplane/capture.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "lb.skel.h"

namespace lbd::dataplane {

Capture::Capture(const lbd_lb& objects) : objects_(objects) {
    ring_ = ring_buffer__new(bpf_map__fd(objects_.maps.capture), on_record, this, nullptr);
    if (!ring_) throw std::system_error(errno, std::generic_category(), "capture ring buffer");
    // A daemon killed while capturing left its program's switch on; this
    // program's starts off, but say so in the map we adopt as well.
    switch_bpf();
}

Capture::~Capture() {
    sessions_.clear();
    switch_bpf();
    ring_buffer__free(ring_);
}

uint64_t Capture::open(uint32_t classes, uint32_t snaplen, Clock::time_point now) {
    if (classes == 0 || (classes & ~LBD_CAPTURE_ALL) != 0)
        throw std::invalid_argument(fmt::format("capture classes {:#x}: some of vrrp, forwarded, dropped, passed", classes));
    if (snaplen == 0 || snaplen > LBD_CAPTURE_SNAP_MAX)
        throw std::invalid_argument(fmt::format("snap length {}: 1..{}", snaplen, LBD_CAPTURE_SNAP_MAX));
    expire(now);
    if (sessions_.size() >= kMaxSessions)
        throw std::runtime_error(fmt::format("{} captures already run", kMaxSessions));
    // Records from before this session are not its own.
    drain();
    const uint64_t id = next_id_++;
    Session& s = sessions_[id];
    s.classes = classes;
    s.snaplen = snaplen;
    s.lease = now + kLease;
    s.ring_lost_seen = ring_lost();
    switch_bpf();
    return id;
}

Capture::Batch Capture::read(uint64_t session, size_t max, Clock::time_point now) {
    expire(now);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) throw std::out_of_range(fmt::format("no capture session {}", session));
    drain();
    Session& s = it->second;
    s.lease = now + kLease;
    Batch b;
    const size_t n = std::min(max, s.queue.size());
    b.records.assign(std::make_move_iterator(s.queue.begin()), std::make_move_iterator(s.queue.begin() + n));
    s.queue.erase(s.queue.begin(), s.queue.begin() + n);
    const uint64_t ring = ring_lost();
    b.lost = s.lost + (ring - s.ring_lost_seen);
    s.lost = 0;
    s.ring_lost_seen = ring;
    return b;
}

void Capture::close(uint64_t session) {
    if (sessions_.erase(session)) switch_bpf();
}

void Capture::expire(Clock::time_point now) {
    const size_t before = sessions_.size();
    std::erase_if(sessions_, [now](const auto& kv) { return kv.second.lease <= now; });
    if (sessions_.size() != before) switch_bpf();
}

// What the sessions together want: every class any wants, the longest snap.
void Capture::switch_bpf() {
    uint32_t classes = 0, snaplen = 1;
    for (const auto& [id, s] : sessions_) {
        classes |= s.classes;
        snaplen = std::max(snaplen, s.snaplen);
    }
    objects_.bss->capture_snaplen = snaplen;
    __atomic_store_n(&objects_.bss->capture_classes, classes, __ATOMIC_RELEASE);
    if (classes == 0) drain();
}

void Capture::drain() { ring_buffer__consume(ring_); }

uint64_t Capture::ring_lost() const {
    std::vector<uint64_t> per_cpu(static_cast<size_t>(libbpf_num_possible_cpus()));
    const uint32_t key = LBD_CAPTURE_LOST;
    if (bpf_map_lookup_elem(bpf_map__fd(objects_.maps.capture_stats), &key, per_cpu.data()) != 0) return 0;
    uint64_t sum = 0;
    for (uint64_t n : per_cpu) sum += n;
    return sum;
}

// Each record goes to every session that wants its class, cut to that
// session's snap length.
int Capture::on_record(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Capture*>(ctx);
    if (size < sizeof(lbd_capture_record)) return 0;
    lbd_capture_record rec;
    std::memcpy(&rec, data, sizeof(rec));
    const uint32_t cap_len = std::min<uint32_t>(rec.cap_len, LBD_CAPTURE_SNAP_MAX);
    for (auto& [id, s] : self->sessions_) {
        if (!(s.classes & rec.cls)) continue;
        if (s.queue.size() >= kQueueMax) {
            ++s.lost;
            continue;
        }
        CaptureRecord r{rec.at_ns, rec.ifindex, rec.len, rec.reason, rec.cls, rec.verdict,
                        std::string(reinterpret_cast<const char*>(rec.data), std::min(cap_len, s.snaplen))};
        s.queue.push_back(std::move(r));
    }
    return 0;
}

}  // namespace lbd::dataplane
