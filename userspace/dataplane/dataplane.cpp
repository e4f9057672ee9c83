#include "dataplane/dataplane.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <netinet/in.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "dataplane/maglev.h"
#include "lb.skel.h"
#include "util/bpffs.h"
#include "util/log.h"
#include "util/netif.h"

namespace lbd::dataplane {
namespace {

void check(int err, const std::string& what) {
    if (err < 0)
        throw std::runtime_error(fmt::format("{}: {}", what, strerror(-err)));
}

void update(int fd, const void* key, const void* value, const std::string& what) {
    if (bpf_map_update_elem(fd, key, value, BPF_ANY) < 0)
        throw std::runtime_error(fmt::format("{}: {}", what, strerror(errno)));
}

lbd_vip_key vip_key(const config::IpAddr& addr, uint16_t port, config::Proto proto) {
    lbd_vip_key k{};
    memcpy(k.addr.bytes, addr.bytes.data(), sizeof(k.addr.bytes));
    k.port = htons(port);
    k.proto = proto == config::Proto::TCP ? IPPROTO_TCP : IPPROTO_UDP;
    k.family = static_cast<__u8>(addr.family);
    return k;
}

lbd_vip_key4 vip_key4(const lbd_vip_key& k) {
    lbd_vip_key4 k4{};
    k4.addr = k.addr.v4;
    k4.port = k.port;
    k4.proto = k.proto;
    return k4;
}

// An (address, port, protocol) as vips4/vips6 and nat_reverse4/6 key it.
struct Service {
    IpAddr addr;
    uint16_t port = 0;  // host order
    config::Proto proto = config::Proto::TCP;
};

Service service_of(const lbd_vip_key& k) {
    Service s;
    s.addr.family = k.family;
    memcpy(s.addr.bytes.data(), k.addr.bytes, s.addr.bytes.size());
    s.port = ntohs(k.port);
    s.proto = k.proto == IPPROTO_TCP ? config::Proto::TCP : config::Proto::UDP;
    return s;
}

// fn(service, value) for every entry of a pair of maps keyed as vips4 (fd4,
// lbd_vip_key4) and vips6 (fd6, lbd_vip_key) are.
template <class Value, class Fn>
void walk_service_keyed(int fd4, int fd6, Fn&& fn) {
    {
        lbd_vip_key4 key{}, next{};
        const void* prev = nullptr;
        while (bpf_map_get_next_key(fd4, prev, &next) == 0) {
            Value v{};
            if (bpf_map_lookup_elem(fd4, &next, &v) == 0) {
                lbd_vip_key k{};
                k.addr.v4 = next.addr;
                k.port = next.port;
                k.proto = next.proto;
                k.family = LBD_AF_INET;
                fn(service_of(k), v);
            }
            key = next;
            prev = &key;
        }
    }
    lbd_vip_key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd6, prev, &next) == 0) {
        Value v{};
        if (bpf_map_lookup_elem(fd6, &next, &v) == 0)
            fn(service_of(next), v);
        key = next;
        prev = &key;
    }
}

constexpr const char* kProgName = "lbd_lb";  // its SEC("xdp") function in bpf/lb.bpf.c

const char* mode_name(int mode) { return mode == XDP_MODE_NATIVE ? "native" : "generic"; }

// Pins of our ABI version are adopted; anything else under the directory is
// a previous lbd's that this one cannot read: removed, with a word why.
bool adoptable(const std::string& dir) {
    std::error_code ec;
    if (std::filesystem::is_empty(dir, ec) || ec)
        return false;
    UniqueFd abi(bpf_obj_get((dir + "/" LBD_PIN_ABI).c_str()));
    lbd_abi_info info{};
    const __u32 zero = 0;
    if (!abi || bpf_map_lookup_elem(abi.get(), &zero, &info) != 0) {
        log::warn("maps under {} carry no ABI version: starting from empty maps", dir);
        return false;
    }
    if (info.version != LBD_ABI_VERSION) {
        log::warn("maps under {} are of ABI version {}, this lbd's is {}: starting from empty maps", dir,
                  info.version, LBD_ABI_VERSION);
        return false;
    }
    return true;
}

}  // namespace

std::string pin_dir(const std::string& instance) { return std::string(LBD_PIN_ROOT) + "/" + instance; }

std::string Dataplane::RealKey::name() const {
    return port == 0 ? addr.str() : fmt::format("[{}]:{}", addr.str(), port);
}

std::string Dataplane::RealKey::display() const {
    return proto == 0 ? fmt::format("[{}]", addr.str()) : lbd::service_name(addr, proto, port);
}

Dataplane::RealKey Dataplane::real_key(const config::VirtualServer& vs, const config::RealServer& rs) {
    if (vs.mode != config::Mode::NAT) return {rs.addr, 0, 0};
    const config::NatReplyKey k = config::reply_key(vs, rs);
    return {k.addr, k.port, static_cast<uint8_t>(config::ip_protocol(k.proto))};
}

Dataplane::Dataplane(Options options)
    : options_(std::move(options)), pin_dir_(dataplane::pin_dir(options_.instance)) {
    ensure_pin_dir(pin_dir_);
    adopted_ = adoptable(pin_dir_);
    if (!adopted_)
        remove_pin_dir(pin_dir_);
    try {
        load();
    } catch (const std::exception& e) {
        // libbpf refuses a pinned map whose type or sizes differ from the
        // object's: a previous run with other map sizes.
        if (!adopted_)
            throw;
        log::warn("cannot adopt the maps under {} ({}): starting from empty maps", pin_dir_, e.what());
        adopted_ = false;
        remove_pin_dir(pin_dir_);
        load();
    }
    try {
        if (adopted_) {
            adopt();
        } else {
            lbd_abi_info info{LBD_ABI_VERSION, 0};
            const __u32 zero = 0;
            update(bpf_map__fd(skel_->maps.abi), &zero, &info, "abi");
        }
        skel_->bss->ct_guard_rate = options_.flood_guard;
        census_ = std::make_unique<FlowCensus>(FlowCensus::Options{
            pin_dir_, std::chrono::seconds(2), skel_->rodata->ct_idle_tcp_ns, skel_->rodata->ct_idle_udp_ns});
        for (const auto& name : options_.interfaces)
            attach(name);
    } catch (...) {
        census_.reset();
        teardown();
        throw;
    }
}

Dataplane::~Dataplane() {
    census_.reset();
    teardown();
}

void Dataplane::set_flood_guard(uint32_t per_cpu_per_second) { skel_->bss->ct_guard_rate = per_cpu_per_second; }

FlowCounts Dataplane::flow_counts() const { return census_->counts(); }

// The object is loaded here rather than by libxdp's attach: a replacing
// attach needs the program's descriptor first.
void Dataplane::load() {
    ensure_pin_dir(pin_dir_);
    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_dir_.c_str());
    skel_ = lbd_lb__open_opts(&open_opts);
    if (!skel_)
        throw std::runtime_error(fmt::format("cannot open the lb program: {}", strerror(errno)));
    // The kernel marks every devmap BPF_F_RDONLY_PROG, which libbpf 1.1's
    // check of a pinned map takes for a mismatch: tx_ports is pinned and
    // reused here instead.
    const std::string tx_pin = pin_dir_ + "/" LBD_PIN_TX_PORTS;
    bpf_map__set_pin_path(skel_->maps.tx_ports, nullptr);
    for (bpf_map* table : {skel_->maps.conntrack4, skel_->maps.conntrack6, skel_->maps.conntrack_udp4,
                           skel_->maps.conntrack_udp6})
        check(bpf_map__set_max_entries(table, options_.conntrack_size), "size the flow tables");
    bool tx_reused = false;
    if (adopted_) {
        UniqueFd tx(bpf_obj_get(tx_pin.c_str()));
        tx_reused = tx && bpf_map__reuse_fd(skel_->maps.tx_ports, tx.get()) == 0;
    }
    int err = lbd_lb__load(skel_);
    if (!err && !tx_reused)
        err = bpf_map__pin(skel_->maps.tx_ports, tx_pin.c_str());
    if (err) {
        lbd_lb__destroy(skel_);
        skel_ = nullptr;
        throw std::runtime_error(fmt::format("cannot load the lb program: {}", strerror(-err)));
    }
    unresolved_ = ring_buffer__new(bpf_map__fd(skel_->maps.nat_unresolved), on_unresolved, this, nullptr);
    if (!unresolved_) {
        lbd_lb__destroy(skel_);
        skel_ = nullptr;
        throw std::runtime_error(fmt::format("cannot read nat_unresolved: {}", strerror(errno)));
    }
    prog_ = xdp_program__from_fd(bpf_program__fd(skel_->progs.lbd_lb));
    if (long err = libxdp_get_error(prog_); err) {
        prog_ = nullptr;
        ring_buffer__free(unresolved_);
        unresolved_ = nullptr;
        lbd_lb__destroy(skel_);
        skel_ = nullptr;
        char msg[256];
        libxdp_strerror(static_cast<int>(err), msg, sizeof(msg));
        throw std::runtime_error(fmt::format("cannot create the lb XDP program: {}", msg));
    }
}

int Dataplane::unresolved_fd() const { return ring_buffer__epoll_fd(unresolved_); }

int Dataplane::on_unresolved(void* ctx, void* data, size_t size) {
    if (size < sizeof(lbd_nat_unresolved)) return 0;
    const auto* r = static_cast<const lbd_nat_unresolved*>(data);
    IpAddr hop;
    hop.family = r->family;
    memcpy(hop.bytes.data(), r->addr.bytes, hop.bytes.size());
    static_cast<Dataplane*>(ctx)->unresolved_hops_.push_back(hop);
    return 0;
}

void Dataplane::resolve_unresolved() {
    unresolved_hops_.clear();
    ring_buffer__consume(unresolved_);
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(apply_mutex_);
    for (const auto& hop : unresolved_hops_) {
        auto [it, fresh] = kicked_.try_emplace(hop, now);
        if (!fresh && now - it->second < std::chrono::seconds(1))
            continue;
        it->second = now;
        neighbours_.resolve(hop);
        log::debug("NAT reply toward {}: asked the kernel to resolve the next hop", hop.str());
    }
    // Bounded: the addresses of a second or so of unresolved clients.
    if (kicked_.size() > LBD_NAT_UNRESOLVED_BYTES / sizeof(lbd_nat_unresolved))
        kicked_.clear();
}

void Dataplane::teardown() noexcept {
    for (const auto& a : attachments_) {
        int err = 0;
        if (a.replaced) {
            // Only while the program there is still ours.
            LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = bpf_program__fd(skel_->progs.lbd_lb));
            const __u32 mode = a.mode == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
            err = bpf_xdp_detach(a.ifindex, mode | XDP_FLAGS_REPLACE, &opts);
        } else {
            err = xdp_program__detach(prog_, a.ifindex, static_cast<xdp_attach_mode>(a.mode), 0);
        }
        if (err)
            log::warn("cannot detach the lb program from {}: {}", a.name, strerror(-err));
    }
    attachments_.clear();
    if (prog_)
        xdp_program__close(prog_);
    prog_ = nullptr;
    ring_buffer__free(unresolved_);
    unresolved_ = nullptr;
    if (skel_)
        lbd_lb__destroy(skel_);
    skel_ = nullptr;
    remove_pin_dir(pin_dir_);
}

// A daemon that was killed leaves its program attached, serving from the
// pinned maps, until the next one takes its place: in one step
// (XDP_FLAGS_REPLACE), so no packet meets an interface without it. Anything
// else on the interface is not ours to replace.
bool Dataplane::replace_stale(int ifindex, const std::string& ifname) {
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    if (bpf_xdp_query(ifindex, 0, &q) < 0 || q.prog_id == 0)
        return false;
    UniqueFd old(bpf_prog_get_fd_by_id(q.prog_id));
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (!old || bpf_obj_get_info_by_fd(old.get(), &info, &len) < 0 || std::string_view(info.name) != kProgName)
        return false;
    const bool skb = q.attach_mode == XDP_ATTACHED_SKB;
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old.get());
    const __u32 flags = (skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE) | XDP_FLAGS_REPLACE;
    check(bpf_xdp_attach(ifindex, bpf_program__fd(skel_->progs.lbd_lb), flags, &opts),
          fmt::format("cannot replace the lb program a previous lbd left on {}", ifname));
    const int mode = skb ? XDP_MODE_SKB : XDP_MODE_NATIVE;
    attachments_.push_back({ifindex, ifname, mode, true});
    log::info("{}: lb program of the previous lbd replaced in place ({} mode)", ifname, mode_name(mode));
    return true;
}

void Dataplane::attach(const std::string& ifname) {
    netif::Interface i = netif::lookup(ifname);
    if (replace_stale(i.ifindex, ifname)) {
        add_iface(i.ifindex);
        return;
    }
    int err = xdp_program__attach(prog_, i.ifindex, XDP_MODE_NATIVE, 0);
    int mode = XDP_MODE_NATIVE;
    if (err) {
        log::warn("{}: native XDP refused ({}); using generic mode, which is slower", ifname,
                  strerror(-err));
        mode = XDP_MODE_SKB;
        err = xdp_program__attach(prog_, i.ifindex, XDP_MODE_SKB, 0);
    }
    check(err, fmt::format("cannot attach the lb program to {}", ifname));
    attachments_.push_back({i.ifindex, ifname, mode});
    log::info("lb program attached to {} in {} mode", ifname, mode_name(mode));
    add_iface(i.ifindex);
}

// What the previous run's maps say it had handed out: the ids of its
// virtual services and the indexes of its reals, which its flows and
// counters refer to. The next apply() keeps those the config still has.
// Ring inputs are not in the maps: each adopted ring is built again, from
// the same weights to the same table.
void Dataplane::adopt() {
    for (uint32_t index = 0; index < LBD_MAX_REALS; ++index) {
        lbd_real r{};
        if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.reals), &index, &r) != 0 || r.family == 0)
            continue;
        IpAddr addr;
        addr.family = r.family;
        memcpy(addr.bytes.data(), r.addr.bytes, addr.bytes.size());
        const RealKey key{addr, ntohs(r.port), r.proto};
        real_ids_.claim(index);
        reals_.emplace(key, Real{index, key, std::nullopt});
        if (r.flags & LBD_REAL_F_NAT_PER_FLOW)
            nat_per_flow_.insert(key);
    }
    walk_service_keyed<lbd_vip_meta>(bpf_map__fd(skel_->maps.vips4), bpf_map__fd(skel_->maps.vips6),
                                     [&](const Service& k, const lbd_vip_meta& meta) {
                                         if (meta.mode == LBD_MODE_NAT)
                                             skel_->bss->nat_in_use = 1;
                                         vip_ids_.claim(meta.vip_id);
                                         vips_.emplace(VipKey{k.addr, k.port, k.proto},
                                                       Vip{meta.vip_id, meta, {}, true});
                                     });
    walk_service_keyed<lbd_nat_service>(
        bpf_map__fd(skel_->maps.nat_reverse4), bpf_map__fd(skel_->maps.nat_reverse6),
        [&](const Service& k, const lbd_nat_service& v) {
            nat_reverse_.emplace(config::NatReplyKey{k.addr, k.port, k.proto}, v);
        });
    log::info("adopted the maps under {}: {} virtual services, {} real servers, their flows and counters",
              pin_dir_, vips_.size(), reals_.size());
}

bool Dataplane::native(int ifindex) const {
    for (const auto& a : attachments_)
        if (a.ifindex == ifindex)
            return a.mode == XDP_MODE_NATIVE;
    return false;
}

// Every interface a packet may leave by needs its MAC, MTU and tunnel
// sources in `ifaces` and a slot in the devmap for redirects.
const lbd_iface& Dataplane::add_iface(int ifindex) {
    if (auto it = ifaces_.find(ifindex); it != ifaces_.end())
        return it->second;
    char name[IF_NAMESIZE] = {};
    if (!if_indextoname(static_cast<unsigned>(ifindex), name))
        throw std::runtime_error(fmt::format("interface index {} vanished", ifindex));
    netif::Interface i = netif::lookup(name);
    lbd_iface v{};
    memcpy(v.mac, i.mac.data(), sizeof(v.mac));
    v.mtu = i.mtu;
    if (auto src = options_.tunnel_source4 ? options_.tunnel_source4 : i.ipv4)
        memcpy(&v.tun_src4, src->bytes.data(), 4);
    if (auto src = options_.tunnel_source6 ? options_.tunnel_source6 : i.ipv6)
        memcpy(v.tun_src6, src->bytes.data(), 16);
    auto key = static_cast<__u32>(ifindex);
    update(bpf_map__fd(skel_->maps.ifaces), &key, &v, fmt::format("ifaces[{}]", name));
    update(bpf_map__fd(skel_->maps.tx_ports), &key, &key, fmt::format("tx_ports[{}]", name));
    return ifaces_.emplace(ifindex, v).first->second;
}

void Dataplane::write_real(const Real& r, bool up) {
    lbd_real v{};
    memcpy(v.addr.bytes, r.key.addr.bytes.data(), sizeof(v.addr.bytes));
    v.family = static_cast<__u8>(r.key.addr.family);
    v.port = htons(r.key.port);
    v.proto = r.key.proto;
    v.flags = up ? LBD_REAL_F_UP : 0;
    if (nat_per_flow_.contains(r.key))
        v.flags |= LBD_REAL_F_NAT_PER_FLOW;
    if (r.hop) {
        v.flags |= LBD_REAL_F_NEIGH;
        v.ifindex = static_cast<__u32>(r.hop->ifindex);
        memcpy(v.mac, r.hop->mac.data(), sizeof(v.mac));
        v.egress = add_iface(r.hop->ifindex);
    }
    update(bpf_map__fd(skel_->maps.reals), &r.index, &v, fmt::format("reals[{}]", r.key.name()));
}

void Dataplane::zero_counters(int fd, uint32_t index) {
    std::vector<lbd_counters> zero(static_cast<size_t>(libbpf_num_possible_cpus()));
    update(fd, &index, zero.data(), "reset counters");
}

uint32_t Dataplane::add_real(const RealKey& key) {
    if (auto it = reals_.find(key); it != reals_.end())
        return it->second.index;
    auto index = real_ids_.take();
    if (!index)
        throw std::runtime_error(fmt::format("too many real servers (max {})", LBD_MAX_REALS));
    Real r{*index, key, std::nullopt};
    zero_counters(bpf_map__fd(skel_->maps.real_stats), r.index);
    const int64_t no_conns = 0;
    update(bpf_map__fd(skel_->maps.real_conns), &r.index, &no_conns, "reset real_conns");
    write_real(r, true);
    reals_.emplace(key, r);
    return r.index;
}

// Flows pinned to a real that is gone are picked again by the program (the
// real is no longer up); its index may be reused, so its entries go too.
void Dataplane::purge_flows_of_real(uint32_t index) { census_->purge_reals({index}); }

void Dataplane::purge_flows(uint32_t vip_id, const std::set<uint32_t>& real_indexes) {
    census_->purge(vip_id, real_indexes);
}

void Dataplane::write_vip_key(const lbd_vip_key& k, const lbd_vip_meta& meta, const std::string& name) {
    if (k.family == AF_INET) {
        lbd_vip_key4 k4 = vip_key4(k);
        update(bpf_map__fd(skel_->maps.vips4), &k4, &meta, "vips4" + name);
    } else {
        update(bpf_map__fd(skel_->maps.vips6), &k, &meta, "vips6" + name);
    }
}

void Dataplane::delete_vip_key(const lbd_vip_key& k) {
    if (k.family == AF_INET) {
        lbd_vip_key4 k4 = vip_key4(k);
        bpf_map_delete_elem(bpf_map__fd(skel_->maps.vips4), &k4);
    } else {
        bpf_map_delete_elem(bpf_map__fd(skel_->maps.vips6), &k);
    }
}

// Down first, so packets in flight re-pick; then its flows; then the entry.
void Dataplane::remove_real(const Real& r) {
    write_real(r, false);
    purge_flows_of_real(r.index);
    lbd_real gone{};
    update(bpf_map__fd(skel_->maps.reals), &r.index, &gone, "clear reals");
    real_ids_.release(r.index);
}

void Dataplane::install_ring(const Vip& vip) {
    std::vector<maglev::Backend> backends;
    std::vector<uint32_t> indexes;
    for (const auto& [key, weight] : vip.weights) {
        backends.push_back({key.name(), weight});
        indexes.push_back(reals_.at(key).index);
    }
    std::vector<uint32_t> table = maglev::build(backends, vip.meta.ring_size);
    int outer = bpf_map__fd(skel_->maps.rings);
    if (table.empty()) {
        bpf_map_delete_elem(outer, &vip.id);
        return;
    }
    std::vector<uint32_t> keys(table.size());
    for (uint32_t slot = 0; slot < table.size(); ++slot) {
        keys[slot] = slot;
        table[slot] = indexes[table[slot]];
    }
    // Flags must equal the template's in bpf/lb_maps.h for the swap to pass.
    LIBBPF_OPTS(bpf_map_create_opts, ring_opts, .map_flags = BPF_F_INNER_MAP);
    UniqueFd ring(bpf_map_create(BPF_MAP_TYPE_ARRAY, "lbd_ring", sizeof(uint32_t),
                                      sizeof(uint32_t), vip.meta.ring_size, &ring_opts));
    if (!ring)
        throw std::runtime_error(fmt::format("cannot create a ring map: {}", strerror(errno)));
    __u32 count = static_cast<__u32>(table.size());
    if (bpf_map_update_batch(ring.get(), keys.data(), table.data(), &count, nullptr) < 0)
        throw std::runtime_error(fmt::format("cannot fill a ring map: {}", strerror(errno)));
    int inner = ring.get();
    update(outer, &vip.id, &inner, "swap ring");
}

// lc / wlc: the reals a new flow may go to, with their weights (lc: 1 each);
// a real of weight 0 takes no new flows.
void Dataplane::install_lc_set(const Vip& vip, bool weighted) {
    lbd_lc_set set{};
    for (const auto& [key, weight] : vip.weights) {
        if (weight == 0)
            continue;
        if (set.count == LBD_LC_MAX_REALS)
            throw std::runtime_error(fmt::format("lb_algo lc/wlc: more than {} reals", LBD_LC_MAX_REALS));
        set.members[set.count++] = {reals_.at(key).index, weighted ? weight : 1};
    }
    update(bpf_map__fd(skel_->maps.lc_sets), &vip.id, &set, "lc_sets");
}

void Dataplane::add_or_update_vip(const config::VirtualServer& vs) {
    VipKey key{vs.addr, vs.port, vs.proto};
    std::string name = config::service_name(vs.addr, vs.port, vs.proto);
    auto [it, fresh] = vips_.try_emplace(key);
    Vip& vip = it->second;
    if (fresh) {
        auto id = vip_ids_.take();
        if (!id) {
            vips_.erase(it);
            throw std::runtime_error(fmt::format("too many virtual services (max {})", LBD_MAX_VIPS));
        }
        vip.id = *id;
        zero_counters(bpf_map__fd(skel_->maps.vip_stats), vip.id);
    }
    lbd_vip_meta meta{};
    meta.vip_id = vip.id;
    meta.flags = vs.hash_source ? LBD_VIP_F_HASH_SRC : 0;
    if (config::least_connection(vs))
        meta.flags |= LBD_VIP_F_LEAST_CONN;
    meta.ring_size = options_.ring_size;
    meta.mode = vs.mode == config::Mode::TUN ? LBD_MODE_TUN : vs.mode == config::Mode::NAT ? LBD_MODE_NAT : LBD_MODE_DR;
    std::vector<std::pair<RealKey, uint32_t>> weights;
    for (const auto& rs : vs.reals) {
        const RealKey key = real_key(vs, rs);
        add_real(key);
        weights.emplace_back(key, rs.weight);
    }
    bool ring_changed = fresh || weights != vip.weights || meta.ring_size != vip.meta.ring_size;
    bool meta_changed = fresh || memcmp(&meta, &vip.meta, sizeof(meta)) != 0;
    // A real that leaves this service takes its flows through it along,
    // once the new ring no longer picks it; its other services keep theirs.
    std::set<uint32_t> leaving;
    for (const auto& [key, weight] : vip.weights)
        if (std::none_of(weights.begin(), weights.end(), [&](const auto& w) { return w.first == key; }))
            leaving.insert(reals_.at(key).index);
    vip.meta = meta;
    vip.weights = std::move(weights);
    if (ring_changed)
        install_ring(vip);
    // Before the flag that makes the program read it.
    if ((ring_changed || meta_changed) && (meta.flags & LBD_VIP_F_LEAST_CONN))
        install_lc_set(vip, vs.algo == "wlc");
    const bool was_adopted = std::exchange(vip.adopted, false);
    purge_flows(vip.id, leaving);
    lbd_vip_key k = vip_key(vs.addr, vs.port, vs.proto);
    if (meta_changed)
        write_vip_key(k, vip.meta, name);
    {
        // Written every time: a reload may hand the address to VRRP or take it back.
        std::lock_guard lock(owned_mutex_);
        vip_ids_by_addr_[vs.addr].insert(vip.id);
        write_vip_active(vip.id, vs.addr);
        write_vip_addr(vs.addr, true);
    }
    if (fresh) {
        log::info("Adding service {} to VS (id {}, {} reals)", name, vip.id, vs.reals.size());
    } else if (was_adopted) {
        log::info("Keeping service {} of the previous lbd (id {}, {} reals)", name, vip.id, vs.reals.size());
    } else if (ring_changed) {
        log::info("VS {}: real servers changed, ring rebuilt", name);
    }
}

void Dataplane::remove_vip(const VipKey& key, const Vip& vip) {
    const auto& [addr, port, proto] = key;
    lbd_vip_key k = vip_key(addr, port, proto);
    delete_vip_key(k);
    {
        std::lock_guard lock(owned_mutex_);
        if (auto it = vip_ids_by_addr_.find(addr); it != vip_ids_by_addr_.end() && it->second.erase(vip.id) &&
                                                   it->second.empty())
            vip_ids_by_addr_.erase(it);
        // Also for a service adopted from the previous run and gone from the config.
        if (!vip_ids_by_addr_.contains(addr))
            write_vip_addr(addr, false);
        lbd_vip_active off{};
        update(bpf_map__fd(skel_->maps.vip_active), &vip.id, &off, "vip_active");
    }
    bpf_map_delete_elem(bpf_map__fd(skel_->maps.rings), &vip.id);
    vip_ids_.release(vip.id);
    log::info("Removing VS {}", config::service_name(addr, port, proto));
}

// nat_reverse4/6 hold exactly the reply keys that name one NAT service
// (config/nat.h); the program looks there only while some service is NAT.
void Dataplane::write_nat() {
    std::map<config::NatReplyKey, lbd_nat_service> want;
    bool any = false;
    for (const auto& [key, served] : config::nat_reply_keys(services_)) {
        any = true;
        if (served.size() != 1)
            continue;
        const config::VirtualServer& vs = *served.front();
        lbd_nat_service v{};
        memcpy(v.vip.bytes, vs.addr.bytes.data(), sizeof(v.vip.bytes));
        v.port = htons(vs.port);
        v.vip_id = vips_.at({vs.addr, vs.port, vs.proto}).id;
        want.emplace(key, v);
    }
    for (const auto& [key, v] : nat_reverse_)
        if (!want.contains(key))
            write_nat_reverse(key, nullptr);
    for (const auto& [key, v] : want)
        if (auto it = nat_reverse_.find(key); it == nat_reverse_.end() || memcmp(&it->second, &v, sizeof(v)) != 0)
            write_nat_reverse(key, &v);
    nat_reverse_ = std::move(want);
    skel_->bss->nat_in_use = any ? 1 : 0;
}

// nat_reverse[key] = *value, or no entry for a null value.
void Dataplane::write_nat_reverse(const config::NatReplyKey& key, const lbd_nat_service* value) {
    const lbd_vip_key k = vip_key(key.addr, key.port, key.proto);
    const std::string what = fmt::format("nat_reverse[{}]", config::service_name(key.addr, key.port, key.proto));
    if (k.family == AF_INET) {
        const lbd_vip_key4 k4 = vip_key4(k);
        if (value)
            update(bpf_map__fd(skel_->maps.nat_reverse4), &k4, value, what);
        else
            bpf_map_delete_elem(bpf_map__fd(skel_->maps.nat_reverse4), &k4);
    } else if (value) {
        update(bpf_map__fd(skel_->maps.nat_reverse6), &k, value, what);
    } else {
        bpf_map_delete_elem(bpf_map__fd(skel_->maps.nat_reverse6), &k);
    }
}

bool Dataplane::serving(const config::IpAddr& addr) const {
    return !managed_.contains(addr) || owned_.contains(addr);
}

// vip_addrs: where a fragment the program cannot place is dropped rather
// than left to this node's kernel to answer.
void Dataplane::write_vip_addr(const IpAddr& addr, bool present) {
    lbd_fence_key k{};
    memcpy(k.addr.bytes, addr.bytes.data(), sizeof(k.addr.bytes));
    k.family = static_cast<__u8>(addr.family);
    const __u8 one = 1;
    if (present)
        update(bpf_map__fd(skel_->maps.vip_addrs), &k, &one, "vip_addrs[" + addr.str() + "]");
    else
        bpf_map_delete_elem(bpf_map__fd(skel_->maps.vip_addrs), &k);
}

void Dataplane::write_vip_active(uint32_t vip_id, const config::IpAddr& addr) {
    lbd_vip_active value{serving(addr) ? 1u : 0u, 0};
    if (auto it = managed_.find(addr); it != managed_.end())
        value.lease = it->second + 1;
    update(bpf_map__fd(skel_->maps.vip_active), &vip_id, &value, "vip_active");
}

void Dataplane::set_managed(Managed addresses) {
    std::lock_guard lock(owned_mutex_);
    managed_ = std::move(addresses);
    write_fence();
}

// vrrp_fence holds exactly the managed addresses (adopted maps may hold
// those of another config).
void Dataplane::write_fence() {
    const int fd = bpf_map__fd(skel_->maps.vrrp_fence);
    auto key_of = [](const config::IpAddr& addr) {
        lbd_fence_key k{};
        memcpy(k.addr.bytes, addr.bytes.data(), sizeof(k.addr.bytes));
        k.family = static_cast<__u8>(addr.family);
        return k;
    };
    std::vector<lbd_fence_key> stale;
    lbd_fence_key key{}, next{};
    const void* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        stale.push_back(next);
        key = next;
        prev = &key;
    }
    for (const auto& k : stale)
        bpf_map_delete_elem(fd, &k);
    for (const auto& [addr, instance] : managed_) {
        lbd_fence_key k = key_of(addr);
        update(fd, &k, &instance, fmt::format("vrrp_fence[{}]", addr.str()));
    }
}

void Dataplane::set_owned(const config::IpAddr& address, bool owned) {
    std::lock_guard lock(owned_mutex_);
    if (owned)
        owned_.insert(address);
    else
        owned_.erase(address);
    if (auto it = vip_ids_by_addr_.find(address); it != vip_ids_by_addr_.end())
        for (uint32_t id : it->second)
            write_vip_active(id, address);
}

void Dataplane::set_announce_lease(std::optional<std::chrono::steady_clock::time_point> expires) {
    const uint64_t ns = expires ? static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                            expires->time_since_epoch())
                                                            .count())
                                : 0;
    __atomic_store_n(&skel_->bss->announce_lease_ns, ns, __ATOMIC_RELAXED);
}

void Dataplane::apply(const std::vector<config::VirtualServer>& services) {
    std::lock_guard lock(apply_mutex_);
    services_ = services;
    apply_locked();
}

void Dataplane::update_service(const config::VirtualServer& vs, const std::set<config::IpAddr>& drop_flows) {
    std::lock_guard lock(apply_mutex_);
    auto same = [&](const config::VirtualServer& s) {
        return s.addr == vs.addr && s.port == vs.port && s.proto == vs.proto;
    };
    auto it = std::find_if(services_.begin(), services_.end(), same);
    if (it == services_.end())
        return;  // gone with a reload
    *it = vs;
    apply_locked();
    const Vip& vip = vips_.at({vs.addr, vs.port, vs.proto});
    std::set<uint32_t> indexes;
    for (const auto& [key, weight] : vip.weights)
        if (drop_flows.contains(key.addr))
            indexes.insert(reals_.at(key).index);
    purge_flows(vip.id, indexes);
}

void Dataplane::apply_locked() {
    const auto& services = services_;
    // Reals whose replies need their flow, before their entries are written.
    std::set<RealKey> per_flow;
    for (const auto& [key, served] : config::nat_reply_keys(services))
        if (served.size() > 1)
            per_flow.insert({key.addr, key.port, static_cast<uint8_t>(config::ip_protocol(key.proto))});
    if (per_flow != nat_per_flow_) {
        nat_per_flow_ = std::move(per_flow);
        for (const auto& [key, real] : reals_)
            write_real(real, true);
    }
    std::map<VipKey, bool> wanted;
    for (const auto& vs : services) {
        wanted[{vs.addr, vs.port, vs.proto}] = true;
        add_or_update_vip(vs);
    }
    for (auto it = vips_.begin(); it != vips_.end();) {
        if (wanted.contains(it->first)) {
            ++it;
            continue;
        }
        remove_vip(it->first, it->second);
        it = vips_.erase(it);
    }
    write_nat();
    // Reals go last: by now no ring points at them.
    std::set<RealKey> used;
    for (const auto& [key, vip] : vips_)
        for (const auto& [real, weight] : vip.weights)
            used.insert(real);
    for (auto it = reals_.begin(); it != reals_.end();) {
        if (used.contains(it->first)) {
            ++it;
            continue;
        }
        log::info("Removing real server {}", it->first.display());
        remove_real(it->second);
        it = reals_.erase(it);
    }
    refresh_locked();
}

void Dataplane::refresh_next_hops() {
    std::lock_guard lock(apply_mutex_);
    refresh_locked();
}

void Dataplane::refresh_locked() {
    neighbours_.refresh();
    for (auto& [key, real] : reals_) {
        std::optional<net::NextHop> hop = neighbours_.resolve(key.addr);
        if (hop == real.hop)
            continue;
        real.hop = hop;
        write_real(real, true);
        if (hop)
            log::debug("real server {} next hop on ifindex {}", key.name(), hop->ifindex);
    }
}

}  // namespace lbd::dataplane
