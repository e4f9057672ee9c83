// lbctl capture's output: classic pcap (the libpcap file format tcpdump -r
// reads) with nanosecond timestamps and Ethernet frames, and a one-line
// summary of a frame for the terminal. No sockets: unit-tested alone.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lbctl {

inline constexpr uint32_t kPcapMagicNs = 0xa1b23c4d;
inline constexpr uint32_t kLinktypeEthernet = 1;

// The file header, in this host's byte order (readers take either).
std::string pcap_header(uint32_t snaplen);
// One record: the frame's first bytes `data` of `orig_len`, at unix_ns.
std::string pcap_record(int64_t unix_ns, uint32_t orig_len, std::string_view data);

// "hex" as the daemon sends frames, back to bytes; throws
// std::invalid_argument on a character that is not a hex digit or an odd
// length.
std::string from_hex(std::string_view hex);

// What the frame's head says, as tcpdump -n would in brief: addresses,
// protocol and ports, or VRRP's VRID and priority, or ARP's question.
std::string frame_summary(std::string_view frame);

}  // namespace lbctl
