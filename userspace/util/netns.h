// keepalived's net_namespace: the network namespaces `ip netns add` makes,
// bind-mounted under /run/netns.
#pragma once

#include <string>

namespace lbd {

// /run/netns/NAME
std::string net_namespace_path(const std::string& name);

// Moves the calling thread into the network namespace at `path`; threads it
// starts afterwards are born there. Throws std::runtime_error "cannot enter
// PATH: why".
void enter_net_namespace(const std::string& path);

}  // namespace lbd
