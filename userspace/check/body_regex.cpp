#include "check/body_regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace lbd::check {
namespace {

// config::kRegexOptionNames' bits, in its order.
constexpr uint32_t kRegexOptionBits[] = {
    PCRE2_ALLOW_EMPTY_CLASS, PCRE2_ALT_BSUX,          PCRE2_AUTO_CALLOUT,     PCRE2_CASELESS,
    PCRE2_DOLLAR_ENDONLY,    PCRE2_DOTALL,            PCRE2_DUPNAMES,         PCRE2_EXTENDED,
    PCRE2_FIRSTLINE,         PCRE2_MATCH_UNSET_BACKREF, PCRE2_MULTILINE,      PCRE2_NEVER_UCP,
    PCRE2_NEVER_UTF,         PCRE2_NO_AUTO_CAPTURE,   PCRE2_NO_AUTO_POSSESS,  PCRE2_NO_DOTSTAR_ANCHOR,
    PCRE2_NO_START_OPTIMIZE, PCRE2_UCP,               PCRE2_UNGREEDY,         PCRE2_UTF,
    PCRE2_NEVER_BACKSLASH_C, PCRE2_ALT_CIRCUMFLEX,    PCRE2_ALT_VERBNAMES,    PCRE2_USE_OFFSET_LIMIT,
};
static_assert(std::size(kRegexOptionBits) == std::size(config::kRegexOptionNames));

uint32_t option_bits(const std::vector<std::string>& names) {
    uint32_t bits = 0;
    for (const std::string& name : names) {
        const auto* at = std::find(std::begin(config::kRegexOptionNames), std::end(config::kRegexOptionNames), name);
        if (at == std::end(config::kRegexOptionNames))
            throw std::invalid_argument(fmt::format("unknown regex option '{}'", name));
        bits |= kRegexOptionBits[at - std::begin(config::kRegexOptionNames)];
    }
    return bits;
}

std::string message(int error) {
    PCRE2_UCHAR text[256];
    if (pcre2_get_error_message(error, text, sizeof text) < 0) return fmt::format("PCRE2 error {}", error);
    return reinterpret_cast<const char*>(text);
}

}  // namespace

struct BodyRegex::Pcre {
    pcre2_code* code = nullptr;
    pcre2_match_data* data = nullptr;
    pcre2_match_context* context = nullptr;
    pcre2_jit_stack* stack = nullptr;
    ~Pcre() {
        pcre2_jit_stack_free(stack);
        pcre2_match_context_free(context);
        pcre2_match_data_free(data);
        pcre2_code_free(code);
    }
};

BodyRegex::BodyRegex(const config::HttpUrl& url) : pcre_(std::make_unique<Pcre>()), min_offset_(url.regex_min_offset) {
    uint32_t options = option_bits(url.regex_options);
    // A match may start no later than regex_max_offset: PCRE2's offset limit.
    if (url.regex_max_offset) options |= PCRE2_USE_OFFSET_LIMIT;
    int error = 0;
    PCRE2_SIZE at = 0;
    pcre_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(url.regex.data()), url.regex.size(), options, &error,
                                &at, nullptr);
    if (pcre_->code == nullptr)
        throw std::invalid_argument(fmt::format("{} at offset {}", message(error), at));
    // Without the JIT (an architecture or a pattern it does not take)
    // pcre2_match() interprets, under the depth and heap limits.
    pcre2_jit_compile(pcre_->code, PCRE2_JIT_COMPLETE);
    pcre_->data = pcre2_match_data_create_from_pattern(pcre_->code, nullptr);
    pcre_->context = pcre2_match_context_create(nullptr);
    if (pcre_->data == nullptr || pcre_->context == nullptr) throw std::bad_alloc();
    pcre2_set_match_limit(pcre_->context, kMatchLimit);
    pcre2_set_depth_limit(pcre_->context, kDepthLimit);
    pcre2_set_heap_limit(pcre_->context, kHeapLimitKiB);
    if (url.regex_max_offset) pcre2_set_offset_limit(pcre_->context, *url.regex_max_offset);
    if (url.regex_stack) {
        pcre_->stack = pcre2_jit_stack_create(url.regex_stack->start, url.regex_stack->max, nullptr);
        if (pcre_->stack == nullptr) throw std::bad_alloc();
        pcre2_jit_stack_assign(pcre_->context, nullptr, pcre_->stack);
    }
}

BodyRegex::~BodyRegex() = default;

BodyRegex::Outcome BodyRegex::search(std::string_view body) {
    if (min_offset_ > body.size()) return {};
    const int rc = pcre2_match(pcre_->code, reinterpret_cast<PCRE2_SPTR>(body.data()), body.size(), min_offset_, 0,
                               pcre_->data, pcre_->context);
    if (rc >= 0) return {Outcome::Kind::matched, {}};
    if (rc == PCRE2_ERROR_NOMATCH) return {};
    return {Outcome::Kind::failed, message(rc)};
}

}  // namespace lbd::check
