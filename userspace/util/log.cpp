#include "util/log.h"

#include <syslog.h>

#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace lbd::log {
namespace {

bool g_console = true;
bool g_debug = false;
std::mutex g_mutex;
std::string g_ident;  // openlog() keeps the pointer: it must outlive every syslog()

int syslog_priority(Level level) {
    switch (level) {
    case Level::Debug: return LOG_DEBUG;
    case Level::Info: return LOG_INFO;
    case Level::Warning: return LOG_WARNING;
    case Level::Error: return LOG_ERR;
    }
    return LOG_INFO;
}

}  // namespace

void init(bool console, bool debug, std::string_view ident) {
    g_console = console;
    g_debug = debug;
    set_ident(ident);
}

void set_ident(std::string_view ident) {
    std::lock_guard lock(g_mutex);
    if (g_console)
        return;
    closelog();
    g_ident = ident;
    openlog(g_ident.c_str(), LOG_PID, LOG_DAEMON);
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

}  // namespace lbd::log
