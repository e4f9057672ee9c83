// The real servers of the checkers' benchmark (bench/checks_bench.sh): one
// listener on 0.0.0.0:PORT answers every 127.x address, so thousands of
// reals cost one process. A connection that sends an HTTP request head gets
// a 200 and is closed; one that closes first (TCP_CHECK) is closed too.
// Single-threaded epoll, so its own cost stays small and apart from the
// checkers measured.
//
//   lbd-check-target PORT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

constexpr char kResponse[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";

int die(const char* what) {
    std::fprintf(stderr, "lbd-check-target: %s: %s\n", what, std::strerror(errno));
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: lbd-check-target PORT\n");
        return 2;
    }
    const int port = std::atoi(argv[1]);
    const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) return die("socket");
    const int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0) return die("bind");
    if (listen(lfd, 65535) < 0) return die("listen");
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    std::printf("listening on %d\n", port);
    std::fflush(stdout);

    std::unordered_map<int, std::string> heads;
    epoll_event evs[512];
    for (;;) {
        const int n = epoll_wait(ep, evs, 512, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return die("epoll_wait");
        for (int i = 0; i < n; ++i) {
            const int fd = evs[i].data.fd;
            if (fd == lfd) {
                for (;;) {
                    const int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (c < 0) break;
                    epoll_event cev{};
                    cev.events = EPOLLIN;
                    cev.data.fd = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                    heads[c];
                }
                continue;
            }
            char buf[4096];
            const ssize_t got = read(fd, buf, sizeof(buf));
            if (got < 0 && errno == EAGAIN) continue;
            std::string& head = heads[fd];
            if (got > 0) head.append(buf, static_cast<size_t>(got));
            const bool complete = head.find("\r\n\r\n") != std::string::npos;
            if (got > 0 && !complete) continue;
            if (complete) {
                // A checker that left before its answer needs none: the result is not looked at.
                const ssize_t sent = write(fd, kResponse, sizeof(kResponse) - 1);
                (void)sent;
            }
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
            close(fd);
            heads.erase(fd);
        }
    }
}
