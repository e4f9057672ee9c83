// The layout of every struct in bpf/lbd_abi.h, pinned twice: by numbers here
// (a changed layout must bump LBD_ABI_VERSION, pinned maps outlive the
// daemon), and against the BTF the BPF compiler emitted for the same header.
#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "lb.skel.h"
#include "lbd_abi.h"

static_assert(LBD_ABI_VERSION == 5, "layout changed: update the asserts below with the version");
// 5: rings are mapped by the daemon (LBD_RING_MAP_FLAGS on the template).
static_assert(LBD_RING_MAP_FLAGS == (BPF_F_INNER_MAP | BPF_F_MMAPABLE));
static_assert(sizeof(lbd_addr) == 16);
static_assert(sizeof(lbd_vip_key) == 20 && offsetof(lbd_vip_key, port) == 16 &&
              offsetof(lbd_vip_key, proto) == 18 && offsetof(lbd_vip_key, family) == 19);
static_assert(sizeof(lbd_vip_key4) == 8 && offsetof(lbd_vip_key4, port) == 4 &&
              offsetof(lbd_vip_key4, proto) == 6);
static_assert(sizeof(lbd_flow_key4) == 16 && offsetof(lbd_flow_key4, sport) == 8 &&
              offsetof(lbd_flow_key4, proto) == 12);
static_assert(sizeof(lbd_vip_meta) == 16 && offsetof(lbd_vip_meta, ring_size) == 8 &&
              offsetof(lbd_vip_meta, mode) == 12);
static_assert(sizeof(lbd_vip_active) == 8 && offsetof(lbd_vip_active, lease) == 4);
static_assert(sizeof(lbd_real) == 64 && offsetof(lbd_real, ifindex) == 16 &&
              offsetof(lbd_real, mac) == 20 && offsetof(lbd_real, family) == 26 &&
              offsetof(lbd_real, flags) == 27 && offsetof(lbd_real, egress) == 28 &&
              offsetof(lbd_real, port) == 60 && offsetof(lbd_real, proto) == 62);
static_assert(sizeof(lbd_nat_service) == 24 && offsetof(lbd_nat_service, port) == 16 &&
              offsetof(lbd_nat_service, vip_id) == 20);
static_assert(sizeof(lbd_iface) == 32 && offsetof(lbd_iface, mtu) == 8 &&
              offsetof(lbd_iface, tun_src4) == 12 && offsetof(lbd_iface, tun_src6) == 16);
static_assert(sizeof(lbd_flow_key) == 40 && offsetof(lbd_flow_key, sport) == 32 &&
              offsetof(lbd_flow_key, proto) == 36 && offsetof(lbd_flow_key, family) == 37);
static_assert(sizeof(lbd_flow) == 16 && offsetof(lbd_flow, vip_id) == 4 && offsetof(lbd_flow, flags) == 6 &&
              offsetof(lbd_flow, last_ns) == 8);
static_assert(sizeof(lbd_lc_member) == 8 && offsetof(lbd_lc_member, weight) == 4);
static_assert(sizeof(lbd_lc_set) == 8 + 8 * LBD_LC_MAX_REALS && offsetof(lbd_lc_set, members) == 8);
static_assert(sizeof(lbd_counters) == 24);
static_assert(sizeof(lbd_decap_key) == 20);
static_assert(sizeof(lbd_decap_src_key) == 20);
static_assert(sizeof(lbd_vrrp_key) == 8 && offsetof(lbd_vrrp_key, vrid) == 4 &&
              offsetof(lbd_vrrp_key, family) == 5);
static_assert(sizeof(lbd_vrrp_rx) == 16 && offsetof(lbd_vrrp_rx, version) == 4 &&
              offsetof(lbd_vrrp_rx, flags) == 6 && offsetof(lbd_vrrp_rx, auth_pass) == 8);
static_assert(sizeof(lbd_vrrp_peer_key) == 20 && offsetof(lbd_vrrp_peer_key, addr) == 4);
static_assert(sizeof(lbd_vrrp_event) == 24 + LBD_VRRP_MAX_PACKET && offsetof(lbd_vrrp_event, ifindex) == 8 &&
              offsetof(lbd_vrrp_event, len) == 16 && offsetof(lbd_vrrp_event, packet) == 24);
static_assert(sizeof(lbd_capture_record) == 24 + LBD_CAPTURE_SNAP_MAX && offsetof(lbd_capture_record, ifindex) == 8 &&
              offsetof(lbd_capture_record, cap_len) == 16 && offsetof(lbd_capture_record, reason) == 20 &&
              offsetof(lbd_capture_record, cls) == 22 && offsetof(lbd_capture_record, data) == 24);
static_assert(sizeof(lbd_vrrp_tx) == 44 + LBD_VRRP_MAX_ADDRS * 16 && offsetof(lbd_vrrp_tx, src_mac) == 16 &&
              offsetof(lbd_vrrp_tx, announce_mac) == 22 && offsetof(lbd_vrrp_tx, version) == 28 &&
              offsetof(lbd_vrrp_tx, naddr) == 31 && offsetof(lbd_vrrp_tx, auth_pass) == 36 &&
              offsetof(lbd_vrrp_tx, addrs) == 44);
static_assert(sizeof(lbd_vrrp_lease) == 24 && offsetof(lbd_vrrp_lease, key) == 8 &&
              offsetof(lbd_vrrp_lease, state) == 16 && offsetof(lbd_vrrp_lease, flags) == 17);
static_assert(sizeof(lbd_fence_key) == 20 && offsetof(lbd_fence_key, family) == 16);
static_assert(sizeof(lbd_frag_key) == 40 && offsetof(lbd_frag_key, dst) == 16 && offsetof(lbd_frag_key, id) == 32 &&
              offsetof(lbd_frag_key, proto) == 36 && offsetof(lbd_frag_key, family) == 37);
static_assert(sizeof(lbd_frag_ports) == 8 && offsetof(lbd_frag_ports, dport) == 2 &&
              offsetof(lbd_frag_ports, new_conn) == 4);
static_assert(sizeof(lbd_abi_info) == 8);
// The request lives only on the tx program's stack, so the BPF object has no
// BTF for it; these numbers are its only pin (vrrp_tx_test runs it).
static_assert(sizeof(lbd_vrrp_tx_req) == 36 && offsetof(lbd_vrrp_tx_req, kind) == 4 &&
              offsetof(lbd_vrrp_tx_req, max_advert_int_cs) == 8 && offsetof(lbd_vrrp_tx_req, ipv4_id) == 10 &&
              offsetof(lbd_vrrp_tx_req, dst_mac) == 12 && offsetof(lbd_vrrp_tx_req, addr) == 20);
static_assert(sizeof(lbd_vrrp_tx_req) <= LBD_VRRP_GARP_LEN, "the request is overwritten by the shortest frame");

namespace {

struct Member {
    const char* name;
    size_t offset;
};

struct Layout {
    const char* name;
    size_t size;
    std::vector<Member> members;
};

#define M(type, field) Member{#field, offsetof(type, field)}

// Structs the lb program's maps use, as the C++ compiler lays them out.
const std::vector<Layout> kLayouts = {
    {"lbd_vip_key", sizeof(lbd_vip_key),
     {M(lbd_vip_key, addr), M(lbd_vip_key, port), M(lbd_vip_key, proto), M(lbd_vip_key, family)}},
    {"lbd_vip_key4", sizeof(lbd_vip_key4),
     {M(lbd_vip_key4, addr), M(lbd_vip_key4, port), M(lbd_vip_key4, proto), M(lbd_vip_key4, pad)}},
    {"lbd_flow_key4", sizeof(lbd_flow_key4),
     {M(lbd_flow_key4, src), M(lbd_flow_key4, dst), M(lbd_flow_key4, sport),
      M(lbd_flow_key4, dport), M(lbd_flow_key4, proto), M(lbd_flow_key4, pad)}},
    {"lbd_vip_meta", sizeof(lbd_vip_meta),
     {M(lbd_vip_meta, vip_id), M(lbd_vip_meta, flags), M(lbd_vip_meta, ring_size),
      M(lbd_vip_meta, mode), M(lbd_vip_meta, pad)}},
    {"lbd_vip_active", sizeof(lbd_vip_active), {M(lbd_vip_active, active), M(lbd_vip_active, lease)}},
    {"lbd_vrrp_lease", sizeof(lbd_vrrp_lease),
     {M(lbd_vrrp_lease, expires_ns), M(lbd_vrrp_lease, key), M(lbd_vrrp_lease, state), M(lbd_vrrp_lease, flags),
      M(lbd_vrrp_lease, pad)}},
    {"lbd_fence_key", sizeof(lbd_fence_key),
     {M(lbd_fence_key, addr), M(lbd_fence_key, family), M(lbd_fence_key, pad)}},
    {"lbd_frag_key", sizeof(lbd_frag_key),
     {M(lbd_frag_key, src), M(lbd_frag_key, dst), M(lbd_frag_key, id), M(lbd_frag_key, proto),
      M(lbd_frag_key, family), M(lbd_frag_key, pad)}},
    {"lbd_frag_ports", sizeof(lbd_frag_ports),
     {M(lbd_frag_ports, sport), M(lbd_frag_ports, dport), M(lbd_frag_ports, new_conn), M(lbd_frag_ports, pad)}},
    {"lbd_abi_info", sizeof(lbd_abi_info), {M(lbd_abi_info, version), M(lbd_abi_info, pad)}},
    {"lbd_real", sizeof(lbd_real),
     {M(lbd_real, addr), M(lbd_real, ifindex), M(lbd_real, mac), M(lbd_real, family),
      M(lbd_real, flags), M(lbd_real, egress), M(lbd_real, port), M(lbd_real, proto), M(lbd_real, pad2)}},
    {"lbd_nat_service", sizeof(lbd_nat_service),
     {M(lbd_nat_service, vip), M(lbd_nat_service, port), M(lbd_nat_service, pad), M(lbd_nat_service, vip_id)}},
    {"lbd_iface", sizeof(lbd_iface),
     {M(lbd_iface, mac), M(lbd_iface, pad), M(lbd_iface, mtu), M(lbd_iface, tun_src4), M(lbd_iface, tun_src6)}},
    {"lbd_flow_key", sizeof(lbd_flow_key),
     {M(lbd_flow_key, src), M(lbd_flow_key, dst), M(lbd_flow_key, sport), M(lbd_flow_key, dport),
      M(lbd_flow_key, proto), M(lbd_flow_key, family), M(lbd_flow_key, pad)}},
    {"lbd_flow", sizeof(lbd_flow),
     {M(lbd_flow, real), M(lbd_flow, vip_id), M(lbd_flow, flags), M(lbd_flow, pad), M(lbd_flow, last_ns)}},
    {"lbd_lc_member", sizeof(lbd_lc_member), {M(lbd_lc_member, real), M(lbd_lc_member, weight)}},
    {"lbd_lc_set", sizeof(lbd_lc_set), {M(lbd_lc_set, count), M(lbd_lc_set, pad), M(lbd_lc_set, members)}},
    {"lbd_counters", sizeof(lbd_counters),
     {M(lbd_counters, packets), M(lbd_counters, bytes), M(lbd_counters, new_flows)}},
    {"lbd_vrrp_key", sizeof(lbd_vrrp_key),
     {M(lbd_vrrp_key, ifindex), M(lbd_vrrp_key, vrid), M(lbd_vrrp_key, family), M(lbd_vrrp_key, pad)}},
    {"lbd_vrrp_rx", sizeof(lbd_vrrp_rx),
     {M(lbd_vrrp_rx, instance_id), M(lbd_vrrp_rx, version), M(lbd_vrrp_rx, auth_type), M(lbd_vrrp_rx, flags),
      M(lbd_vrrp_rx, pad), M(lbd_vrrp_rx, auth_pass)}},
    {"lbd_vrrp_peer_key", sizeof(lbd_vrrp_peer_key),
     {M(lbd_vrrp_peer_key, instance_id), M(lbd_vrrp_peer_key, addr)}},
    {"lbd_vrrp_event", sizeof(lbd_vrrp_event),
     {M(lbd_vrrp_event, at_ns), M(lbd_vrrp_event, ifindex), M(lbd_vrrp_event, instance_id),
      M(lbd_vrrp_event, len), M(lbd_vrrp_event, pad), M(lbd_vrrp_event, packet)}},
    {"lbd_vrrp_tx", sizeof(lbd_vrrp_tx),
     {M(lbd_vrrp_tx, src), M(lbd_vrrp_tx, src_mac), M(lbd_vrrp_tx, announce_mac), M(lbd_vrrp_tx, version),
      M(lbd_vrrp_tx, vrid), M(lbd_vrrp_tx, family), M(lbd_vrrp_tx, naddr), M(lbd_vrrp_tx, auth_type),
      M(lbd_vrrp_tx, pad), M(lbd_vrrp_tx, auth_pass), M(lbd_vrrp_tx, addrs)}},
};

#undef M

class AbiLayout : public testing::TestWithParam<Layout> {
protected:
    // The BTF clang wrote into the object embedded in the skeleton.
    static void SetUpTestSuite() {
        size_t size = 0;
        const void* elf = lbd_lb__elf_bytes(&size);
        obj_ = bpf_object__open_mem(elf, size, nullptr);
    }
    static void TearDownTestSuite() { bpf_object__close(obj_); }
    static const struct btf* btf() { return obj_ ? bpf_object__btf(obj_) : nullptr; }

    static inline bpf_object* obj_ = nullptr;
};

TEST_P(AbiLayout, MatchesTheBpfObject) {
    const Layout& l = GetParam();
    ASSERT_NE(btf(), nullptr) << "no BTF in the lb object";
    int id = btf__find_by_name_kind(btf(), l.name, BTF_KIND_STRUCT);
    ASSERT_GT(id, 0) << l.name << " is not in the lb program's BTF";
    const btf_type* t = btf__type_by_id(btf(), static_cast<__u32>(id));
    EXPECT_EQ(t->size, l.size) << l.name;
    const btf_member* m = btf_members(t);
    for (const Member& want : l.members) {
        bool found = false;
        for (int i = 0; i < btf_vlen(t); ++i) {
            if (std::string(btf__name_by_offset(btf(), m[i].name_off)) != want.name)
                continue;
            found = true;
            EXPECT_EQ(btf_member_bit_offset(t, static_cast<__u32>(i)) / 8, want.offset)
                << l.name << "." << want.name;
        }
        EXPECT_TRUE(found) << l.name << "." << want.name << " missing in BTF";
    }
    EXPECT_EQ(btf_vlen(t), static_cast<int>(l.members.size()))
        << l.name << ": a member this test does not know of";
}

INSTANTIATE_TEST_SUITE_P(Structs, AbiLayout, testing::ValuesIn(kLayouts),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
