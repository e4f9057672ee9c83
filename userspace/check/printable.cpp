#include "check/printable.h"

#include <cctype>

namespace lbd::check {

std::string printable(std::string_view text, size_t max) {
    std::string out;
    for (const char c : text.substr(0, max)) out.push_back(std::isprint(static_cast<unsigned char>(c)) ? c : '?');
    if (text.size() > max) out += "...";
    return out;
}

}  // namespace lbd::check
