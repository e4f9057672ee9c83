#include "util/bpffs.h"

#include <bpf/bpf.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

namespace lbd {

void ensure_pin_dir(const std::string& dir) {
    struct statfs st {};
    if (statfs("/sys/fs/bpf", &st) != 0 || st.f_type != BPF_FS_MAGIC) {
        std::filesystem::create_directories("/sys/fs/bpf");
        if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
            throw std::runtime_error(
                fmt::format("cannot mount bpffs on /sys/fs/bpf: {}", strerror(errno)));
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot create {}: {}", dir, ec.message()));
}

void remove_pin_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

UniqueFd open_pinned(const std::string& path) {
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0)
        throw std::runtime_error(fmt::format("cannot open pinned map {}: {}", path, strerror(errno)));
    return UniqueFd(fd);
}

}  // namespace lbd
