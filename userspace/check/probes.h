// The probe of each checker type; make_probe() (check/probe.h) picks one.
#pragma once

#include "check/probe.h"

#include <memory>

namespace lbd::check {

// ---- stream probes: TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK -----------------

// TCP_CHECK: up when the connection to the target is established within
// connect_timeout; it is closed at once.
std::unique_ptr<Probe> make_tcp_probe(const config::Checker& checker, const ProbeContext& context);
// HTTP_GET and SSL_GET (checker.type says which): each url in turn on a
// connection of its own, within connect_timeout each; up when every url's
// status, digest and regex are as configured (check/http_probe.cpp).
std::unique_ptr<Probe> make_http_probe(const config::Checker& checker, const ProbeContext& context);
// SMTP_CHECK: banner 2xx, HELO answered 250, QUIT; on each of its hosts in
// turn (the checker's target without any), within connect_timeout each.
std::unique_ptr<Probe> make_smtp_probe(const config::Checker& checker, const ProbeContext& context);

// ---- datagram and script probes: UDP_CHECK, PING_CHECK, DNS_CHECK, MISC_CHECK --

}  // namespace lbd::check
