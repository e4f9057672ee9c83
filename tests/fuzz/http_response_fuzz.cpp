// libFuzzer target for what a real server sends an HTTP_GET or SSL_GET: the
// response fed in the splits the input chooses, then the end of the
// connection, then the body searched as a url's regex searches it. Any input
// must end in a verdict; a crash, a leak or undefined behaviour is a bug.
#include "check/body_regex.h"
#include "check/http_response.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

using lbd::check::BodyRegex;
using lbd::check::HttpResponse;

lbd::config::HttpUrl url(std::string regex, std::vector<std::string> options, uint64_t min_offset,
                         std::optional<uint64_t> max_offset) {
    lbd::config::HttpUrl u;
    u.regex = std::move(regex);
    u.regex_options = std::move(options);
    u.regex_min_offset = min_offset;
    u.regex_max_offset = max_offset;
    return u;
}

// Patterns of the kinds keepalived users write, and one that backtracks hard.
BodyRegex& regex(int which) {
    static BodyRegex words(url(R"(status:\s*(ok|fine))", {"caseless", "multiline"}, 0, std::nullopt));
    static BodyRegex backtracking(url("^(a|b|ab)*c$", {}, 2, 200));
    return which == 0 ? words : backtracking;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    // A small limit too, so that "too large" is reached within a run.
    HttpResponse response(in.ConsumeBool() ? HttpResponse::kDefaultLimit : 512);
    const int which = in.ConsumeIntegralInRange(0, 1);
    while (in.remaining_bytes() > 0 && response.state() == HttpResponse::State::incomplete) {
        const std::string chunk = in.ConsumeRandomLengthString(64);
        response.feed(chunk);
    }
    if (response.end() == HttpResponse::State::complete) regex(which).search(response.body());
    return 0;
}
