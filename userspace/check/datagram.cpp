#include "check/datagram.h"
#include "check/socket.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;

ProbeResult failed(std::string detail) { return {false, std::move(detail), std::nullopt}; }

}  // namespace

DatagramProbe::DatagramProbe(Loop& loop, config::CheckTarget target, config::Duration timeout, size_t max_datagram)
    : target_(std::move(target)), loop_(loop), timeout_(timeout), buffer_(max_datagram) {}

void DatagramProbe::cancel() {
    if (fd_) {
        loop_.unwatch(fd_.get());
        fd_.reset();
    }
    if (timer_ != 0) loop_.cancel(timer_);
    timer_ = 0;
    done_ = nullptr;
}

void DatagramProbe::begin(Done done) {
    cancel();
    done_ = std::move(done);
}

void DatagramProbe::exchange(std::span<const uint8_t> request) {
    try {
        fd_ = connected_socket();
    } catch (const std::system_error& e) {
        return fail_soon(e.what());
    }
    // Host and network unreachable too, not only port unreachable.
    const int on = 1;
    const bool v6 = target_.connect_ip.family == AF_INET6;
    if (setsockopt(fd_.get(), v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on, sizeof(on)) < 0)
        return fail_soon(fmt::format("IP_RECVERR: {}", std::strerror(errno)));
    const ssize_t sent = send(fd_.get(), request.data(), request.size(), 0);
    if (sent < 0) return fail_soon(fmt::format("send: {}", std::strerror(errno)));
    if (size_t(sent) != request.size())
        return fail_soon(fmt::format("send: {} of {} bytes sent", sent, request.size()));
    loop_.watch(fd_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
    timer_ = loop_.after(timeout_, [this] {
        timer_ = 0;
        finish(silence());
    });
}

void DatagramProbe::fail_soon(std::string detail) {
    fd_.reset();
    timer_ = loop_.after(0ms, [this, detail = std::move(detail)] {
        timer_ = 0;
        finish(failed(detail));
    });
}

UniqueFd DatagramProbe::connected_socket() { return open_socket(target_, SOCK_DGRAM, IPPROTO_UDP).fd; }

void DatagramProbe::on_readable() {
    // MSG_TRUNC: the datagram's whole length, whatever fits the buffer.
    const ssize_t n = recv(fd_.get(), buffer_.data(), buffer_.size(), MSG_TRUNC);
    if (n < 0) {
        if (errno == EAGAIN) return;
        return finish(failed(fmt::format("recv: {}", std::strerror(errno))));
    }
    const size_t length = size_t(n);
    const auto datagram = std::span<const uint8_t>(buffer_).first(std::min(length, buffer_.size()));
    if (std::optional<ProbeResult> result = reply(datagram, length)) finish(std::move(*result));
}

void DatagramProbe::finish(ProbeResult result) {
    Done done = std::move(done_);
    cancel();
    done(std::move(result));
}

}  // namespace lbd::check
