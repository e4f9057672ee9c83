// Once the whole file is read: VRRP instances take what they left out from
// global_defs, and what spans blocks is checked (names that refer to other
// blocks, VRIDs shared on a link, address families).
#include "config/interpret.h"
#include "config/nat.h"
#include "lbd_abi.h"

#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace lbd::config::detail {
namespace {

// RFC 5798 5.2.7: Max Advertise Interval is 12 bits of centiseconds.
constexpr uint32_t kMaxAdvertV3 = 4095;
// RFC 3768 5.3.7: Adver Int is 8 bits of seconds.
constexpr uint32_t kMaxAdvertV2Seconds = 255;

std::string centiseconds_text(uint32_t cs) {
    return seconds_text(Duration(int64_t{cs} * 10'000));
}

const Location& where_or(const InstanceDraft& d, const std::string& kw) {
    const Location* loc = d.where(kw);
    return loc != nullptr ? *loc : d.instance.loc;
}

// The family of the addresses the instance advertises; IPv4 when it has none.
void settle_family(InstanceDraft& d) {
    VrrpInstance& v = d.instance;
    if (!v.virtual_addresses.empty()) {
        const VirtualAddress& first = v.virtual_addresses.front();
        v.family = first.prefix.addr.family;
        for (const VirtualAddress& a : v.virtual_addresses)
            if (a.prefix.addr.family != v.family)
                throw ConfigError(a.loc, fmt::format("virtual_ipaddress {} is {} but vrrp_instance {} is {} "
                                                     "(its first address, at {}); other families go in "
                                                     "virtual_ipaddress_excluded",
                                                     a.prefix.addr.str(), family_name(a.prefix.addr.family),
                                                     v.name, family_name(v.family), to_string(first.loc)));
    } else if (v.unicast_src_ip) {
        v.family = v.unicast_src_ip->family;
    } else if (v.mcast_src_ip) {
        v.family = v.mcast_src_ip->family;
    } else if (!v.unicast_peers.empty()) {
        v.family = v.unicast_peers.front().addr.family;
    } else {
        v.family = AF_INET;
    }
    const auto same_family = [&](const std::optional<IpAddr>& addr, const std::string& kw) {
        if (addr && addr->family != v.family)
            throw ConfigError(where_or(d, kw),
                              fmt::format("{} {} is {} but vrrp_instance {} is {}", kw, addr->str(),
                                          family_name(addr->family), v.name, family_name(v.family)));
    };
    same_family(v.unicast_src_ip, "unicast_src_ip");
    same_family(v.mcast_src_ip, "mcast_src_ip");
    for (const UnicastPeer& peer : v.unicast_peers)
        if (peer.addr.family != v.family)
            throw ConfigError(peer.loc,
                              fmt::format("unicast_peer {} is {} but vrrp_instance {} is {}", peer.addr.str(),
                                          family_name(peer.addr.family), v.name, family_name(v.family)));
}

// keepalived: version from the instance, else IPv6 runs 3, else global vrrp_version.
void settle_version(InstanceDraft& d, const GlobalDefs& g, Warnings& warnings) {
    VrrpInstance& v = d.instance;
    if (const Location* loc = d.where("version")) {
        if (v.version == 2 && v.family == AF_INET6)
            throw ConfigError(*loc, fmt::format("vrrp_instance {}: version 2 cannot carry IPv6 addresses "
                                                "(RFC 3768 is IPv4 only); use version 3",
                                                v.name));
    } else {
        v.version = v.family == AF_INET6 ? 3 : g.vrrp_version;
    }
    const Location& loc = where_or(d, "advert_int");
    const std::string text = centiseconds_text(v.advert_int_cs);
    if (v.version == 2) {
        if (v.advert_int_cs % 100 != 0 || v.advert_int_cs == 0 || v.advert_int_cs / 100 > kMaxAdvertV2Seconds)
            throw ConfigError(loc,
                              fmt::format("advert_int {} is out of range for VRRP version 2: whole seconds "
                                          "1..{}",
                                          text, kMaxAdvertV2Seconds));
    } else if (v.advert_int_cs == 0 || v.advert_int_cs > kMaxAdvertV3) {
        throw ConfigError(loc, fmt::format("advert_int {} is out of range 0.01..{} for VRRP version 3", text,
                                           centiseconds_text(kMaxAdvertV3)));
    }
    if (v.version == 3 && v.auth_pass_enabled) {
        warn(where_or(d, "authentication"), "authentication is ignored with VRRP version 3 (RFC 5798 has none)",
             warnings);
        v.auth_pass_enabled = false;
    }
}

// What the instance did not write comes from global_defs.
void inherit(InstanceDraft& d, const GlobalDefs& g) {
    VrrpInstance& v = d.instance;
    const auto unset = [&](const char* kw) { return d.where(kw) == nullptr; };
    if (unset("garp_master_delay")) v.garp_master_delay = g.vrrp_garp_master_delay;
    if (unset("garp_master_repeat")) v.garp_master_repeat = g.vrrp_garp_master_repeat;
    if (unset("garp_master_refresh")) v.garp_master_refresh = g.vrrp_garp_master_refresh;
    if (unset("garp_master_refresh_repeat")) v.garp_master_refresh_repeat = g.vrrp_garp_master_refresh_repeat;
    if (unset("garp_interval")) v.garp_interval = g.vrrp_garp_interval;
    if (unset("gna_interval")) v.gna_interval = g.vrrp_gna_interval;
    if (unset("strict_mode")) v.strict_mode = g.vrrp_strict;
    if (unset("skip_check_adv_addr")) v.skip_check_adv_addr = g.vrrp_skip_check_adv_addr;
    // keepalived: accept mode unless strict, where only the address owner accepts.
    if (unset("accept") && unset("no_accept")) v.accept = !v.strict_mode || v.priority == 255;
}

// RFC 5798 5.2.3: one VRID per virtual router on a link; keepalived allows a
// repeat only between unicast instances whose peers do not overlap.
void check_vrids(const std::vector<InstanceDraft>& drafts) {
    for (size_t i = 0; i < drafts.size(); ++i) {
        const VrrpInstance& b = drafts[i].instance;
        for (size_t j = 0; j < i; ++j) {
            const VrrpInstance& a = drafts[j].instance;
            if (a.vrid != b.vrid || a.interface != b.interface || a.family != b.family || a.interface.empty())
                continue;
            const bool disjoint_unicast =
                !a.unicast_peers.empty() && !b.unicast_peers.empty() &&
                std::none_of(a.unicast_peers.begin(), a.unicast_peers.end(), [&](const UnicastPeer& pa) {
                    return std::any_of(b.unicast_peers.begin(), b.unicast_peers.end(),
                                       [&](const UnicastPeer& pb) { return pa.addr == pb.addr; });
                });
            if (disjoint_unicast) continue;
            throw ConfigError(
                where_or(drafts[i], "virtual_router_id"),
                fmt::format("vrrp_instance {}: virtual_router_id {} is already used on {} ({}) by "
                            "vrrp_instance {} at {}",
                            b.name, b.vrid, b.interface, family_name(b.family), a.name, to_string(a.loc)));
        }
    }
}

template <class T>
bool defined(const std::vector<T>& list, const std::string& name) {
    return std::any_of(list.begin(), list.end(), [&](const T& x) { return x.name == name; });
}

void check_tracking(const Config& c, const std::vector<Tracked>& scripts, const std::vector<Tracked>& files) {
    for (const Tracked& t : scripts)
        if (!defined(c.vrrp_scripts, t.name))
            throw ConfigError(t.loc,
                              fmt::format("track_script {}: no vrrp_script {} is defined", t.name, t.name));
    for (const Tracked& t : files)
        if (!defined(c.track_files, t.name))
            throw ConfigError(t.loc, fmt::format("track_file {}: no track_file {} is defined", t.name, t.name));
}

void check_sync_groups(const Config& c) {
    std::map<std::string, const VrrpSyncGroup*> member_of;
    for (const VrrpSyncGroup& g : c.vrrp_sync_groups) {
        check_tracking(c, g.track_scripts, g.track_files);
        for (const VrrpSyncGroup::Member& m : g.members) {
            if (!defined(c.vrrp_instances, m.instance))
                throw ConfigError(m.loc, m.bare ? fmt::format("unknown keyword '{}' in vrrp_sync_group", m.instance)
                                                : fmt::format("vrrp_sync_group {}: no vrrp_instance {} is defined",
                                                              g.name, m.instance));
            const auto [it, inserted] = member_of.emplace(m.instance, &g);
            if (!inserted)
                throw ConfigError(m.loc, fmt::format("vrrp_instance {} is already in vrrp_sync_group {} ({})",
                                                     m.instance, it->second->name, to_string(it->second->loc)));
        }
    }
}

void check_file_checks(const Config& c) {
    for (const VirtualServer& vs : c.virtual_servers)
        for (const RealServer& real : vs.reals)
            for (const Checker& check : real.checkers)
                if (const auto* f = std::get_if<FileCheck>(&check.detail);
                    f && !defined(c.track_files, f->track_file))
                    throw ConfigError(check.loc,
                                      fmt::format("FILE_CHECK: no track_file {} is defined", f->track_file));
}

// keepalived: a static address without `dev` goes on default_interface, and
// so does a static route that names neither a device nor a gateway.
void settle_static_devices(Config& c) {
    for (VirtualAddress& a : c.static_addresses)
        if (a.dev.empty()) a.dev = c.global.default_interface;
    for (VirtualRoute& r : c.static_routes)
        if (r.dev.empty() && !r.via && r.type == RouteType::unicast) r.dev = c.global.default_interface;
}

// The data plane's id pools (bpf/lbd_abi.h) hold every virtual service and
// every real server of the file, so that no reload can run out half-way:
// a real is an address (DR, TUN) or, for NAT, what its replies come from;
// a sorry server counts, since the checkers may put it in.
void check_capacity(const Config& c) {
    if (c.virtual_servers.size() > LBD_MAX_VIPS) {
        const VirtualServer& vs = c.virtual_servers[LBD_MAX_VIPS];
        throw ConfigError(vs.loc, fmt::format("virtual_server {}: more than {} virtual services (the data plane's "
                                              "limit)",
                                              service_name(vs.addr, vs.port, vs.proto), LBD_MAX_VIPS));
    }
    std::set<std::tuple<IpAddr, uint16_t, int>> reals;
    const auto count = [&](const VirtualServer& vs, const RealServer& real) {
        if (vs.mode == Mode::NAT) {
            const NatReplyKey k = reply_key(vs, real);
            reals.emplace(k.addr, k.port, ip_protocol(k.proto));
        } else {
            reals.emplace(real.addr, 0, 0);
        }
        if (reals.size() > LBD_MAX_REALS)
            throw ConfigError(real.loc, fmt::format("real_server {}: more than {} real servers in all virtual "
                                                    "servers (the data plane's limit; a real is its address, "
                                                    "or for NAT its address and port)",
                                                    real.addr.str(), LBD_MAX_REALS));
    };
    for (const VirtualServer& vs : c.virtual_servers) {
        for (const RealServer& real : vs.reals) count(vs, real);
        if (vs.sorry_server) {
            RealServer sorry;
            sorry.addr = vs.sorry_server->addr;
            sorry.port = vs.sorry_server->port;
            sorry.loc = vs.sorry_server->loc;
            count(vs, sorry);
        }
    }
}

}  // namespace

void finish(Config& config, std::vector<InstanceDraft>& drafts) {
    settle_static_devices(config);
    for (InstanceDraft& d : drafts) {
        settle_family(d);
        settle_version(d, config.global, config.warnings);
        inherit(d, config.global);
    }
    check_vrids(drafts);
    for (InstanceDraft& d : drafts) config.vrrp_instances.push_back(std::move(d.instance));
    for (const VrrpInstance& v : config.vrrp_instances) check_tracking(config, v.track_scripts, v.track_files);
    check_sync_groups(config);
    check_file_checks(config);
    check_capacity(config);
}

}  // namespace lbd::config::detail
