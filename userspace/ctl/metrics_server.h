// The HTTP listener of global_defs' metrics_listen: GET /metrics answers
// with what the provider renders (ctl/metrics.h), in text exposition format
// 0.0.4. It runs one event loop on a thread of its own, so a scrape never
// waits on, or delays, VRRP or the checkers; and no client can stall it:
// every socket is non-blocking; a request head is at most kMaxRequestHead
// bytes and must be whole within the timeout of the moment the connection
// was made or its last response written (idle connections close then); a
// response must be taken within the timeout too; one client address holds
// at most max_per_client of the max_connections slots, and with every slot
// taken a new connection closes the one that has waited longest for a
// request, so slow clients cannot shut the others out.
//
// HTTP/1.0 and 1.1 (persistent unless the request says otherwise, RFC 9112
// 9.3), GET and HEAD of /metrics (ctl/metrics_request.h).
#pragma once

#include "config/model.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace lbd::ctl {

class MetricsServer {
public:
    // Renders the body of a scrape; called on the server's thread, one scrape
    // at a time. An exception is a 500 for that scrape, logged once until a
    // scrape succeeds again.
    using Provider = std::function<std::string()>;

    static constexpr size_t kMaxRequestHead = 8192;
    static constexpr size_t kMaxConnections = 16;
    static constexpr size_t kMaxPerClient = 4;
    static constexpr std::chrono::seconds kTimeout{5};

    // The constants above, unless a test wants them small.
    struct Limits {
        size_t max_connections;
        size_t max_per_client;
        std::chrono::milliseconds timeout;
    };
    static Limits default_limits() { return {kMaxConnections, kMaxPerClient, kTimeout}; }

    // Listens on `listen` (port 0: a free port, see port()) and starts the
    // thread. Throws std::runtime_error naming the address and the step that
    // failed ("metrics_listen 10.0.0.1:9165: bind: Address already in use").
    MetricsServer(const config::ListenAddr& listen, Provider provider, Limits limits = default_limits());
    // Stops the thread and closes every connection.
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // The port bound, which port 0 leaves to the kernel.
    uint16_t port() const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lbd::ctl
