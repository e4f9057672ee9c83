// libFuzzer target for the VRRP decoder: any IP packet the XDP program
// queues (the network chooses it) must decode to an advert or a reason to
// reject it, with or without a v2 password expected.
#include "vrrp/packet.h"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> packet(data, size);
    lbd::vrrp::decode_packet(packet);
    lbd::vrrp::decode_packet(packet, "secret");
    return 0;
}
