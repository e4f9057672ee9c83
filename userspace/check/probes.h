// The probe of each checker type; make_probe() (check/probe.h) picks one.
#pragma once

#include "check/probe.h"

#include <memory>

namespace lbd::check {

// ---- stream probes: TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK -----------------

// ---- datagram and script probes: UDP_CHECK, PING_CHECK, DNS_CHECK, MISC_CHECK --

}  // namespace lbd::check
