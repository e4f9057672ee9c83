#include "vrrp/virtual_router.h"

#include "util/log.h"
#include "util/netif.h"
#include "vrrp/address_manager.h"

#include <fmt/format.h>

#include <sys/socket.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace lbd::vrrp {
namespace {

std::string prefix(const config::VrrpInstance& cfg) { return fmt::format("VRRP_Instance({})", cfg.name); }

int interface_index(const config::VrrpInstance& cfg) {
    // lbd receives adverts in the XDP program of one interface; keepalived
    // would pick a unicast instance's interface from the route to its peers.
    if (cfg.interface.empty())
        throw std::runtime_error(fmt::format("{}: lbd needs `interface`: adverts are received by the XDP "
                                             "program on it",
                                             prefix(cfg)));
    return netif::lookup(cfg.interface).ifindex;
}

// unicast_src_ip or mcast_src_ip (keepalived keeps one source for both),
// else the interface's primary address (IPv6: its link-local, RFC 5798
// 5.1.2.1).
IpAddr advert_source(const config::VrrpInstance& cfg, int ifindex) {
    std::optional<IpAddr> src = cfg.unicast_src_ip ? cfg.unicast_src_ip : cfg.mcast_src_ip;
    if (!src) src = primary_address(ifindex, cfg.family);
    if (!src)
        throw std::runtime_error(fmt::format("{}: {} has no {} address to send adverts from (set {})", prefix(cfg),
                                             cfg.interface, config::family_name(cfg.family),
                                             cfg.unicast_peers.empty() ? "mcast_src_ip" : "unicast_src_ip"));
    if (src->family != cfg.family)
        throw std::runtime_error(fmt::format("{}: advert source {} is not {}", prefix(cfg), src->str(),
                                             config::family_name(cfg.family)));
    return *src;
}

Advert advert_of(const config::VrrpInstance& cfg) {
    Advert a;
    a.version = cfg.version;
    a.vrid = cfg.vrid;
    a.family = cfg.family;
    a.max_advert_int_cs = static_cast<uint16_t>(cfg.advert_int_cs);
    for (const auto& v : cfg.virtual_addresses) a.addresses.push_back(v.prefix.addr);
    if (cfg.auth_pass_enabled) {
        a.auth_type = kAuthPass;
        a.auth_pass = cfg.auth_pass;
    }
    return a;
}

}  // namespace

VirtualRouter::VirtualRouter(const config::VrrpInstance& cfg, size_t index, uint32_t channel_id, RouterEnv env)
    : cfg_(cfg),
      index_(index),
      channel_id_(channel_id),
      env_(std::move(env)),
      ifindex_(interface_index(cfg)),
      garp_(GarpSettings::from(cfg)),
      instance_(Settings::from(cfg, advert_source(cfg, ifindex_)), *this) {
    const netif::Interface iface = netif::lookup(cfg.interface);
    const Mac vmac_address = virtual_mac(cfg.vrid, cfg.family);
    address_ifindex_ = ifindex_;
    std::string address_ifname = cfg.interface;
    if (cfg.use_vmac) {
        const std::string name = cfg.vmac_name.empty() ? fmt::format("vrrp.{}", cfg.vrid) : cfg.vmac_name;
        vmac_ = std::make_unique<Vmac>(ifindex_, name, vmac_address);
        address_ifindex_ = vmac_->ifindex();
        address_ifname = name;
    }
    ipv6_router_ = cfg.family == AF_INET6 && ipv6_forwarding(address_ifname);
    owned_ = cfg.virtual_addresses;
    owned_.insert(owned_.end(), cfg.excluded_addresses.begin(), cfg.excluded_addresses.end());

    ChannelInstance c;
    c.id = channel_id;
    c.ifindex = ifindex_;
    c.advert = advert_of(cfg);
    c.src = advert_source(cfg, ifindex_);
    src_ = c.src;
    // keepalived sends from the interface's MAC unless use_vmac (and then
    // from the parent's with vmac_xmit_base); announcements carry the MAC
    // the VIPs answer with.
    c.src_mac = cfg.use_vmac && !cfg.vmac_xmit_base ? vmac_address : iface.mac;
    c.announce_mac = cfg.use_vmac ? vmac_address : iface.mac;
    for (const auto& p : cfg.unicast_peers) c.unicast_peers.push_back(p.addr);
    c.live_frames = env_.dataplane.native(ifindex_);
    try {
        env_.dataplane.wire().configure(c);
        if (c.unicast_peers.empty()) env_.dataplane.wire().join(ifindex_, vrrp_group(cfg.family));
    } catch (const std::exception& e) {
        env_.dataplane.wire().remove(channel_id);
        throw std::runtime_error(fmt::format("{}: {}", prefix(cfg), e.what()));
    }
    log::info("{}: VRID {} on {}, adverts from {} ({}){}", prefix(cfg), cfg.vrid, cfg.interface, c.src.str(),
              c.live_frames ? "sent by XDP" : "sent through AF_PACKET: generic XDP cannot transmit",
              c.unicast_peers.empty() ? "" : fmt::format(", unicast to {} peers", c.unicast_peers.size()));
}

VirtualRouter::~VirtualRouter() { env_.dataplane.wire().remove(channel_id_); }

void VirtualRouter::log(std::string line) { log::info("{}", line); }

void VirtualRouter::report(const std::vector<std::string>& errors, const char* what) {
    for (const auto& e : errors) log::warn("{}: {}: {}", prefix(cfg_), what, e);
}

void VirtualRouter::send_advert(uint8_t priority) {
    ++adverts_sent_;
    // Taken before the send: the lease counts from no later than the frame left.
    const TimePoint attempted = Clock::now();
    const auto errors = env_.dataplane.wire().send_advert(channel_id_, priority, static_cast<uint16_t>(cfg_.advert_int_cs));
    if (errors.empty()) last_confirmed_advert_ = attempted;
    // At 10 ms a failing send would flood the log: say it when it changes.
    std::string summary = errors.empty() ? std::string() : errors.front();
    if (summary != last_send_error_) {
        if (summary.empty())
            log::info("{}: adverts are sent again", prefix(cfg_));
        else
            log::warn("{}: cannot send advert: {}", prefix(cfg_), summary);
        last_send_error_ = std::move(summary);
    }
}

void VirtualRouter::keep_serving() {
    for (const auto& v : owned_) env_.dataplane.set_owned(v.prefix.addr, true);
}

void VirtualRouter::take_addresses() {
    report(env_.addresses.add(owned_, address_ifindex_), "adding address");
    report(env_.addresses.add_routes(cfg_.virtual_routes, address_ifindex_), "adding route");
    report(env_.addresses.add_rules(cfg_.virtual_rules), "adding rule");
    for (const auto& v : owned_) env_.dataplane.set_owned(v.prefix.addr, true);
    const TimePoint now = Clock::now();
    garp_.start(now);
    announce(now);
}

// Serving stops first, so no packet is forwarded for an address already gone.
void VirtualRouter::release_addresses() {
    garp_.stop();
    for (const auto& v : owned_) env_.dataplane.set_owned(v.prefix.addr, false);
    report(env_.addresses.remove_rules(cfg_.virtual_rules), "removing rule");
    report(env_.addresses.remove_routes(cfg_.virtual_routes, address_ifindex_), "removing route");
    report(env_.addresses.remove(owned_, address_ifindex_), "removing address");
}

// One gratuitous ARP or unsolicited NA per address on the instance's own
// link for each announcement due. Addresses on another `dev` are announced
// by the kernel's own ARP/ND only: the tx program sends on this interface.
void VirtualRouter::announce(TimePoint now) {
    for (uint32_t n = garp_.due(now); n > 0; --n)
        for (const auto& v : owned_) {
            if (!v.dev.empty() && v.dev != cfg_.interface) continue;
            const IpAddr& a = v.prefix.addr;
            report(a.family == AF_INET ? env_.dataplane.wire().send_garp(channel_id_, a)
                                       : env_.dataplane.wire().send_na(channel_id_, a, ipv6_router_),
                   "announcing");
        }
}

VirtualRouter::Continued VirtualRouter::continued() const {
    return {instance_.state(), since_unix_ms_, transitions_, adverts_sent_, adverts_received_};
}

void VirtualRouter::drop_what_is_not_in(const config::VrrpInstance& next) {
    if (instance_.state() != State::MASTER) return;
    auto listed = [&](const config::VirtualAddress& v) {
        auto same = [&](const config::VirtualAddress& n) { return n.prefix == v.prefix && n.dev == v.dev; };
        return std::any_of(next.virtual_addresses.begin(), next.virtual_addresses.end(), same) ||
               std::any_of(next.excluded_addresses.begin(), next.excluded_addresses.end(), same);
    };
    std::vector<config::VirtualAddress> gone;
    for (const auto& v : owned_)
        if (!listed(v)) gone.push_back(v);
    for (const auto& v : gone) {
        env_.dataplane.set_owned(v.prefix.addr, false);
        log::info("{} removing {}: no longer in the configuration", prefix(cfg_), v.prefix.str());
    }
    report(env_.addresses.remove_rules(missing_from(cfg_.virtual_rules, next.virtual_rules)), "removing rule");
    report(env_.addresses.remove_routes(missing_from(cfg_.virtual_routes, next.virtual_routes), address_ifindex_),
           "removing route");
    report(env_.addresses.remove(gone, address_ifindex_), "removing address");
}

void VirtualRouter::notify(State s) {
    if (continued_) {
        const bool same = continued_->state == s;
        since_unix_ms_ = continued_->since_unix_ms;
        transitions_ = continued_->transitions;
        adverts_sent_ += continued_->adverts_sent;
        adverts_received_ += continued_->adverts_received;
        continued_.reset();
        if (same) return;
    }
    ++transitions_;
    since_unix_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    env_.notifier.instance_state(cfg_, s, instance_.priority());
    env_.changed(index_, s);
}

// keepalived vrrp_check_packet: the advert must list exactly our addresses.
std::optional<std::string> VirtualRouter::address_mismatch(const Advert& advert) const {
    if (advert.addresses.size() != cfg_.virtual_addresses.size())
        return fmt::format("expected {} VIPs but received {}", cfg_.virtual_addresses.size(), advert.addresses.size());
    for (const auto& v : cfg_.virtual_addresses)
        if (std::find(advert.addresses.begin(), advert.addresses.end(), v.prefix.addr) == advert.addresses.end())
            return fmt::format("ip address associated with VRID {} not present in MASTER advert : {}", cfg_.vrid,
                               v.prefix.addr.str());
    return std::nullopt;
}

void VirtualRouter::on_packet(TimePoint at, std::span<const uint8_t> packet) {
    const auto decoded = decode_packet(packet, cfg_.auth_pass_enabled ? cfg_.auth_pass : std::string());
    std::string rejection;
    if (const auto* reject = std::get_if<Reject>(&decoded)) {
        rejection = fmt::format("advert rejected: {}", to_string(*reject));
    } else {
        const Received& r = std::get<Received>(decoded);
        const bool known_master = last_master_ && *last_master_ == r.src;
        if (!(cfg_.skip_check_adv_addr && known_master))
            if (auto why = address_mismatch(r.advert))
                rejection = fmt::format("{} (from {}): ignoring received advertisement", *why, r.src.str());
        if (rejection.empty()) {
            last_rejection_.clear();
            last_master_ = r.src;
            ++adverts_received_;
            instance_.on_advert(at, {r.advert.priority, r.advert.max_advert_int_cs, r.src});
            return;
        }
    }
    if (rejection != last_rejection_) log::info("{} {}", prefix(cfg_), rejection);
    last_rejection_ = std::move(rejection);
}

void VirtualRouter::on_timer(TimePoint now) {
    instance_.on_timer(now);
    announce(now);
}

InstanceStatus VirtualRouter::status(const std::string& group) const {
    InstanceStatus st;
    st.name = cfg_.name;
    st.state = instance_.state();
    st.interface = cfg_.interface;
    st.vrid = cfg_.vrid;
    st.priority = cfg_.priority;
    st.effective_priority = instance_.priority();
    if (instance_.state() == State::MASTER)
        st.master = src_.str();
    else if (instance_.state() == State::BACKUP && last_master_)
        st.master = last_master_->str();
    for (const auto& v : owned_) st.vips.push_back(v.prefix.str());
    st.since_unix_ms = since_unix_ms_;
    st.transitions = transitions_;
    st.adverts_sent = adverts_sent_;
    st.adverts_received = adverts_received_;
    st.group = group;
    return st;
}

std::optional<TimePoint> VirtualRouter::next_deadline() const {
    auto a = instance_.next_deadline();
    auto b = garp_.next_deadline();
    if (!a) return b;
    if (!b) return a;
    return std::min(*a, *b);
}

}  // namespace lbd::vrrp
