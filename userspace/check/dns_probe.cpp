#include "check/dns_message.h"
#include "check/probes.h"
#include "check/socket.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <random>
#include <span>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace lbd::check {
namespace {

using namespace std::chrono_literals;

ProbeResult failed(std::string detail) { return {false, std::move(detail), std::nullopt}; }

// What is read of an answer: only its header and question matter, and those
// fit well within the 512 bytes of a UDP answer without EDNS (RFC 1035 4.2.1).
constexpr size_t kMaxAnswer = 512;

class DnsProbe final : public Probe {
public:
    DnsProbe(const config::Checker& checker, Loop& loop)
        : loop_(loop),
          target_(checker.target),
          timeout_(checker.timing.connect_timeout),
          dns_(std::get<config::DnsCheck>(checker.detail)),
          random_(std::random_device{}()) {}
    ~DnsProbe() override { cancel(); }

    void start(Done done) override {
        cancel();
        done_ = std::move(done);
        const auto type = dns::type_code(dns_.type);
        if (!type) return fail_soon(fmt::format("unknown query type {}", dns_.type));
        try {
            query_ = dns::build_query(static_cast<uint16_t>(random_()), dns_.name, *type);
        } catch (const std::invalid_argument& e) {
            return fail_soon(e.what());
        }
        try {
            fd_ = open_socket(target_, SOCK_DGRAM, IPPROTO_UDP).fd;
        } catch (const std::system_error& e) {
            return fail_soon(e.what());
        }
        // Host and network unreachable too, not only port unreachable.
        const int on = 1;
        const bool v6 = target_.connect_ip.family == AF_INET6;
        if (setsockopt(fd_.get(), v6 ? SOL_IPV6 : SOL_IP, v6 ? IPV6_RECVERR : IP_RECVERR, &on, sizeof(on)) < 0)
            return fail_soon(fmt::format("IP_RECVERR: {}", std::strerror(errno)));
        const ssize_t sent = send(fd_.get(), query_.data(), query_.size(), 0);
        if (sent < 0) return fail_soon(fmt::format("send: {}", std::strerror(errno)));
        if (size_t(sent) != query_.size())
            return fail_soon(fmt::format("send: {} of {} bytes sent", sent, query_.size()));
        loop_.watch(fd_.get(), EPOLLIN, [this](uint32_t) { on_readable(); });
        timer_ = loop_.after(timeout_, [this] {
            timer_ = 0;
            finish(failed("timeout: no answer"));
        });
    }

    void cancel() override {
        if (fd_) {
            loop_.unwatch(fd_.get());
            fd_.reset();
        }
        if (timer_ != 0) loop_.cancel(timer_);
        timer_ = 0;
        done_ = nullptr;
    }

private:
    // done() only from the loop, never from start().
    void fail_soon(std::string detail) {
        fd_.reset();
        timer_ = loop_.after(0ms, [this, detail = std::move(detail)] {
            timer_ = 0;
            finish(failed(detail));
        });
    }

    void on_readable() {
        std::array<uint8_t, kMaxAnswer> buf;
        const ssize_t n = recv(fd_.get(), buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN) return;
            return finish(failed(fmt::format("recv: {}", std::strerror(errno))));
        }
        using Kind = dns::Verdict::Kind;
        dns::Verdict v = dns::check_answer(query_, std::span<const uint8_t>(buf.data(), size_t(n)));
        if (v.kind != Kind::ignored) finish({v.kind == Kind::ok, std::move(v.detail), std::nullopt});
    }

    void finish(ProbeResult result) {
        Done done = std::move(done_);
        cancel();
        done(std::move(result));
    }

    Loop& loop_;
    const config::CheckTarget target_;
    const config::Duration timeout_;
    const config::DnsCheck dns_;
    std::mt19937 random_;
    std::vector<uint8_t> query_;
    bpf::UniqueFd fd_;
    Loop::TimerId timer_ = 0;
    Done done_;
};

}  // namespace

std::unique_ptr<Probe> make_dns_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<DnsProbe>(checker, context.loop);
}

}  // namespace lbd::check
