// The rtnetlink requests for one `ip rule` of static_rules or virtual_rules:
// libnl-route-3's rtnl_rule builds them, and what libnl 3.7 has no setter
// for (`not`, suppress_prefixlength, suppress_ifgroup, tunnel-id, uidrange)
// is put into the request it built. Add and delete carry the same
// attributes, so a delete matches only the rule the add made.
#pragma once

#include "config/model_vrrp.h"
#include "net/netlink.h"

#include <string>

namespace lbd::vrrp {

// add: NLM_F_EXCL, for the kernel otherwise adds a second, equal rule.
// Throws std::runtime_error when libnl cannot build it.
netlink::MsgPtr rule_request(const config::IpRule& rule, bool add);

// "rule 100: from 10.0.0.0/8 lookup 100", as `ip rule` lists it, for messages.
std::string describe(const config::IpRule& rule);

}  // namespace lbd::vrrp
