#include "lb_fixture.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <sched.h>
#include <sys/cdefs.h>  // __always_inline for bpf/lib/hash.h
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "lb.skel.h"
#include "lib/hash.h"

namespace lbd::test {
namespace {

Status fail(int err, const std::string& what) {
    if (err > 0) err = -err;
    if (err == 0) err = -EINVAL;
    return {err, what + ": " + std::strerror(-err)};
}

Status bring_lo_up() {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail(errno, "socket for SIOCSIFFLAGS");
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    Status st;
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        st = fail(errno, "SIOCGIFFLAGS lo");
    } else {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) st = fail(errno, "SIOCSIFFLAGS lo up");
    }
    close(fd);
    return st;
}

}  // namespace

std::string bpf_skip_reason() {
    if (geteuid() != 0) return "BPF fixtures need root (BPF_PROG_TEST_RUN, unshare(CLONE_NEWNET))";
    return {};
}

Status enter_test_netns() {
    static std::once_flag once;
    static Status result;
    std::call_once(once, [] {
        if (unshare(CLONE_NEWNET) < 0) {
            result = fail(errno, "unshare(CLONE_NEWNET)");
            return;
        }
        result = bring_lo_up();
        if (result.ok() && if_nametoindex("lo") != 1)
            result = fail(ENODEV, "lo is not ifindex 1 in the new namespace");
    });
    return result;
}

RunResult test_run(int prog_fd, const Bytes& frame) {
    RunResult r;
    // Room for what a program may add in front (XDP headroom is 256 bytes).
    r.out.resize(frame.size() + 4096);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = r.out.data(),
                .data_size_in = static_cast<__u32>(frame.size()),
                .data_size_out = static_cast<__u32>(r.out.size()), .repeat = 1);
    int err = bpf_prog_test_run_opts(prog_fd, &opts);
    r.err = err < 0 ? -errno : 0;
    r.verdict = opts.retval;
    r.out.resize(r.err ? 0 : opts.data_size_out);
    return r;
}

const char* reason_name(uint32_t reason) {
#define LBD_REASON_NAME(id, name) \
    case id:                      \
        return name;
    switch (reason) { LBD_REASONS(LBD_REASON_NAME) }
#undef LBD_REASON_NAME
    return "?";
}

const char* xdp_verdict_name(uint32_t verdict) {
    switch (verdict) {
        case XDP_ABORTED: return "XDP_ABORTED";
        case XDP_DROP: return "XDP_DROP";
        case XDP_PASS: return "XDP_PASS";
        case XDP_TX: return "XDP_TX";
        case XDP_REDIRECT: return "XDP_REDIRECT";
    }
    return "?";
}

lbd_vip_key vip_key4(uint32_t addr, uint16_t port, uint8_t proto) {
    lbd_vip_key k{};
    k.addr.v4 = addr;
    k.port = htons(port);
    k.proto = proto;
    k.family = LBD_AF_INET;
    return k;
}

lbd_vip_key vip_key6(const Ip6& addr, uint16_t port, uint8_t proto) {
    lbd_vip_key k{};
    std::memcpy(k.addr.bytes, addr.data(), 16);
    k.port = htons(port);
    k.proto = proto;
    k.family = LBD_AF_INET6;
    return k;
}

lbd_real real4(uint32_t addr, const Mac& next_hop, uint32_t ifindex, uint8_t flags) {
    lbd_real r{};
    r.addr.v4 = addr;
    r.ifindex = ifindex;
    std::memcpy(r.mac, next_hop.data(), 6);
    r.family = LBD_AF_INET;
    r.flags = flags;
    return r;
}

lbd_real real6(const Ip6& addr, const Mac& next_hop, uint32_t ifindex, uint8_t flags) {
    lbd_real r{};
    std::memcpy(r.addr.bytes, addr.data(), 16);
    r.ifindex = ifindex;
    std::memcpy(r.mac, next_hop.data(), 6);
    r.family = LBD_AF_INET6;
    r.flags = flags;
    return r;
}

lbd_flow_key flow_key4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t proto) {
    lbd_flow_key k{};
    k.src.v4 = src;
    k.dst.v4 = dst;
    k.sport = htons(sport);
    k.dport = htons(dport);
    k.proto = proto;
    k.family = LBD_AF_INET;
    return k;
}

lbd_flow_key flow_key6(const Ip6& src, const Ip6& dst, uint16_t sport, uint16_t dport,
                       uint8_t proto) {
    lbd_flow_key k{};
    std::memcpy(k.src.bytes, src.data(), 16);
    std::memcpy(k.dst.bytes, dst.data(), 16);
    k.sport = htons(sport);
    k.dport = htons(dport);
    k.proto = proto;
    k.family = LBD_AF_INET6;
    return k;
}

uint32_t flow_hash(const lbd_flow_key& k) { return lbd_hash_flow(&k); }
uint32_t source_hash(const lbd_flow_key& k) { return lbd_hash_src(&k); }

LbFixture::LbFixture(const LbOptions& opts) {
    skel_ = lbd_lb__open();
    if (!skel_) {
        status_ = fail(errno, "lbd_lb__open");
        return;
    }
    bpf_map* map;
    bpf_object__for_each_map(map, skel_->obj) {
        int err = bpf_map__set_pin_path(map, nullptr);
        if (err) {
            status_ = fail(err, std::string("unpin map ") + bpf_map__name(map));
            return;
        }
    }
    for (bpf_map* ct : {skel_->maps.conntrack4, skel_->maps.conntrack6, skel_->maps.conntrack_udp4,
                        skel_->maps.conntrack_udp6, skel_->maps.half_open}) {
        int err = bpf_map__set_max_entries(ct, opts.conntrack_entries);
        if (err) {
            status_ = fail(err, "resize conntrack");
            return;
        }
    }
    if (opts.ct_idle_tcp_ns) skel_->rodata->ct_idle_tcp_ns = *opts.ct_idle_tcp_ns;
    if (opts.ct_idle_udp_ns) skel_->rodata->ct_idle_udp_ns = *opts.ct_idle_udp_ns;
    int err = lbd_lb__load(skel_);
    if (err) status_ = fail(err, "lbd_lb__load");
}

LbFixture::~LbFixture() { lbd_lb__destroy(skel_); }

Status LbFixture::update(int fd, const void* key, const void* value, const char* what) {
    if (!status_.ok()) return status_;
    if (bpf_map_update_elem(fd, key, value, BPF_ANY)) return fail(errno, what);
    return {};
}

Status LbFixture::add_vip(const lbd_vip_key& key, const lbd_vip_meta& meta, bool active) {
    Status st;
    if (key.family == LBD_AF_INET) {
        lbd_vip_key4 k4{key.addr.v4, key.port, key.proto, 0};
        st = update(bpf_map__fd(skel_->maps.vips4), &k4, &meta, "update vips4");
    } else {
        st = update(bpf_map__fd(skel_->maps.vips6), &key, &meta, "update vips6");
    }
    if (!st.ok()) return st;
    lbd_fence_key addr{};
    addr.addr = key.addr;
    addr.family = key.family;
    const uint8_t present = 1;
    st = update(bpf_map__fd(skel_->maps.vip_addrs), &addr, &present, "update vip_addrs");
    if (!st.ok()) return st;
    return set_vip_active(meta.vip_id, active);
}

Status LbFixture::set_vip_active(uint32_t vip_id, bool active, uint32_t lease) {
    lbd_vip_active v{active ? 1u : 0u, lease};
    return update(bpf_map__fd(skel_->maps.vip_active), &vip_id, &v, "update vip_active");
}

Status LbFixture::set_lease(uint32_t instance_id, uint64_t expires_ns, uint8_t state, uint8_t flags) {
    lbd_vrrp_lease l{};
    l.expires_ns = expires_ns;
    l.state = state;
    l.flags = flags;
    return update(bpf_map__fd(skel_->maps.vrrp_leases), &instance_id, &l, "update vrrp_leases");
}

Status LbFixture::set_fenced(const lbd_vip_key& addr, uint32_t instance_id) {
    lbd_fence_key k{};
    k.addr = addr.addr;
    k.family = addr.family;
    return update(bpf_map__fd(skel_->maps.vrrp_fence), &k, &instance_id, "update vrrp_fence");
}

Status LbFixture::set_real(uint32_t index, const lbd_real& real) {
    reals_[index] = real;
    return write_real(index, real);
}

Status LbFixture::write_real(uint32_t index, lbd_real real) {
    if (real.flags & LBD_REAL_F_NEIGH) {
        auto it = ifaces_.find(real.ifindex);
        if (it == ifaces_.end())
            real.flags &= ~LBD_REAL_F_NEIGH;
        else
            real.egress = it->second;
    }
    return update(bpf_map__fd(skel_->maps.reals), &index, &real, "update reals");
}

Status LbFixture::set_iface(uint32_t ifindex, const lbd_iface& iface) {
    ifaces_[ifindex] = iface;
    Status st = update(bpf_map__fd(skel_->maps.ifaces), &ifindex, &iface, "update ifaces");
    for (const auto& [index, real] : reals_)
        if (st.ok() && real.ifindex == ifindex)
            st = write_real(index, real);
    return st;
}

Status LbFixture::set_ring(uint32_t vip_id, const std::vector<uint32_t>& slots) {
    if (!status_.ok()) return status_;
    LIBBPF_OPTS(bpf_map_create_opts, copts, .map_flags = ring_map_flags);
    int inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "test_ring", sizeof(uint32_t),
                               sizeof(uint32_t), static_cast<uint32_t>(slots.size()), &copts);
    if (inner < 0) return fail(errno, "create inner ring map");
    Status st;
    for (uint32_t i = 0; i < slots.size() && st.ok(); ++i)
        if (bpf_map_update_elem(inner, &i, &slots[i], BPF_ANY)) st = fail(errno, "fill ring");
    if (st.ok() && bpf_map_update_elem(bpf_map__fd(skel_->maps.rings), &vip_id, &inner, BPF_ANY))
        st = fail(errno, "swap ring into rings");
    close(inner);  // the outer map holds its own reference
    return st;
}

Status LbFixture::clear_ring(uint32_t vip_id) {
    if (!status_.ok()) return status_;
    if (bpf_map_delete_elem(bpf_map__fd(skel_->maps.rings), &vip_id) && errno != ENOENT)
        return fail(errno, "delete ring");
    return {};
}

Status LbFixture::set_tx_port(uint32_t key, uint32_t ifindex) {
    return update(bpf_map__fd(skel_->maps.tx_ports), &key, &ifindex, "update tx_ports");
}

LbFixture::CtKey LbFixture::flow_keyed(const lbd_flow_key& key, int fd4, int fd6) {
    CtKey k;
    if (key.family == LBD_AF_INET) {
        k.fd = fd4;
        k.k4 = {key.src.v4, key.dst.v4, key.sport, key.dport, key.proto, {}};
    } else {
        k.fd = fd6;
        k.ptr = &key;
    }
    return k;
}

LbFixture::CtKey LbFixture::ct_key(const lbd_flow_key& key) const {
    if (key.proto == kProtoUdp)
        return flow_keyed(key, bpf_map__fd(skel_->maps.conntrack_udp4), bpf_map__fd(skel_->maps.conntrack_udp6));
    return flow_keyed(key, bpf_map__fd(skel_->maps.conntrack4), bpf_map__fd(skel_->maps.conntrack6));
}

Status LbFixture::set_nat_reverse(const lbd_vip_key& real, const lbd_nat_service& service) {
    if (real.family == LBD_AF_INET) {
        lbd_vip_key4 k4{real.addr.v4, real.port, real.proto, 0};
        return update(bpf_map__fd(skel_->maps.nat_reverse4), &k4, &service, "update nat_reverse4");
    }
    return update(bpf_map__fd(skel_->maps.nat_reverse6), &real, &service, "update nat_reverse6");
}

std::vector<lbd_nat_unresolved> LbFixture::unresolved() {
    std::vector<lbd_nat_unresolved> out;
    if (!status_.ok()) return out;
    auto take = [](void* ctx, void* data, size_t size) {
        if (size >= sizeof(lbd_nat_unresolved))
            static_cast<std::vector<lbd_nat_unresolved>*>(ctx)->push_back(*static_cast<lbd_nat_unresolved*>(data));
        return 0;
    };
    ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel_->maps.nat_unresolved), take, &out, nullptr);
    if (!rb) return out;
    ring_buffer__consume(rb);
    ring_buffer__free(rb);
    return out;
}

void LbFixture::set_nat_in_use(bool on) {
    if (status_.ok()) skel_->bss->nat_in_use = on ? 1 : 0;
}

void LbFixture::set_announce_lease(uint64_t expires_ns) {
    if (status_.ok()) skel_->bss->announce_lease_ns = expires_ns;
}

std::optional<lbd_nat_service> LbFixture::nat_reply(const lbd_flow_key& reply) const {
    if (!status_.ok()) return std::nullopt;
    CtKey k = flow_keyed(reply, bpf_map__fd(skel_->maps.nat_replies4), bpf_map__fd(skel_->maps.nat_replies6));
    lbd_nat_service v{};
    if (bpf_map_lookup_elem(k.fd, k.key(), &v)) return std::nullopt;
    return v;
}

Status LbFixture::put_flow(const lbd_flow_key& key, const lbd_flow& flow) {
    CtKey k = ct_key(key);
    return update(k.fd, k.key(), &flow, "update conntrack");
}

Status LbFixture::delete_flow(const lbd_flow_key& key) {
    if (!status_.ok()) return status_;
    CtKey k = ct_key(key);
    if (bpf_map_delete_elem(k.fd, k.key()) && errno != ENOENT)
        return fail(errno, "delete conntrack entry");
    return {};
}

int LbFixture::prog_fd() const {
    return status_.ok() ? bpf_program__fd(skel_->progs.lbd_lb) : -1;
}

RunResult LbFixture::run(const Bytes& frame) {
    if (!status_.ok()) return {status_.err, 0, {}};
    return test_run(bpf_program__fd(skel_->progs.lbd_lb), frame);
}

Status LbFixture::set_lc_set(uint32_t vip_id, const std::vector<lbd_lc_member>& members) {
    lbd_lc_set set{};
    set.count = static_cast<uint32_t>(members.size());
    std::copy(members.begin(), members.end(), set.members);
    return update(bpf_map__fd(skel_->maps.lc_sets), &vip_id, &set, "update lc_sets");
}

Status LbFixture::set_real_conns(uint32_t index, int64_t conns) {
    return update(bpf_map__fd(skel_->maps.real_conns), &index, &conns, "update real_conns");
}

int64_t LbFixture::real_conns(uint32_t index) const {
    int64_t n = 0;
    if (status_.ok()) bpf_map_lookup_elem(bpf_map__fd(skel_->maps.real_conns), &index, &n);
    return n;
}

void LbFixture::set_guard_rate(uint32_t per_cpu_per_second) {
    if (status_.ok()) skel_->bss->ct_guard_rate = per_cpu_per_second;
}

std::optional<lbd_flow> LbFixture::half_open(const lbd_flow_key& key) const {
    if (!status_.ok()) return std::nullopt;
    lbd_flow v{};
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.half_open), &key, &v)) return std::nullopt;
    return v;
}

uint64_t LbFixture::flow_events(uint32_t event) const {
    if (!status_.ok()) return 0;
    int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu > 0 ? ncpu : 1));
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.flow_events), &event, per_cpu.data())) return 0;
    uint64_t sum = 0;
    for (uint64_t n : per_cpu) sum += n;
    return sum;
}

ReasonCounts LbFixture::reasons() const {
    ReasonCounts out{};
    if (!status_.ok()) return out;
    int ncpu = libbpf_num_possible_cpus();
    std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu > 0 ? ncpu : 1));
    int fd = bpf_map__fd(skel_->maps.reasons);
    for (uint32_t r = 0; r < LBD_REASON_MAX; ++r) {
        if (bpf_map_lookup_elem(fd, &r, per_cpu.data())) continue;
        for (uint64_t n : per_cpu) out[r] += n;
    }
    return out;
}

lbd_counters LbFixture::counters(int fd, uint32_t index) const {
    lbd_counters sum{};
    int ncpu = libbpf_num_possible_cpus();
    std::vector<lbd_counters> per_cpu(static_cast<size_t>(ncpu > 0 ? ncpu : 1));
    if (bpf_map_lookup_elem(fd, &index, per_cpu.data())) return sum;
    for (const auto& c : per_cpu) {
        sum.packets += c.packets;
        sum.bytes += c.bytes;
        sum.new_flows += c.new_flows;
    }
    return sum;
}

lbd_counters LbFixture::vip_counters(uint32_t vip_id) const {
    return status_.ok() ? counters(bpf_map__fd(skel_->maps.vip_stats), vip_id) : lbd_counters{};
}

lbd_counters LbFixture::real_counters(uint32_t index) const {
    return status_.ok() ? counters(bpf_map__fd(skel_->maps.real_stats), index) : lbd_counters{};
}

std::optional<lbd_flow> LbFixture::flow(const lbd_flow_key& key) const {
    if (!status_.ok()) return std::nullopt;
    lbd_flow f{};
    CtKey k = ct_key(key);
    if (bpf_map_lookup_elem(k.fd, k.key(), &f)) return std::nullopt;
    return f;
}

size_t LbFixture::flow_count() const {
    if (!status_.ok()) return 0;
    size_t n = 0;
    lbd_flow_key key{};  // large enough for either map's key
    for (bpf_map* ct : {skel_->maps.conntrack4, skel_->maps.conntrack6, skel_->maps.conntrack_udp4,
                        skel_->maps.conntrack_udp6}) {
        const void* prev = nullptr;  // NULL: the first key
        while (bpf_map_get_next_key(bpf_map__fd(ct), prev, &key) == 0) {
            ++n;
            prev = &key;
        }
    }
    return n;
}

}  // namespace lbd::test
