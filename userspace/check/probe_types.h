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

// UDP_CHECK: the payload (keepalived's 32 bytes of "keepalived check - " when
// none is set) on a connected socket. An ICMP error (port or host
// unreachable) fails. With a reply_pattern, a reply must be
// min_reply_length..max_reply_length long and match the pattern over the
// bytes both have; without one, any reply passes. Silence until
// connect_timeout passes too, unless require_reply is set.
std::unique_ptr<Probe> make_udp_probe(const config::Checker& checker, const ProbeContext& context);

// PING_CHECK: one ICMP (ICMPv6) echo request on a raw socket connected to
// connect_ip; the echo reply with this probe's identifier and this attempt's
// sequence passes, an ICMP error or a send error fails, silence times out.
std::unique_ptr<Probe> make_ping_probe(const config::Checker& checker, const ProbeContext& context);

// DNS_CHECK: one query (random id, RD, the type and name, class IN) over
// UDP. An answer to that question with RCODE NOERROR passes, with no answer
// records too (keepalived looks at the RCODE only); another RCODE or another
// question fails; datagrams with another id, or that are no answer, are
// ignored.
std::unique_ptr<Probe> make_dns_probe(const config::Checker& checker, const ProbeContext& context);

// MISC_CHECK: misc_path run through context.children, killed at misc_timeout.
// Exit 0 passes; with misc_dynamic, 2..255 passes too and sets the weight to
// the status - 2. Anything else fails, and so does a script that cannot start.
std::unique_ptr<Probe> make_misc_probe(const config::Checker& checker, const ProbeContext& context);

}  // namespace lbd::check
