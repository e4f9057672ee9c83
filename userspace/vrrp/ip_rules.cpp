#include "vrrp/ip_rules.h"

#include <endian.h>
#include <linux/fib_rules.h>

#include <new>

#include <fmt/format.h>

namespace lbd::vrrp {
namespace {

uint8_t fr_action(config::RuleAction a) {
    switch (a) {
    case config::RuleAction::goto_: return FR_ACT_GOTO;
    case config::RuleAction::nop: return FR_ACT_NOP;
    case config::RuleAction::blackhole: return FR_ACT_BLACKHOLE;
    case config::RuleAction::unreachable: return FR_ACT_UNREACHABLE;
    case config::RuleAction::prohibit: return FR_ACT_PROHIBIT;
    case config::RuleAction::table:
    case config::RuleAction::l3mdev: break;
    }
    return FR_ACT_TO_TBL;
}

netlink::RulePtr rule_template(const config::IpRule& r) {
    netlink::RulePtr rule(rtnl_rule_alloc());
    if (!rule)
        throw std::bad_alloc();
    rtnl_rule* p = rule.get();
    rtnl_rule_set_family(p, r.family);
    rtnl_rule_set_prio(p, r.priority);
    if (r.from)
        netlink::check(rtnl_rule_set_src(p, netlink::address(r.from->addr, r.from->len).get()), "from");
    if (r.to)
        netlink::check(rtnl_rule_set_dst(p, netlink::address(r.to->addr, r.to->len).get()), "to");
    rtnl_rule_set_action(p, fr_action(r.action));
    if (r.action == config::RuleAction::table)
        rtnl_rule_set_table(p, r.table);
    if (r.action == config::RuleAction::goto_)
        rtnl_rule_set_goto(p, r.goto_target);
    if (r.action == config::RuleAction::l3mdev)
        rtnl_rule_set_l3mdev(p, 1);
    if (r.tos)
        rtnl_rule_set_dsfield(p, *r.tos);
    if (r.fwmark)
        rtnl_rule_set_mark(p, *r.fwmark);
    if (r.fwmask)
        rtnl_rule_set_mask(p, *r.fwmask);
    if (!r.iif.empty())
        netlink::check(rtnl_rule_set_iif(p, r.iif.c_str()), "iif");
    if (!r.oif.empty())
        netlink::check(rtnl_rule_set_oif(p, r.oif.c_str()), "oif");
    if (r.realms)
        rtnl_rule_set_realms(p, *r.realms);
    netlink::check(rtnl_rule_set_protocol(p, r.protocol), "protocol");
    if (r.ipproto)
        netlink::check(rtnl_rule_set_ipproto(p, *r.ipproto), "ipproto");
    if (r.sport)
        netlink::check(rtnl_rule_set_sport_range(p, static_cast<uint16_t>(r.sport->first),
                                                 static_cast<uint16_t>(r.sport->last)),
                       "sport");
    if (r.dport)
        netlink::check(rtnl_rule_set_dport_range(p, static_cast<uint16_t>(r.dport->first),
                                                 static_cast<uint16_t>(r.dport->last)),
                       "dport");
    return rule;
}

// What libnl 3.7 cannot set on an rtnl_rule, into the request it built.
void put_beyond_libnl(nl_msg* msg, const config::IpRule& r) {
    if (r.invert)
        static_cast<fib_rule_hdr*>(nlmsg_data(nlmsg_hdr(msg)))->flags |= FIB_RULE_INVERT;
    if (r.suppress_prefixlength)
        netlink::check(nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, *r.suppress_prefixlength), "suppress_prefixlength");
    if (r.suppress_ifgroup)
        netlink::check(nla_put_u32(msg, FRA_SUPPRESS_IFGROUP, *r.suppress_ifgroup), "suppress_ifgroup");
    if (r.tunnel_id)
        netlink::check(nla_put_u64(msg, FRA_TUN_ID, htobe64(*r.tunnel_id)), "tunnel-id");
    if (r.uidrange) {
        const fib_rule_uid_range range{r.uidrange->first, r.uidrange->last};
        netlink::check(nla_put(msg, FRA_UID_RANGE, sizeof range, &range), "uidrange");
    }
}

std::string action_text(const config::IpRule& r) {
    switch (r.action) {
    case config::RuleAction::table: return fmt::format("lookup {}", r.table);
    case config::RuleAction::goto_: return fmt::format("goto {}", r.goto_target);
    case config::RuleAction::nop: return "nop";
    case config::RuleAction::blackhole: return "blackhole";
    case config::RuleAction::unreachable: return "unreachable";
    case config::RuleAction::prohibit: return "prohibit";
    case config::RuleAction::l3mdev: return "lookup [l3mdev-table]";
    }
    return "?";
}

}  // namespace

netlink::MsgPtr rule_request(const config::IpRule& rule, bool add) {
    const netlink::RulePtr tmpl = rule_template(rule);
    nl_msg* raw = nullptr;
    netlink::check(add ? rtnl_rule_build_add_request(tmpl.get(), NLM_F_EXCL, &raw)
                       : rtnl_rule_build_delete_request(tmpl.get(), 0, &raw));
    netlink::MsgPtr msg(raw);
    put_beyond_libnl(msg.get(), rule);
    return msg;
}

std::string describe(const config::IpRule& r) {
    std::string s = fmt::format("rule {}: {}from {}", r.priority, r.invert ? "not " : "",
                                r.from ? r.from->str() : "all");
    if (r.to) s += " to " + r.to->str();
    if (r.fwmark) s += r.fwmask ? fmt::format(" fwmark {:#x}/{:#x}", *r.fwmark, *r.fwmask) : fmt::format(" fwmark {:#x}", *r.fwmark);
    if (!r.iif.empty()) s += " iif " + r.iif;
    if (!r.oif.empty()) s += " oif " + r.oif;
    return s + " " + action_text(r);
}

}  // namespace lbd::vrrp
