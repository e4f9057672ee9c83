// Small owners for kernel objects the data plane holds: file descriptors of
// maps, and the pin directory under bpffs.
#pragma once

#include <unistd.h>

#include <string>
#include <utility>

namespace lbd::bpf {

// Header-only, so the benchmarks' tools can hold descriptors without the
// data plane's library.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        reset(std::exchange(o.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }
    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    void reset(int fd = -1) {
        if (fd_ >= 0)
            close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// Mounts bpffs on /sys/fs/bpf when it is not there (`ip netns exec` gives
// each command a fresh /sys without it), then creates `dir`.
void ensure_pin_dir(const std::string& dir);
// Removes the pins in `dir` and the directory itself; missing is fine.
void remove_pin_dir(const std::string& dir);
// Opens a pinned map; throws naming the path.
UniqueFd open_pinned(const std::string& path);
std::string pin_dir(const std::string& instance);

}  // namespace lbd::bpf
