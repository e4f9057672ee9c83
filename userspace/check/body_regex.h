// HTTP_GET's and SSL_GET's `regex`, as keepalived runs it: PCRE2, with the
// url's regex_options, regex_min_offset, regex_max_offset and regex_stack.
//
// A real server chooses the body, so a search is bounded: in time by PCRE2's
// match limit (kMatchLimit, the steps keepalived's PCRE2 allows), in memory
// by the JIT stack (regex_stack, else PCRE2's 32 KiB) and, where the JIT
// cannot run, by the interpreter's depth and heap limits; in bytes by the
// body, which HttpResponse bounds. A search that hits a limit is an error
// of its own, never taken for a match or for a miss.
#pragma once

#include "config/model_checkers.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace lbd::check {

class BodyRegex {
public:
    static constexpr uint32_t kMatchLimit = 10'000'000;  // PCRE2's default, which keepalived keeps
    static constexpr uint32_t kDepthLimit = 100'000;     // interpreter backtracking frames
    static constexpr uint32_t kHeapLimitKiB = 20 * 1024;

    // Compiles url.regex with url.regex_options; throws std::invalid_argument
    // with PCRE2's message and the offset for one that does not compile.
    explicit BodyRegex(const config::HttpUrl& url);
    ~BodyRegex();
    BodyRegex(const BodyRegex&) = delete;
    BodyRegex& operator=(const BodyRegex&) = delete;

    struct Outcome {
        enum class Kind { matched, no_match, failed } kind = Kind::no_match;
        std::string error;  // failed: PCRE2's message, e.g. "match limit exceeded"
    };
    // Searches `body` from regex_min_offset for a match starting at or before
    // regex_max_offset.
    Outcome search(std::string_view body);

private:
    struct Pcre;
    std::unique_ptr<Pcre> pcre_;
    uint64_t min_offset_ = 0;
};

}  // namespace lbd::check
