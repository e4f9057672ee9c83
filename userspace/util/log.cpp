#include "util/log.h"

#include <bpf/libbpf.h>
#include <syslog.h>
#include <xdp/libxdp.h>

#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace lbd::log {
namespace {

bool g_console = true;
bool g_debug = false;
std::mutex g_mutex;

int syslog_priority(Level level) {
    switch (level) {
    case Level::Debug: return LOG_DEBUG;
    case Level::Info: return LOG_INFO;
    case Level::Warning: return LOG_WARNING;
    case Level::Error: return LOG_ERR;
    }
    return LOG_INFO;
}

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
    Level ours = level == LIBBPF_WARN ? Level::Info : Level::Debug;
    if (ours == Level::Debug && !g_debug)
        return 0;
    write(ours, format_library(format, args));
    return 0;
}

int from_libxdp(enum libxdp_print_level level, const char* format, va_list args) {
    Level ours = level == LIBXDP_WARN ? Level::Info : Level::Debug;
    if (ours == Level::Debug && !g_debug)
        return 0;
    write(ours, format_library(format, args));
    return 0;
}

}  // namespace

void init(bool console, bool debug, std::string_view ident) {
    g_console = console;
    g_debug = debug;
    if (!console) {
        static std::string name(ident);
        openlog(name.c_str(), LOG_PID, LOG_DAEMON);
    }
}

void write(Level level, std::string_view line) {
    if (level == Level::Debug && !g_debug)
        return;
    std::lock_guard lock(g_mutex);
    if (!g_console) {
        syslog(syslog_priority(level), "%.*s", static_cast<int>(line.size()), line.data());
        return;
    }
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm local{};
    localtime_r(&ts.tv_sec, &local);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%a %b %e %H:%M:%S", &local);
    fmt::print(stderr, "{}.{:03} {}\n", stamp, ts.tv_nsec / 1000000, line);
    fflush(stderr);
}

void capture_libraries() {
    libbpf_set_print(from_libbpf);
    libxdp_set_print(from_libxdp);
}

}  // namespace lbd::log
