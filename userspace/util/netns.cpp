#include "util/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "util/unique_fd.h"

namespace lbd {

std::string net_namespace_path(const std::string& name) { return "/run/netns/" + name; }

void enter_net_namespace(const std::string& path) {
    const UniqueFd ns(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns || setns(ns.get(), CLONE_NEWNET) != 0)
        throw std::runtime_error("cannot enter " + path + ": " + std::strerror(errno));
}

}  // namespace lbd
