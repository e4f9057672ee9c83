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
#include "util/parallel.h"
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
// counters refer to, and its rings. The next apply() keeps those the config
// still has. An adopted ring whose fingerprint in ring_inputs matches what
// the config gives is kept as it is; any other is built again and written
// over in place.
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
                                         uint64_t inputs = 0;
                                         bpf_map_lookup_elem(bpf_map__fd(skel_->maps.ring_inputs), &meta.vip_id,
                                                             &inputs);
                                         vips_.emplace(VipKey{k.addr, k.port, k.proto},
                                                       Vip{meta.vip_id, meta, {}, true,
                                                           RingMap::adopt(bpf_map__fd(skel_->maps.rings),
                                                                          meta.vip_id, meta.ring_size),
                                                           inputs});
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

void Dataplane::add_real(const RealKey& key, uint32_t index) {
    Real r{index, key, std::nullopt};
    zero_counters(bpf_map__fd(skel_->maps.real_stats), r.index);
    const int64_t no_conns = 0;
    update(bpf_map__fd(skel_->maps.real_conns), &r.index, &no_conns, "reset real_conns");
    write_real(r, true);
    reals_.emplace(key, r);
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
}

// Slot -> index into `reals` of a service's ring (ring_changed, picks).
std::vector<uint32_t> Dataplane::ring_table(const Plan& p, const Plan::Service& s) const {
    std::vector<maglev::Backend> backends;
    std::vector<uint32_t> indexes;
    for (const auto& [key, weight] : s.weights) {
        backends.push_back({key.name(), weight});
        indexes.push_back(planned_index(p, key));
    }
    std::vector<uint32_t> table = maglev::build(backends, s.meta.ring_size);
    for (uint32_t& slot : table)
        slot = indexes[slot];
    return table;
}

uint32_t Dataplane::planned_index(const Plan& p, const RealKey& key) const {
    auto added = p.added.find(key);
    return added != p.added.end() ? added->second : reals_.at(key).index;
}

namespace {

// What a ring is built from, hashed (FNV-1a): its size and, in order, each
// real's Maglev name, weight and index in `reals`. Never 0, which
// ring_inputs keeps for "unknown".
class InputsHash {
public:
    void add(const void* data, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            h_ ^= static_cast<const unsigned char*>(data)[i];
            h_ *= 0x100000001b3ULL;
        }
    }
    void add(uint32_t v) { add(&v, sizeof(v)); }
    void add(const std::string& s) {
        add(static_cast<uint32_t>(s.size()));
        add(s.data(), s.size());
    }
    uint64_t value() const { return h_ ? h_ : 1; }

private:
    uint64_t h_ = 0xcbf29ce484222325ULL;
};

// The services of a plan that `want`, grouped by their ring's inputs (reals,
// weights, size): each group's table is built once. Many services of a
// config often share one pool of reals.
template <class Service, class Want>
std::vector<std::vector<Service*>> ring_groups(std::vector<Service>& services, Want&& want) {
    std::map<std::pair<decltype(Service::weights), uint32_t>, size_t> group_of;
    std::vector<std::vector<Service*>> groups;
    for (auto& s : services) {
        if (!want(s))
            continue;
        auto [it, fresh] = group_of.try_emplace({s.weights, s.meta.ring_size}, groups.size());
        if (fresh)
            groups.emplace_back();
        groups[it->second].push_back(&s);
    }
    return groups;
}

}  // namespace

// A service without a ring of its size (new, resized, or with no real to
// pick before) gets a new map, made and filled here, at plan time: it is
// not yet anything the program reads. Maglev tables take some 1.5-3 ms each
// at 65537 slots, so they are built on every CPU.
void Dataplane::make_new_rings(Plan& p) const {
    auto groups = ring_groups(p.services, [](const Plan::Service& s) { return s.ring_changed && s.picks && !s.in_place; });
    parallel_for(groups.size(), [&](size_t g) {
        const std::vector<uint32_t> table = ring_table(p, *groups[g].front());
        for (Plan::Service* s : groups[g]) {
            RingMap ring = RingMap::create(s->meta.ring_size);
            ring.write(table);
            s->new_ring = std::move(ring);
        }
    });
}

// Ids come from the plan's copies of the pools: the running ones are
// untouched until the commit.
Dataplane::Plan Dataplane::plan(const std::vector<config::VirtualServer>& services, bool build) const {
    Plan p{vip_ids_, real_ids_, {}, {}, {}, {}, {}};
    for (const auto& [key, served] : config::nat_reply_keys(services))
        if (served.size() > 1)
            p.per_flow.insert({key.addr, key.port, static_cast<uint8_t>(config::ip_protocol(key.proto))});
    std::set<VipKey> wanted;
    for (const auto& vs : services)
        wanted.insert({vs.addr, vs.port, vs.proto});
    for (const auto& [key, vip] : vips_)
        if (!wanted.contains(key)) {
            p.removed.push_back(key);
            p.vip_ids.release(vip.id);
        }
    plan_reals(p, services);
    std::map<VipKey, uint32_t> planned;
    for (const auto& vs : services) {
        const VipKey key{vs.addr, vs.port, vs.proto};
        Plan::Service s = plan_service(p, vs, build);
        if (auto it = planned.find(key); it != planned.end()) {
            s.id = it->second;
            s.fresh = false;
        } else if (s.fresh) {
            auto id = p.vip_ids.take();
            if (!id)
                throw std::runtime_error(fmt::format("{} virtual services, the data plane has room for {}",
                                                     wanted.size(), LBD_MAX_VIPS));
            s.id = *id;
        }
        s.meta.vip_id = s.id;
        planned.emplace(key, s.id);
        p.services.push_back(std::move(s));
    }
    if (build)
        make_new_rings(p);
    return p;
}

void Dataplane::plan_reals(Plan& p, const std::vector<config::VirtualServer>& services) const {
    std::set<RealKey> next;
    for (const auto& vs : services)
        for (const auto& rs : vs.reals)
            next.insert(real_key(vs, rs));
    // The rings of the services that stay pick these until they are swapped;
    // a ring a previous run left may pick any of its reals.
    std::set<RealKey> in_rings;
    for (const auto& [key, vip] : vips_) {
        if (std::find(p.removed.begin(), p.removed.end(), key) != p.removed.end())
            continue;
        if (vip.adopted)
            for (const auto& [real, r] : reals_)
                in_rings.insert(real);
        for (const auto& [real, weight] : vip.weights)
            in_rings.insert(real);
    }
    for (const auto& [key, real] : reals_)
        if (!in_rings.contains(key) && !next.contains(key)) {
            p.freed_early.push_back(key);
            p.real_ids.release(real.index);
        }
    for (const auto& key : next) {
        if (reals_.contains(key))
            continue;
        auto index = p.real_ids.take();
        if (!index) {
            std::set<RealKey> peak = in_rings;
            peak.insert(next.begin(), next.end());
            throw std::runtime_error(fmt::format(
                "{} real servers at once ({} in the new services, and those the rings of the services that stay "
                "pick until they are replaced), the data plane has room for {}; make the change in two reloads",
                peak.size(), next.size(), LBD_MAX_REALS));
        }
        p.added.emplace(key, *index);
    }
}

Dataplane::Plan::Service Dataplane::plan_service(const Plan& p, const config::VirtualServer& vs, bool build) const {
    Plan::Service s;
    s.vs = &vs;
    const auto running = vips_.find({vs.addr, vs.port, vs.proto});
    s.fresh = running == vips_.end();
    if (!s.fresh)
        s.id = running->second.id;
    if (!build)
        return s;
    s.meta.flags = vs.hash_source ? LBD_VIP_F_HASH_SRC : 0;
    if (config::least_connection(vs))
        s.meta.flags |= LBD_VIP_F_LEAST_CONN;
    s.meta.ring_size = options_.ring_size;
    s.meta.mode = vs.mode == config::Mode::TUN   ? LBD_MODE_TUN
                  : vs.mode == config::Mode::NAT ? LBD_MODE_NAT
                                                 : LBD_MODE_DR;
    for (const auto& rs : vs.reals)
        s.weights.emplace_back(real_key(vs, rs), rs.weight);
    s.ring_changed = s.fresh || s.weights != running->second.weights ||
                     s.meta.ring_size != running->second.meta.ring_size;
    s.picks = std::any_of(s.weights.begin(), s.weights.end(), [](const auto& w) { return w.second > 0; });
    if (s.picks) {
        InputsHash h;
        h.add(s.meta.ring_size);
        for (const auto& [key, weight] : s.weights) {
            h.add(key.name());
            h.add(weight);
            h.add(planned_index(p, key));
        }
        s.inputs = h.value();
    }
    // A ring a previous run left, built from what the config gives: kept.
    if (!s.fresh && running->second.adopted && running->second.ring && s.inputs != 0 &&
        running->second.inputs == s.inputs && running->second.ring->slots() == s.meta.ring_size)
        s.ring_changed = false;
    if (s.ring_changed) {
        // What the build at commit could throw, thrown now.
        std::vector<maglev::Backend> backends;
        for (const auto& [key, weight] : s.weights)
            backends.push_back({key.name(), weight});
        maglev::check(backends, s.meta.ring_size);
        s.in_place = s.picks && !s.fresh && running->second.ring &&
                     running->second.ring->slots() == s.meta.ring_size;
    }
    const bool meta_changed = s.fresh || s.meta.flags != running->second.meta.flags ||
                              s.meta.mode != running->second.meta.mode ||
                              s.meta.ring_size != running->second.meta.ring_size;
    // lc / wlc: the reals a new flow may go to, with their weights (lc: 1
    // each); a real of weight 0 takes no new flows.
    if ((s.ring_changed || meta_changed) && (s.meta.flags & LBD_VIP_F_LEAST_CONN)) {
        lbd_lc_set set{};
        for (const auto& [key, weight] : s.weights) {
            if (weight == 0)
                continue;
            if (set.count == LBD_LC_MAX_REALS)
                throw std::runtime_error(fmt::format("VS {}: lb_algo {} with more than {} reals",
                                                     config::service_name(vs.addr, vs.port, vs.proto), vs.algo,
                                                     LBD_LC_MAX_REALS));
            set.members[set.count++] = {planned_index(p, key), vs.algo == "wlc" ? weight : 1};
        }
        s.lc = set;
    }
    return s;
}

// The plan's rings, once the reals they pick are written. A running ring
// of the right size is rewritten in place, only its slots that differ (the
// table built again; services that share their reals share one build, and
// builds run on every CPU). New rings go into `rings` in one batch update:
// after each update of a map of maps the kernel waits for an RCU grace
// period (some 16 ms here) so that no program still runs with the old inner
// map, and a ring at a time made a start with 512 services wait 8 s.
// When a rewrite took the last slot from some real, the flows of that real
// are purged, or the real removed, only after such a wait too: a packet
// that read the old slot is through by then.
void Dataplane::write_rings(Plan& p) {
    // A ring's fingerprint is unknown while it is rewritten: a daemon killed
    // meanwhile leaves a ring its successor will not trust.
    for (const auto& s : p.services)
        if (s.in_place)
            write_ring_inputs(s.id, 0);
    auto groups = ring_groups(p.services, [](const Plan::Service& s) { return s.in_place; });
    parallel_for(groups.size(), [&](size_t g) {
        const std::vector<uint32_t> table = ring_table(p, *groups[g].front());
        for (Plan::Service* s : groups[g])
            s->written = vips_.at({s->vs->addr, s->vs->port, s->vs->proto}).ring->write(table);
    });
    const bool dropped = std::any_of(p.services.begin(), p.services.end(),
                                     [](const Plan::Service& s) { return s.in_place && s.written.dropped; });
    bool waited = false;
    const int outer = bpf_map__fd(skel_->maps.rings);
    std::vector<uint32_t> ids;
    std::vector<int> fds;
    for (const auto& s : p.services)
        if (s.new_ring) {
            ids.push_back(s.id);
            fds.push_back(s.new_ring->fd());
        }
    if (!ids.empty()) {
        __u32 count = static_cast<__u32>(ids.size());
        if (bpf_map_update_batch(outer, ids.data(), fds.data(), &count, nullptr) < 0)
            throw std::runtime_error(fmt::format("cannot put {} rings in ({} done): {}", ids.size(), count,
                                                 strerror(errno)));
        waited = true;
    }
    for (const auto& s : p.services)
        if (s.ring_changed && !s.picks && bpf_map_delete_elem(outer, &s.id) == 0)
            waited = true;
    for (const auto& s : p.services)
        if (s.ring_changed)
            write_ring_inputs(s.id, s.inputs);
    if (dropped && !waited)
        wait_for_readers();
}

void Dataplane::write_ring_inputs(uint32_t vip_id, uint64_t inputs) {
    update(bpf_map__fd(skel_->maps.ring_inputs), &vip_id, &inputs, "ring_inputs");
}

// Rewriting one entry of `rings` with the ring it holds returns after an RCU
// grace period, as every update of a map of maps does.
void Dataplane::wait_for_readers() {
    for (const auto& [key, vip] : vips_)
        if (vip.ring) {
            const int fd = vip.ring->fd();
            update(bpf_map__fd(skel_->maps.rings), &vip.id, &fd, "rings (to wait for readers)");
            return;
        }
}

void Dataplane::commit_service(Plan::Service& s) {
    const config::VirtualServer& vs = *s.vs;
    const std::string name = config::service_name(vs.addr, vs.port, vs.proto);
    Vip& vip = vips_[{vs.addr, vs.port, vs.proto}];
    if (s.fresh) {
        vip.id = s.id;
        zero_counters(bpf_map__fd(skel_->maps.vip_stats), vip.id);
    }
    const bool meta_changed = s.fresh || memcmp(&s.meta, &vip.meta, sizeof(s.meta)) != 0;
    // A real that leaves this service takes its flows through it along,
    // once the new ring no longer picks it; its other services keep theirs.
    std::set<RealKey> staying;
    for (const auto& [key, weight] : s.weights)
        staying.insert(key);
    std::set<uint32_t> leaving;
    for (const auto& [key, weight] : vip.weights)
        if (!staying.contains(key))
            leaving.insert(reals_.at(key).index);
    vip.meta = s.meta;
    vip.weights = std::move(s.weights);
    vip.inputs = s.inputs;
    if (s.new_ring)
        vip.ring = std::move(s.new_ring);
    else if (s.ring_changed && !s.picks)
        vip.ring.reset();
    // Before the flag that makes the program read it.
    if (s.lc)
        update(bpf_map__fd(skel_->maps.lc_sets), &vip.id, &*s.lc, "lc_sets");
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
    if (s.fresh) {
        log::info("Adding service {} to VS (id {}, {} reals)", name, vip.id, vs.reals.size());
    } else if (was_adopted) {
        log::info("Keeping service {} of the previous lbd (id {}, {} reals)", name, vip.id, vs.reals.size());
    } else if (s.in_place) {
        log::info("VS {}: real servers changed, {} of {} ring slots rewritten", name, s.written.changed,
                  vip.ring->slots());
    } else if (s.ring_changed) {
        log::info("VS {}: real servers changed, ring {}", name, s.picks ? "replaced" : "emptied");
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
    write_ring_inputs(vip.id, 0);
    log::info("Removing VS {}", config::service_name(addr, port, proto));
}

// nat_reverse4/6 hold exactly the reply keys that name one NAT service
// (config/nat.h); the program looks there only while some service is NAT.
void Dataplane::write_nat(const std::vector<config::VirtualServer>& services) {
    std::map<config::NatReplyKey, lbd_nat_service> want;
    bool any = false;
    for (const auto& [key, served] : config::nat_reply_keys(services)) {
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
    apply_locked(services);
}

void Dataplane::check_capacity(const std::vector<config::VirtualServer>& services) const {
    std::vector<config::VirtualServer> whole = services;
    for (auto& vs : whole)
        if (vs.sorry_server) {
            config::RealServer sorry;
            sorry.addr = vs.sorry_server->addr;
            sorry.port = vs.sorry_server->port;
            vs.reals.push_back(sorry);
        }
    std::lock_guard lock(apply_mutex_);
    plan(whole, false);
}

void Dataplane::update_service(const config::VirtualServer& vs, const std::set<config::IpAddr>& drop_flows) {
    std::lock_guard lock(apply_mutex_);
    auto same = [&](const config::VirtualServer& s) {
        return s.addr == vs.addr && s.port == vs.port && s.proto == vs.proto;
    };
    auto next = services_;
    auto it = std::find_if(next.begin(), next.end(), same);
    if (it == next.end())
        return;  // gone with a reload
    *it = vs;
    apply_locked(next);
    const Vip& vip = vips_.at({vs.addr, vs.port, vs.proto});
    std::set<uint32_t> indexes;
    for (const auto& [key, weight] : vip.weights)
        if (drop_flows.contains(key.addr))
            indexes.insert(reals_.at(key).index);
    purge_flows(vip.id, indexes);
}

void Dataplane::apply_locked(const std::vector<config::VirtualServer>& services) {
    Plan p = plan(services, true);
    services_ = services;
    commit(p, services_);
}

// In the plan's order, which is the order its ids were taken in.
void Dataplane::commit(Plan& p, const std::vector<config::VirtualServer>& services) {
    // Reals whose replies need their flow, before their entries are written.
    if (p.per_flow != nat_per_flow_) {
        nat_per_flow_ = std::move(p.per_flow);
        for (const auto& [key, real] : reals_)
            write_real(real, true);
    }
    for (const auto& key : p.removed) {
        remove_vip(key, vips_.at(key));
        vips_.erase(key);
    }
    const auto drop_real = [this](const RealKey& key) {
        log::info("Removing real server {}", key.display());
        remove_real(reals_.at(key));
        reals_.erase(key);
    };
    for (const auto& key : p.freed_early)
        drop_real(key);
    for (const auto& [key, index] : p.added)
        add_real(key, index);
    write_rings(p);
    for (auto& s : p.services)
        commit_service(s);
    write_nat(services);
    vip_ids_ = std::move(p.vip_ids);
    real_ids_ = std::move(p.real_ids);
    // The reals that left services that stay go last: by now no ring picks them.
    std::set<RealKey> used;
    for (const auto& [key, vip] : vips_)
        for (const auto& [real, weight] : vip.weights)
            used.insert(real);
    std::vector<RealKey> unused;
    for (const auto& [key, real] : reals_)
        if (!used.contains(key))
            unused.push_back(key);
    for (const auto& key : unused) {
        real_ids_.release(reals_.at(key).index);
        drop_real(key);
    }
    // New reals (and adopted ones) need their next hops now; the others'
    // are refreshed every second anyway, at a route lookup per real.
    if (std::any_of(reals_.begin(), reals_.end(), [](const auto& r) { return !r.second.hop; }))
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
