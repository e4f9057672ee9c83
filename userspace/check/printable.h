// Text a server sent, fit for a log line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lbd::check {

// Non-printable bytes as '?', at most `max` characters ("..." after more).
std::string printable(std::string_view text, size_t max = 80);

}  // namespace lbd::check
