// track_file: the number an operator writes in a file, watched with inotify,
// as keepalived's trackers/track_file.c does.
//
// The value read: strtol(base 0) of at most the first 127 bytes, so leading
// blanks are skipped, 0x.. is hex and 0.. octal, and reading stops at the
// first character that is not part of the number. A missing, unreadable or
// empty file, and text without a number, read as 0; a number outside
// -2^31..2^31-1 is logged and ignored (the value stays what it was).
//
// The watch is on the file's directory (resolved through symlinks at start)
// for a write closing, a delete and a rename, in or out: so replacing the
// file by rename is seen, and deleting it makes the value 0. A directory that
// does not exist is logged; the file then reads 0 for good.
#pragma once

#include "util/unique_fd.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

struct inotify_event;

namespace lbd {

// A file's value at which what tracks it is down: a VRRP instance goes to
// FAULT (keepalived vrrp_track.c), a FILE_CHECK real leaves its pool. The
// value is the number read times the tracker's weight.
inline constexpr int64_t kTrackFileDown = -254;

// One file to watch (keepalived's vrrp_track_file block, less what the
// trackers make of the value).
struct TrackedFile {
    std::string name;
    std::string path;
    std::optional<int64_t> init_value;  // set: init_file; write it if the file is missing
    bool init_overwrite = false;        // ... or always
    bool operator==(const TrackedFile&) const = default;
};


class TrackFiles {
public:
    // Called when a file's value changes.
    using OnChange = std::function<void(const std::string& name, int64_t value)>;

    // Applies init_file first: writes the value when the file is missing, or
    // always with `overwrite` (a regular file only), except when reloading
    // (keepalived never overwrites on a reload). Then reads every file.
    TrackFiles(const std::vector<TrackedFile>& files, OnChange on_change, bool reloading = false);
    TrackFiles(const TrackFiles&) = delete;
    TrackFiles& operator=(const TrackFiles&) = delete;

    int fd() const { return inotify_.get(); }
    // Reads the inotify events and the files they name.
    void dispatch();
    // Throws std::out_of_range for a name that is not a configured track_file.
    int64_t value(const std::string& name) const;

private:
    struct File {
        std::string name;
        std::string path;  // resolved: directory + "/" + base
        std::string base;  // the name inotify reports
        int watch = -1;    // inotify watch of the directory; -1: not watched
        int64_t value = 0;
    };

    void watch(File& file);
    void handle(const inotify_event& event);
    void update(File& file, int64_t value);
    void reread_all();

    OnChange on_change_;
    std::vector<File> files_;
    UniqueFd inotify_;
};

}  // namespace lbd
