// libFuzzer target for what a DNS server sends DNS_CHECK back: any datagram
// must be judged (ignored, ok or failed) against the query sent.
#include "check/dns_message.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    const uint16_t id = in.ConsumeIntegral<uint16_t>();
    const uint16_t type = in.PickValueInArray<uint16_t>({1, 2, 5, 6, 15, 16, 28});
    const auto query = lbd::check::dns::build_query(id, in.ConsumeBool() ? "example.org." : ".", type);
    const std::vector<uint8_t> answer = in.ConsumeRemainingBytes<uint8_t>();
    lbd::check::dns::check_answer(query, answer);
    return 0;
}
