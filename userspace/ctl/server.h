// The daemon's end of the control socket (ctl/protocol.h), served on the
// daemon's main loop (util/loop.h) without ever waiting on a client. What
// protects the daemon:
// - peers are checked by SO_PEERCRED: root, or the daemon's own user;
// - a request line is at most kMaxRequestBytes; at most kMaxConnections at
//   once; a connection that neither finishes a request nor reads its reply
//   within kRequestTimeout is closed;
// - malformed JSON, a missing or other version, an unknown command get an
//   error reply; a handler's exception too, and the daemon goes on.
#pragma once

#include "ctl/request.h"
#include "util/loop.h"
#include "util/unique_fd.h"

#include <chrono>
#include <map>
#include <string>

namespace lbd::ctl {

class Server {
public:
    using Handler = ctl::Handler;  // ctl/request.h
    // protocol.h's, unless a test wants them small.
    struct Limits {
        size_t max_request;
        size_t max_connections;
        std::chrono::milliseconds timeout;
    };
    static Limits default_limits();

    // Binds `path` (its directory created, mode 0600, or narrower under a
    // narrower umask; the process umask untouched), replacing a socket
    // nobody answers on, and serves it on `loop`, which outlives the server;
    // throws std::runtime_error when another daemon answers there or the
    // socket cannot be made.
    Server(Loop& loop, std::string path, Handler handler, Limits limits = default_limits());
    ~Server();  // closes every connection and removes the socket
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    const std::string& path() const { return path_; }

private:
    struct Connection {
        UniqueFd fd;
        std::string in;
        std::string out;
        Loop::TimerId deadline = 0;
        bool closing = false;  // close once `out` is written
    };

    void accept_all();
    void serve(int fd, uint32_t events);
    void read_requests(Connection& c);
    void write_out(Connection& c);
    void watch(const Connection& c);
    void extend(Connection& c);
    void close(int fd);

    Loop& loop_;
    std::string path_;
    Handler handler_;
    Limits limits_;
    UniqueFd listener_;
    std::map<int, Connection> conns_;
};

}  // namespace lbd::ctl
