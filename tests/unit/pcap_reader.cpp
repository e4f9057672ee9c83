#include "pcap_reader.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace lbd::test {

namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr size_t kFileHeaderLen = 24;
constexpr size_t kRecordHeaderLen = 16;
constexpr uint32_t kMaxRecordLen = 1u << 18;  // tcpdump's largest snaplen

uint32_t load32(const std::vector<uint8_t>& b, size_t at, bool swapped) {
    const uint32_t le = uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 |
                        uint32_t{b[at + 3]} << 24;
    const uint32_t be = uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 |
                        uint32_t{b[at + 3]};
    return swapped ? be : le;
}

}  // namespace

PcapFile read_pcap(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path + ": cannot open");
    const std::vector<uint8_t> b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    auto fail = [&](const std::string& what) { return std::runtime_error(path + ": " + what); };

    if (b.size() < kFileHeaderLen) throw fail("shorter than a pcap file header");
    // The magic tells the writer's byte order: read little-endian first.
    bool swapped = false;
    PcapFile f;
    const uint32_t magic = load32(b, 0, false);
    if (magic == kMagicMicro || magic == kMagicNano) {
        f.nanosecond = magic == kMagicNano;
    } else {
        const uint32_t magic_be = load32(b, 0, true);
        if (magic_be != kMagicMicro && magic_be != kMagicNano)
            throw fail("not a classic pcap file (pcapng is not supported)");
        swapped = true;
        f.nanosecond = magic_be == kMagicNano;
    }
    f.snaplen = load32(b, 16, swapped);
    f.linktype = load32(b, 20, swapped) & 0x0fffffff;  // upper bits: FCS length flags

    size_t at = kFileHeaderLen;
    while (at < b.size()) {
        if (b.size() - at < kRecordHeaderLen) throw fail("record header cut at byte " + std::to_string(at));
        PcapRecord r;
        r.ts_sec = load32(b, at, swapped);
        r.ts_frac = load32(b, at + 4, swapped);
        const uint32_t incl = load32(b, at + 8, swapped);
        r.orig_len = load32(b, at + 12, swapped);
        at += kRecordHeaderLen;
        if (incl > kMaxRecordLen) throw fail("record of " + std::to_string(incl) + " bytes");
        if (b.size() - at < incl) throw fail("record data cut at byte " + std::to_string(at));
        r.data.assign(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + incl));
        at += incl;
        f.records.push_back(std::move(r));
    }
    return f;
}

}  // namespace lbd::test
