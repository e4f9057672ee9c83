// A reader for classic pcap files (the libpcap format tcpdump -w writes; not
// pcapng): enough to feed captured frames to unit tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lbd::test {

struct PcapRecord {
    uint32_t ts_sec = 0;
    uint32_t ts_frac = 0;  // microseconds, or nanoseconds in a nanosecond file
    uint32_t orig_len = 0;  // length on the wire; data may be shorter (snaplen)
    std::vector<uint8_t> data;
};

struct PcapFile {
    uint32_t linktype = 0;  // 1 = Ethernet
    uint32_t snaplen = 0;
    bool nanosecond = false;
    std::vector<PcapRecord> records;
};

inline constexpr uint32_t kLinktypeEthernet = 1;

// Reads the whole file; throws std::runtime_error ("FILE: what is wrong")
// when it cannot be opened or is not a well-formed classic pcap file. Both
// byte orders, micro- and nanosecond magics.
PcapFile read_pcap(const std::string& path);

}  // namespace lbd::test
