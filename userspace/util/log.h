// One logger for lbd, and for libbpf and libxdp through it
// (dataplane/library_log.h). Lines read like keepalived's so operators'
// grep patterns keep working.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace lbd::log {

enum class Level { Debug, Info, Warning, Error };

// console: lines go to stderr; otherwise to syslog (journald under systemd).
void init(bool console, bool debug, std::string_view ident);
// syslog's ident from now on: keepalived appends its net_namespace to its own.
void set_ident(std::string_view ident);
void write(Level level, std::string_view line);

template <class... A>
void debug(fmt::format_string<A...> f, A&&... a) { write(Level::Debug, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void info(fmt::format_string<A...> f, A&&... a) { write(Level::Info, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void warn(fmt::format_string<A...> f, A&&... a) { write(Level::Warning, fmt::format(f, std::forward<A>(a)...)); }
template <class... A>
void error(fmt::format_string<A...> f, A&&... a) { write(Level::Error, fmt::format(f, std::forward<A>(a)...)); }

}  // namespace lbd::log
