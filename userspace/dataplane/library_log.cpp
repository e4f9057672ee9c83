#include "dataplane/library_log.h"

#include "util/log.h"

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <string>

namespace lbd::dataplane {
namespace {

// Library messages arrive as printf formats, already prefixed with the
// library's name, with their own trailing newline.
std::string format_library(const char* format, va_list args) {
    char buf[1024];
    int n = vsnprintf(buf, sizeof(buf), format, args);
    std::string line(buf, n < 0 ? 0 : std::min<size_t>(n, sizeof(buf) - 1));
    while (!line.empty() && line.back() == '\n')
        line.pop_back();
    return line;
}

int from_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
    log::write(level == LIBBPF_WARN ? log::Level::Info : log::Level::Debug, format_library(format, args));
    return 0;
}

int from_libxdp(enum libxdp_print_level level, const char* format, va_list args) {
    log::write(level == LIBXDP_WARN ? log::Level::Info : log::Level::Debug, format_library(format, args));
    return 0;
}

}  // namespace

void capture_library_logs() {
    libbpf_set_print(from_libbpf);
    libxdp_set_print(from_libxdp);
}

}  // namespace lbd::dataplane
