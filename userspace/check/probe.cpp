#include "check/probe.h"

#include "check/probe_types.h"

#include <stdexcept>

namespace lbd::check {

std::unique_ptr<Probe> make_probe(const config::Checker& checker, const ProbeContext& context) {
    switch (checker.type) {
    case config::CheckerType::TCP_CHECK: return make_tcp_probe(checker, context);
    case config::CheckerType::HTTP_GET:
    case config::CheckerType::SSL_GET: return make_http_probe(checker, context);
    case config::CheckerType::SMTP_CHECK: return make_smtp_probe(checker, context);
    case config::CheckerType::UDP_CHECK: return make_udp_probe(checker, context);
    case config::CheckerType::PING_CHECK: return make_ping_probe(checker, context);
    case config::CheckerType::DNS_CHECK: return make_dns_probe(checker, context);
    case config::CheckerType::MISC_CHECK: return make_misc_probe(checker, context);
    case config::CheckerType::FILE_CHECK: break;
    }
    throw std::invalid_argument("FILE_CHECK has no probe: its file is watched");
}

}  // namespace lbd::check
