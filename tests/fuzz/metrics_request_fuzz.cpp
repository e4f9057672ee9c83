// libFuzzer target for the metrics listener's request heads: any bytes a
// client sends must end in a head found or not, and a head in a verdict.
#include "ctl/metrics_request.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const size_t end = lbd::ctl::request_head_end(in);
    if (end == std::string_view::npos) return 0;
    if (end > in.size()) std::abort();
    const lbd::ctl::MetricsRequest r = lbd::ctl::judge_request(in.substr(0, end));
    if (r.status < 200 || r.status > 599) std::abort();
    return 0;
}
