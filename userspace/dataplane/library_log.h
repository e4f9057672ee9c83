// libbpf's and libxdp's messages through lbd's logger (util/log.h), one
// level below ours: their warnings are our info, the rest debug (-D).
#pragma once

namespace lbd::dataplane {

void capture_library_logs();

}  // namespace lbd::dataplane
