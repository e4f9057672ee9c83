#include "util/track_files.h"

#include "util/log.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <system_error>

namespace lbd {
namespace {

// keepalived's watch: a write closing, a delete, a rename either way.
constexpr uint32_t kEvents = IN_CLOSE_WRITE | IN_DELETE | IN_MOVE;

// keepalived track_file_end_handler(): a missing file gets the value; an
// existing one only with `overwrite`, when it is a regular file, and never
// on a reload.
void init_file(const TrackedFile& f, bool reloading) {
    if (!f.init_value) return;
    struct stat st{};
    if (stat(f.path.c_str(), &st) == 0) {
        if (!f.init_overwrite || reloading) return;
        if (!S_ISREG(st.st_mode)) {
            log::warn("Cannot initialise track file {} - it is not a regular file", f.name);
            return;
        }
    }
    const std::string text = fmt::format("{}\n", *f.init_value);
    UniqueFd fd(open(f.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        log::warn("Unable to initialise track file {}: {}", f.name, std::strerror(errno));
}

std::optional<std::string> real_path(const std::string& path) {
    std::unique_ptr<char, decltype(&std::free)> real(realpath(path.c_str(), nullptr), &std::free);
    if (!real) return std::nullopt;
    return std::string(real.get());
}

// The directory to watch and the name in it, resolved once as keepalived
// does: the file itself when it exists, else its directory.
std::optional<std::pair<std::string, std::string>> locate(const std::string& path) {
    std::string resolved;
    if (auto real = real_path(path)) {
        resolved = *real;
    } else {
        if (errno != ENOENT) return std::nullopt;
        const size_t slash = path.rfind('/');
        const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
        auto real_dir = real_path(dir);
        struct stat st{};
        if (!real_dir || stat(real_dir->c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
        resolved = fmt::format("{}/{}", *real_dir == "/" ? "" : *real_dir, path.substr(slash + 1));
    }
    const size_t slash = resolved.rfind('/');
    return std::pair{slash == 0 ? "/" : resolved.substr(0, slash), resolved.substr(slash + 1)};
}

// keepalived process_track_file(); nullopt: a number out of range, ignored.
std::optional<int64_t> read_value(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));  // a fifo put there must not block us
    if (!fd) return 0;
    char buf[128];
    const ssize_t n = read(fd.get(), buf, sizeof(buf) - 1);
    if (n <= 0) return 0;
    buf[n] = '\0';
    errno = 0;
    const long long value = std::strtoll(buf, nullptr, 0);
    if (errno != 0 || value < INT_MIN || value > INT_MAX) {
        log::info("Invalid number {} read from {} - ignoring", value, path);
        return std::nullopt;
    }
    return value;
}

}  // namespace

TrackFiles::TrackFiles(const std::vector<TrackedFile>& files, OnChange on_change, bool reloading)
    : on_change_(std::move(on_change)), inotify_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    if (!inotify_) throw std::system_error(errno, std::generic_category(), "track_file inotify");
    for (const TrackedFile& f : files) {
        init_file(f, reloading);
        File file{f.name, f.path, {}, -1, 0};
        watch(file);
        files_.push_back(std::move(file));
    }
}

void TrackFiles::watch(File& file) {
    auto where = locate(file.path);
    if (!where) {
        log::warn("Track file directory for {} does not exist - the file reads 0", file.name);
        return;
    }
    const auto& [dir, base] = *where;
    file.path = fmt::format("{}/{}", dir == "/" ? "" : dir, base);
    file.base = base;
    file.value = read_value(file.path).value_or(0);
    file.watch = inotify_add_watch(inotify_.get(), dir.c_str(), kEvents);
    if (file.watch < 0) log::warn("Unable to watch track file {}: {}", file.name, std::strerror(errno));
}

void TrackFiles::dispatch() {
    alignas(inotify_event) char buf[4096];
    for (;;) {
        const ssize_t n = read(inotify_.get(), buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n < 0) throw std::system_error(errno, std::generic_category(), "track_file inotify");
        for (ssize_t at = 0; at < n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
            handle(*event);
            at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
    }
}

void TrackFiles::handle(const inotify_event& event) {
    if (event.mask & IN_Q_OVERFLOW) {
        reread_all();  // events were lost: the files say what is true now
        return;
    }
    if ((event.mask & IN_ISDIR) || event.len == 0) return;
    for (File& f : files_) {
        if (f.watch != event.wd || f.base != event.name) continue;
        if (event.mask & (IN_DELETE | IN_MOVED_FROM))
            update(f, 0);  // gone: keepalived reads it as 0
        else if (auto value = read_value(f.path))
            update(f, *value);
    }
}

void TrackFiles::update(File& file, int64_t value) {
    if (value == file.value) return;
    file.value = value;
    on_change_(file.name, value);
}

void TrackFiles::reread_all() {
    for (File& f : files_)
        if (f.watch >= 0) update(f, read_value(f.path).value_or(f.value));
}

int64_t TrackFiles::value(const std::string& name) const {
    for (const File& f : files_)
        if (f.name == name) return f.value;
    throw std::out_of_range(fmt::format("no track_file {}", name));
}

}  // namespace lbd
