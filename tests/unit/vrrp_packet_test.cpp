// The VRRP codec against frames captured from keepalived 2.2.7 in the lab
// (tests/vectors/, made by scripts/capture_vectors.sh): decode them, rebuild
// them byte for byte, and reject every kind of damage with its own reason.
#include "vrrp/packet.h"
#include "vrrp_frames.h"

#include "pcap_reader.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <ostream>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace lbd::vrrp {
namespace {

using Bytes = std::vector<uint8_t>;

IpAddr ip(const char* text) {
    auto a = IpAddr::parse(text);
    if (!a) throw std::invalid_argument(std::string("bad address in test: ") + text);
    return *a;
}

constexpr Mac kLb1Mac{0x02, 0xd5, 0x00, 0x00, 0x00, 0x02};  // scripts/lab.sh: lb1's eth0
constexpr Mac kLb2Mac{0x02, 0xd5, 0x00, 0x00, 0x00, 0x03};

// ---- frames ------------------------------------------------------------------

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherIpv6 = 0x86dd;

uint16_t load16(std::span<const uint8_t> b, size_t at) {
    return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}

struct Frame {
    Mac dst{};
    Mac src{};
    uint16_t type = 0;
    Bytes l3;  // everything after the Ethernet header

    // The IP packet, cut at the length its header gives (drops any padding).
    Bytes ip_packet() const {
        if (type == kEtherIpv4) return Bytes(l3.begin(), l3.begin() + load16(l3, 2));
        return Bytes(l3.begin(), l3.begin() + 40 + load16(l3, 4));
    }
    // The VRRP message (IP payload).
    Bytes vrrp() const {
        const Bytes p = ip_packet();
        const size_t hdr = type == kEtherIpv4 ? (p[0] & 0x0f) * 4u : 40u;
        return Bytes(p.begin() + static_cast<std::ptrdiff_t>(hdr), p.end());
    }
    bool is_vrrp() const {
        return (type == kEtherIpv4 && l3.size() >= 20 && l3[9] == kIpProtoVrrp) ||
               (type == kEtherIpv6 && l3.size() >= 40 && l3[6] == kIpProtoVrrp);
    }
    bool is_arp() const { return type == kEtherArp; }
    bool is_na() const { return type == kEtherIpv6 && l3.size() >= 41 && l3[6] == 58 && l3[40] == 136; }
    IpAddr ip_src() const { return addr_at(type == kEtherIpv4 ? 12 : 8); }
    IpAddr ip_dst() const { return addr_at(type == kEtherIpv4 ? 16 : 24); }
    uint16_t ipv4_id() const { return load16(l3, 4); }
    uint32_t ipv6_flow_label() const {
        return (uint32_t{l3[1]} & 0x0f) << 16 | uint32_t{l3[2]} << 8 | l3[3];
    }

private:
    IpAddr addr_at(size_t at) const {
        IpAddr a;
        a.family = type == kEtherIpv4 ? AF_INET : AF_INET6;
        std::copy_n(l3.begin() + static_cast<std::ptrdiff_t>(at), a.family == AF_INET ? 4 : 16, a.bytes.begin());
        return a;
    }
};

Frame parse_frame(const Bytes& data) {
    Frame f;
    if (data.size() < 14) throw std::runtime_error("frame shorter than an Ethernet header");
    std::copy_n(data.begin(), 6, f.dst.begin());
    std::copy_n(data.begin() + 6, 6, f.src.begin());
    f.type = load16(data, 12);
    f.l3.assign(data.begin() + 14, data.end());
    return f;
}

// The Internet checksum over `bytes` (0 when the bytes include a correct checksum).
uint16_t inet_sum(std::span<const uint8_t> bytes) {
    uint64_t s = 0;
    for (size_t i = 0; i + 1 < bytes.size(); i += 2) s += static_cast<uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    if (bytes.size() % 2) s += static_cast<uint32_t>(bytes.back() << 8);
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s & 0xffff);
}

// Puts a correct VRRP checksum back after a mutation, so that the mutation,
// not the checksum, is what decode() sees.
void refresh_checksum(Bytes& vrrp, int version, const IpAddr& src, const IpAddr& dst) {
    const uint16_t c = compute_checksum(vrrp, version, src, dst);
    vrrp[6] = static_cast<uint8_t>(c >> 8);
    vrrp[7] = static_cast<uint8_t>(c);
}

void refresh_ipv4_header_checksum(Bytes& p) {
    p[10] = p[11] = 0;
    const uint16_t c = inet_sum(std::span(p).first((p[0] & 0x0f) * 4u));
    p[10] = static_cast<uint8_t>(c >> 8);
    p[11] = static_cast<uint8_t>(c);
}

template <class T>
::testing::AssertionResult rejected_with(const T& result, Reject want) {
    if (const auto* r = std::get_if<Reject>(&result)) {
        if (*r == want) return ::testing::AssertionSuccess();
        return ::testing::AssertionFailure() << "rejected as " << to_string(*r) << ", want " << to_string(want);
    }
    return ::testing::AssertionFailure() << "accepted, want " << to_string(want);
}

::testing::AssertionResult accepted(const Decoded& result) {
    if (const auto* r = std::get_if<Reject>(&result))
        return ::testing::AssertionFailure() << "rejected as " << to_string(*r);
    return ::testing::AssertionSuccess();
}

// ---- the captured vectors ----------------------------------------------------

struct Vector {
    std::string name;  // tests/vectors/keepalived-NAME.pcap, .conf
    Advert advert;     // as the .conf configures it
    IpAddr src;
    IpAddr dst;
    Mac dst_mac;
    std::string auth_pass;  // what the receiving instance would be configured with
};

// gtest names a failing vector by this rather than by its bytes.
void PrintTo(const Vector& v, std::ostream* os) {
    *os << "keepalived-" << v.name;
}

Advert advert(int version, uint8_t vrid, int family, std::vector<IpAddr> addrs, std::string pass = {}) {
    Advert a;
    a.version = version;
    a.vrid = vrid;
    a.priority = 150;
    a.max_advert_int_cs = 100;  // advert_int 1
    a.family = family;
    a.addresses = std::move(addrs);
    if (!pass.empty()) {
        a.auth_type = kAuthPass;
        a.auth_pass = std::move(pass);
    }
    return a;
}

std::vector<Vector> vectors() {
    return {
        {"v3-ipv4", advert(3, 61, AF_INET, {ip("10.213.0.100")}), ip("10.213.0.2"), ip("224.0.0.18"),
         {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}, ""},
        {"v2-pass", advert(2, 61, AF_INET, {ip("10.213.0.100")}, "secret12"), ip("10.213.0.2"),
         ip("224.0.0.18"), {0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}, "secret12"},
        {"v3-ipv6", advert(3, 62, AF_INET6, {ip("fd00:213::100")}), ip("fe80::d5:ff:fe00:2"), ip("ff02::12"),
         {0x33, 0x33, 0x00, 0x00, 0x00, 0x12}, ""},
        {"v3-unicast", advert(3, 63, AF_INET, {ip("10.213.0.100")}), ip("10.213.0.2"), ip("10.213.0.3"), kLb2Mac,
         ""},
    };
}

std::string vector_path(const std::string& name) {
    return std::string(LBD_VECTORS_DIR) + "/keepalived-" + name + ".pcap";
}

class CapturedVector : public ::testing::TestWithParam<Vector> {
protected:
    void SetUp() override {
        const auto file = test::read_pcap(vector_path(GetParam().name));
        ASSERT_EQ(file.linktype, test::kLinktypeEthernet);
        for (const auto& r : file.records) {
            ASSERT_EQ(r.data.size(), r.orig_len) << "frame cut by the snaplen";
            frames_.push_back(parse_frame(r.data));
            raw_.push_back(r.data);
        }
        for (size_t i = 0; i < frames_.size(); ++i)
            if (frames_[i].is_vrrp()) adverts_.push_back(i);
        ASSERT_FALSE(adverts_.empty());
    }

    const Frame& advert_frame(size_t n = 0) const { return frames_[adverts_[n]]; }

    std::vector<Frame> frames_;
    std::vector<Bytes> raw_;
    std::vector<size_t> adverts_;  // indices of the VRRP frames
};

// What a takeover looks like: the first advert, then five gratuitous ARPs /
// unsolicited NAs back to back (vrrp_garp_master_repeat 5), then adverts.
TEST_P(CapturedVector, ShapeOfATakeover) {
    const auto& v = GetParam();
    EXPECT_LT(std::filesystem::file_size(vector_path(v.name)), 4096u);
    ASSERT_EQ(frames_.size(), 8u);
    EXPECT_TRUE(frames_[0].is_vrrp());
    for (size_t i = 1; i <= 5; ++i)
        EXPECT_TRUE(v.advert.family == AF_INET ? frames_[i].is_arp() : frames_[i].is_na()) << "frame " << i;
    EXPECT_TRUE(frames_[6].is_vrrp());
    EXPECT_TRUE(frames_[7].is_vrrp());
    for (const auto& f : frames_) EXPECT_EQ(f.src, kLb1Mac) << "keepalived sends from the interface MAC";
}

TEST_P(CapturedVector, DecodesAsConfigured) {
    const auto& v = GetParam();
    for (size_t idx : adverts_) {
        const Frame& f = frames_[idx];
        EXPECT_EQ(f.dst, v.dst_mac);
        EXPECT_EQ(f.ip_src(), v.src);
        EXPECT_EQ(f.ip_dst(), v.dst);

        const auto d = decode(f.vrrp(), v.advert.family, v.src, v.dst, v.auth_pass);
        ASSERT_TRUE(accepted(d)) << "frame " << idx;
        EXPECT_EQ(std::get<Advert>(d), v.advert);

        const auto r = decode_packet(f.ip_packet(), v.auth_pass);
        ASSERT_FALSE(std::holds_alternative<Reject>(r)) << to_string(std::get<Reject>(r));
        EXPECT_EQ(std::get<Received>(r).advert, v.advert);
        EXPECT_EQ(std::get<Received>(r).src, v.src);
        EXPECT_EQ(std::get<Received>(r).dst, v.dst);
    }
}

TEST_P(CapturedVector, ReencodesByteForByte) {
    const auto& v = GetParam();
    for (size_t n = 0; n < adverts_.size(); ++n) {
        const Frame& f = advert_frame(n);
        HeaderFields fields;
        if (v.advert.family == AF_INET) {
            // keepalived's own per-instance counter, starting at 1.
            EXPECT_EQ(f.ipv4_id(), n + 1);
            fields.ipv4_id = f.ipv4_id();
        } else {
            // Chosen by the kernel (auto flow labels), the same for every advert.
            EXPECT_EQ(f.ipv6_flow_label(), advert_frame(0).ipv6_flow_label());
            fields.ipv6_flow_label = f.ipv6_flow_label();
        }
        EXPECT_EQ(encode(v.advert, v.src, v.dst), f.vrrp()) << "advert " << n;
        EXPECT_EQ(build_packet(v.advert, v.src, v.dst, fields), f.ip_packet()) << "advert " << n;
        EXPECT_EQ(build_frame(v.advert, v.src, v.dst, kLb1Mac, v.dst_mac, fields), raw_[adverts_[n]])
            << "advert " << n;
    }
}

TEST_P(CapturedVector, Checksums) {
    const auto& v = GetParam();
    const Bytes m = advert_frame().vrrp();
    EXPECT_EQ(compute_checksum(m, v.advert.version, v.src, v.dst), load16(m, 6));
    const Bytes p = advert_frame().ip_packet();
    if (v.advert.family == AF_INET) {
        EXPECT_EQ(inet_sum(std::span(p).first(20)), 0) << "IPv4 header checksum";
    }

    // v3 covers the pseudo-header: another address breaks it. (Before 1.3.6
    // keepalived put 224.0.0.18 in the unicast pseudo-header; 2.2.7 uses the
    // real destination, which the unicast vector shows.) v2 does not.
    const IpAddr other = v.advert.family == AF_INET ? ip("10.213.0.99") : ip("fe80::99");
    const IpAddr group = vrrp_group(v.advert.family);
    const auto with_other_src = decode(m, v.advert.family, other, v.dst, v.auth_pass);
    const auto with_group_dst = decode(m, v.advert.family, v.src, group, v.auth_pass);
    if (v.advert.version == kVersion3) {
        EXPECT_TRUE(rejected_with(with_other_src, Reject::BadChecksum));
        if (v.dst != group) {
            EXPECT_TRUE(rejected_with(with_group_dst, Reject::BadChecksum));
        }
    } else {
        EXPECT_TRUE(accepted(with_other_src));
        EXPECT_TRUE(accepted(with_group_dst));
    }
}

TEST_P(CapturedVector, AnnouncementsByteForByte) {
    const auto& v = GetParam();
    const IpAddr& vip = v.advert.addresses.at(0);
    const Bytes want = v.advert.family == AF_INET ? build_gratuitous_arp(vip, kLb1Mac)
                                                  : build_unsolicited_na(vip, kLb1Mac, /*router=*/false);
    size_t seen = 0;
    for (size_t i = 0; i < frames_.size(); ++i) {
        if (frames_[i].is_vrrp()) continue;
        EXPECT_EQ(raw_[i], want) << "frame " << i;
        ++seen;
    }
    EXPECT_EQ(seen, 5u);
}

TEST_P(CapturedVector, TruncatedAtEveryLength) {
    const auto& v = GetParam();
    const Bytes m = advert_frame().vrrp();
    for (size_t len = 0; len < m.size(); ++len) {
        const auto d = decode(std::span(m).first(len), v.advert.family, v.src, v.dst, v.auth_pass);
        // Shorter than the fixed header: truncated; cut inside the addresses
        // (or v2 auth data): the count promises more than there is.
        EXPECT_TRUE(rejected_with(d, len < kHeaderLen ? Reject::Truncated : Reject::BadAddressCount))
            << "length " << len;
    }
    const Bytes p = advert_frame().ip_packet();
    for (size_t len = 0; len < p.size(); ++len)
        EXPECT_TRUE(rejected_with(decode_packet(std::span(p).first(len), v.auth_pass), Reject::Truncated))
            << "IP length " << len;
}

TEST_P(CapturedVector, EveryBitFlipIsRejected) {
    const auto& v = GetParam();
    const Bytes m = advert_frame().vrrp();
    for (size_t bit = 0; bit < m.size() * 8; ++bit) {
        Bytes x = m;
        x[bit / 8] ^= static_cast<uint8_t>(0x80 >> (bit % 8));
        const auto d = decode(x, v.advert.family, v.src, v.dst, v.auth_pass);
        EXPECT_TRUE(std::holds_alternative<Reject>(d)) << "bit " << bit << " flipped was accepted";
        // In the checksum and the addresses, nothing but the checksum can tell.
        const size_t byte = bit / 8;
        const size_t addr_end = kHeaderLen + (v.advert.family == AF_INET ? 4 : 16);
        if (byte == 6 || byte == 7 || (byte >= kHeaderLen && byte < addr_end)) {
            EXPECT_TRUE(rejected_with(d, Reject::BadChecksum)) << "bit " << bit;
        }
    }
}

TEST_P(CapturedVector, WrongVersionOrType) {
    const auto& v = GetParam();
    const Bytes m = advert_frame().vrrp();
    for (int version = 0; version < 16; ++version) {
        if (version == v.advert.version) continue;
        Bytes x = m;
        x[0] = static_cast<uint8_t>(version << 4 | (x[0] & 0x0f));
        refresh_checksum(x, version, v.src, v.dst);
        const auto d = decode(x, v.advert.family, v.src, v.dst, v.auth_pass);
        if (version == 2 || version == 3) {
            // The other version's layout: IPv6 never carries v2; otherwise it
            // fails on what the other layout expects, not on the version.
            if (v.advert.family == AF_INET6) {
                EXPECT_TRUE(rejected_with(d, Reject::BadVersion));
            }
            continue;
        }
        EXPECT_TRUE(rejected_with(d, Reject::BadVersion)) << "version " << version;
    }
    for (int type = 0; type < 16; ++type) {
        if (type == kTypeAdvertisement) continue;
        Bytes x = m;
        x[0] = static_cast<uint8_t>((x[0] & 0xf0) | type);
        refresh_checksum(x, v.advert.version, v.src, v.dst);
        EXPECT_TRUE(rejected_with(decode(x, v.advert.family, v.src, v.dst, v.auth_pass), Reject::BadType))
            << "type " << type;
    }
}

TEST_P(CapturedVector, WrongLengthOrCount) {
    const auto& v = GetParam();
    const Bytes m = advert_frame().vrrp();
    auto check = [&](Bytes x, Reject want, const char* what) {
        refresh_checksum(x, v.advert.version, v.src, v.dst);
        EXPECT_TRUE(rejected_with(decode(x, v.advert.family, v.src, v.dst, v.auth_pass), want)) << what;
    };
    Bytes longer = m;
    longer.push_back(0);
    check(longer, Reject::BadLength, "one byte more");
    Bytes extra_addr = m;
    extra_addr.insert(extra_addr.end(), v.advert.family == AF_INET ? 4 : 16, 0x0a);
    check(extra_addr, Reject::BadLength, "an address more, count unchanged");
    Bytes count_up = m;
    count_up[3] += 1;
    check(count_up, Reject::BadAddressCount, "count + 1");
    Bytes count_max = m;
    count_max[3] = 255;
    check(count_max, Reject::BadAddressCount, "count 255");
    Bytes count_zero = m;
    count_zero[3] = 0;
    check(count_zero, Reject::BadLength, "count 0 with the address still there");
}

TEST_P(CapturedVector, ZeroInterval) {
    const auto& v = GetParam();
    Bytes x = advert_frame().vrrp();
    if (v.advert.version == kVersion2) {
        x[5] = 0;  // Adver Int, seconds
    } else {
        x[4] = 0xf0;  // reserved bits set, Max Adver Int 0
        x[5] = 0;
    }
    refresh_checksum(x, v.advert.version, v.src, v.dst);
    EXPECT_TRUE(rejected_with(decode(x, v.advert.family, v.src, v.dst, v.auth_pass), Reject::BadInterval));
}

TEST_P(CapturedVector, BadFamily) {
    const auto& v = GetParam();
    const Bytes m = advert_frame().vrrp();
    EXPECT_TRUE(rejected_with(decode(m, AF_UNSPEC, v.src, v.dst, v.auth_pass), Reject::BadFamily));
    const IpAddr other = v.advert.family == AF_INET ? ip("fe80::1") : ip("10.0.0.1");
    EXPECT_TRUE(rejected_with(decode(m, v.advert.family, other, v.dst, v.auth_pass), Reject::BadFamily));
    EXPECT_TRUE(rejected_with(decode(m, v.advert.family, v.src, other, v.auth_pass), Reject::BadFamily));
}

TEST_P(CapturedVector, IpHeaderChecks) {
    const auto& v = GetParam();
    const Bytes p = advert_frame().ip_packet();
    const bool v4 = v.advert.family == AF_INET;
    auto mutated = [&](auto change) {
        Bytes x = p;
        change(x);
        if (v4) refresh_ipv4_header_checksum(x);
        return decode_packet(x, v.auth_pass);
    };
    // TTL / hop limit: RFC 5798 7.1, RFC 3768 7.1.
    for (uint8_t ttl : {0, 1, 64, 254})
        EXPECT_TRUE(rejected_with(mutated([&](Bytes& x) { x[v4 ? 8 : 7] = ttl; }), Reject::BadTtl)) << int(ttl);
    EXPECT_TRUE(rejected_with(mutated([&](Bytes& x) { x[v4 ? 9 : 6] = 17; }), Reject::NotVrrp));
    EXPECT_TRUE(rejected_with(mutated([&](Bytes& x) { x[0] = static_cast<uint8_t>(0x50 | (x[0] & 0x0f)); }),
                              Reject::BadIpHeader));
    // Ethernet padding after the packet is not part of it.
    Bytes padded = p;
    padded.resize(std::max<size_t>(p.size(), 46) + 4, 0);
    EXPECT_FALSE(std::holds_alternative<Reject>(decode_packet(padded, v.auth_pass)));
    if (v4) {
        Bytes bad_sum = p;
        bad_sum[11] ^= 1;
        EXPECT_TRUE(rejected_with(decode_packet(bad_sum, v.auth_pass), Reject::BadIpHeader)) << "header checksum";
        EXPECT_TRUE(rejected_with(mutated([](Bytes& x) { x[0] = 0x44; }), Reject::BadIpHeader)) << "IHL 4";
        EXPECT_TRUE(rejected_with(mutated([](Bytes& x) { x[6] |= 0x20; }), Reject::BadIpHeader)) << "MF";
        EXPECT_TRUE(rejected_with(mutated([](Bytes& x) { x[7] = 1; }), Reject::BadIpHeader)) << "offset";
        // DF is allowed (keepalived does not set it; others may).
        EXPECT_FALSE(std::holds_alternative<Reject>(mutated([](Bytes& x) { x[6] |= 0x40; })));
    } else {
        EXPECT_TRUE(rejected_with(mutated([](Bytes& x) { x[6] = 0; }), Reject::NotVrrp)) << "hop-by-hop header";
    }
    // A damaged VRRP message inside a sound IP packet: decode()'s reason
    // (the checksum covers the v2 auth data too).
    Bytes bad_vrrp = p;
    bad_vrrp.back() ^= 1;
    EXPECT_TRUE(rejected_with(decode_packet(bad_vrrp, v.auth_pass), Reject::BadChecksum));
}

std::string vector_name(const ::testing::TestParamInfo<Vector>& info) {
    std::string s = info.param.name;
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
}

INSTANTIATE_TEST_SUITE_P(Keepalived227, CapturedVector, ::testing::ValuesIn(vectors()), vector_name);

// ---- v2 authentication, on the PASS vector -------------------------------------

class V2Auth : public ::testing::Test {
protected:
    void SetUp() override {
        const auto file = test::read_pcap(vector_path("v2-pass"));
        ASSERT_FALSE(file.records.empty());
        msg_ = parse_frame(file.records[0].data).vrrp();
    }
    Decoded decode_with(const Bytes& m, std::string_view pass) const {
        return decode(m, AF_INET, src_, dst_, pass);
    }
    Bytes with_auth_type(uint8_t type) const {
        Bytes x = msg_;
        x[4] = type;
        refresh_checksum(x, kVersion2, src_, dst_);
        return x;
    }
    Bytes msg_;
    IpAddr src_ = ip("10.213.0.2");
    IpAddr dst_ = ip("224.0.0.18");
};

TEST_F(V2Auth, PasswordMustMatch) {
    EXPECT_TRUE(accepted(decode_with(msg_, "secret12")));
    EXPECT_TRUE(rejected_with(decode_with(msg_, "secret13"), Reject::BadAuth));
    EXPECT_TRUE(rejected_with(decode_with(msg_, "secret1"), Reject::BadAuth)) << "a prefix is not the password";
    EXPECT_TRUE(rejected_with(decode_with(msg_, "Secret12"), Reject::BadAuth));
    // Only 8 bytes travel: keepalived cuts a longer password there, so do we.
    EXPECT_TRUE(accepted(decode_with(msg_, "secret12-and-more")));
}

TEST_F(V2Auth, TypeMustBeTheConfiguredOne) {
    EXPECT_TRUE(rejected_with(decode_with(msg_, ""), Reject::BadAuth)) << "PASS advert, no auth configured";
    EXPECT_TRUE(rejected_with(decode_with(with_auth_type(kAuthNone), "secret12"), Reject::BadAuth))
        << "no-auth advert, PASS configured";
    EXPECT_TRUE(rejected_with(decode_with(with_auth_type(kAuthAh), "secret12"), Reject::BadAuth)) << "AH";
    EXPECT_TRUE(rejected_with(decode_with(with_auth_type(kAuthAh), ""), Reject::BadAuth)) << "AH";
    EXPECT_TRUE(rejected_with(decode_with(with_auth_type(7), ""), Reject::BadAuth));
    // No authentication: the auth data is ignored (RFC 3768 5.3.10).
    const auto none = decode_with(with_auth_type(kAuthNone), "");
    ASSERT_TRUE(accepted(none));
    EXPECT_EQ(std::get<Advert>(none).auth_type, kAuthNone);
    EXPECT_EQ(std::get<Advert>(none).auth_pass, "");
}

TEST_F(V2Auth, ShortPasswordIsZeroPadded) {
    Advert a = advert(2, 61, AF_INET, {ip("10.213.0.100")}, "abc");
    const Bytes m = encode(a, src_, dst_);
    ASSERT_EQ(m.size(), 8u + 4 + 8);
    EXPECT_EQ(Bytes(m.end() - 8, m.end()), (Bytes{'a', 'b', 'c', 0, 0, 0, 0, 0}));
    const auto d = decode_with(m, "abc");
    ASSERT_TRUE(accepted(d));
    EXPECT_EQ(std::get<Advert>(d), a);
}

TEST(VrrpPacket, V3IgnoresAuthPass) {
    Advert a = advert(3, 1, AF_INET, {ip("192.0.2.1")});
    const Bytes m = encode(a, ip("192.0.2.2"), ip("224.0.0.18"));
    EXPECT_TRUE(accepted(decode(m, AF_INET, ip("192.0.2.2"), ip("224.0.0.18"), "secret12")));
}

TEST(VrrpPacket, V2OverIpv6IsBadVersion) {
    // A v2 message (IPv4 layout) handed in as IPv6: refused on the version.
    Advert a = advert(2, 9, AF_INET, {ip("192.0.2.1")});
    const Bytes m = encode(a, ip("192.0.2.2"), ip("224.0.0.18"));
    EXPECT_TRUE(rejected_with(decode(m, AF_INET6, ip("fe80::1"), ip("ff02::12")), Reject::BadVersion));
}

TEST(VrrpPacket, V3ReservedBitsAreIgnored) {
    const IpAddr src = ip("192.0.2.2"), dst = ip("224.0.0.18");
    Advert a = advert(3, 7, AF_INET, {ip("192.0.2.1")});
    a.max_advert_int_cs = 4095;
    Bytes m = encode(a, src, dst);
    m[4] |= 0xf0;
    refresh_checksum(m, 3, src, dst);
    const auto d = decode(m, AF_INET, src, dst);
    ASSERT_TRUE(accepted(d));
    EXPECT_EQ(std::get<Advert>(d).max_advert_int_cs, 4095);
}

// ---- round trips ---------------------------------------------------------------

std::vector<IpAddr> addresses(int family, size_t n) {
    std::vector<IpAddr> out;
    for (size_t i = 0; i < n; ++i) {
        IpAddr a;
        a.family = family;
        if (family == AF_INET) {
            a.bytes = {198, 51, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
        } else {
            a.bytes = {0x20, 0x01, 0x0d, 0xb8};
            a.bytes[14] = static_cast<uint8_t>(i >> 8);
            a.bytes[15] = static_cast<uint8_t>(i);
        }
        out.push_back(a);
    }
    return out;
}

TEST(VrrpPacket, RoundTrips) {
    struct Case {
        int version;
        int family;
        const char* src;
        const char* dst;
        const char* pass;
    };
    const Case cases[] = {
        {3, AF_INET, "10.213.0.2", "224.0.0.18", ""},      {3, AF_INET, "10.213.0.2", "10.213.0.3", ""},
        {3, AF_INET6, "fe80::1", "ff02::12", ""},          {3, AF_INET6, "fd00:213::2", "fd00:213::3", ""},
        {2, AF_INET, "10.213.0.2", "224.0.0.18", ""},      {2, AF_INET, "10.213.0.2", "224.0.0.18", "x"},
        {2, AF_INET, "10.213.0.2", "10.213.0.3", "12345678"},
    };
    int checked = 0;
    for (const auto& c : cases) {
        for (size_t n : {0, 1, 2, 3, 16, 255}) {
            for (uint8_t prio : {0, 1, 100, 254, 255}) {
                for (uint16_t secs : {1, 3, 255}) {
                    Advert a = advert(c.version, static_cast<uint8_t>(n + prio), c.family, addresses(c.family, n),
                                      c.pass);
                    a.priority = prio;
                    a.max_advert_int_cs = static_cast<uint16_t>(secs * 100);
                    if (c.version == 3 && secs == 255) a.max_advert_int_cs = 4095;  // 12-bit maximum
                    if (c.version == 3 && secs == 3) a.max_advert_int_cs = 35;      // sub-second
                    const IpAddr src = ip(c.src), dst = ip(c.dst);
                    SCOPED_TRACE(testing::Message() << "v" << c.version << " " << c.src << "->" << c.dst << " n=" << n
                                                    << " prio=" << int(prio) << " int=" << a.max_advert_int_cs);
                    ASSERT_EQ(invalid_reason(a), "");

                    const Bytes m = encode(a, src, dst);
                    const size_t alen = c.family == AF_INET ? 4 : 16;
                    ASSERT_EQ(m.size(), kHeaderLen + n * alen + (c.version == 2 ? kAuthDataLen : 0));
                    EXPECT_EQ(m[0], c.version << 4 | 1);
                    const auto d = decode(m, c.family, src, dst, c.pass);
                    ASSERT_TRUE(accepted(d));
                    EXPECT_EQ(std::get<Advert>(d), a);

                    const Bytes p = build_packet(a, src, dst, {.ipv4_id = 4242, .ipv6_flow_label = 0xabcde});
                    const auto r = decode_packet(p, c.pass);
                    ASSERT_FALSE(std::holds_alternative<Reject>(r));
                    EXPECT_EQ(std::get<Received>(r).advert, a);
                    EXPECT_EQ(std::get<Received>(r).src, src);
                    EXPECT_EQ(std::get<Received>(r).dst, dst);

                    const Mac dmac = multicast_mac(dst);
                    const Bytes f = build_frame(a, src, dst, kLb1Mac, dmac);
                    const Frame fr = parse_frame(f);
                    EXPECT_EQ(fr.src, kLb1Mac);
                    EXPECT_EQ(fr.dst, dmac);
                    EXPECT_EQ(fr.type, c.family == AF_INET ? kEtherIpv4 : kEtherIpv6);
                    EXPECT_EQ(fr.vrrp(), m);
                    ++checked;
                }
            }
        }
    }
    EXPECT_EQ(checked, 7 * 6 * 5 * 3);
}

TEST(VrrpPacket, HeaderFieldsLandWhereKeepalivedPutsThem) {
    const Advert a4 = advert(3, 5, AF_INET, {ip("192.0.2.1")});
    const Bytes p4 = build_packet(a4, ip("192.0.2.2"), ip("224.0.0.18"), {.ipv4_id = 0xbeef});
    ASSERT_EQ(p4.size(), 20u + 12);
    EXPECT_EQ(p4[0], 0x45) << "no IP options (no router alert)";
    EXPECT_EQ(p4[1], 0xc0) << "TOS internetwork control";
    EXPECT_EQ(load16(p4, 4), 0xbeef);
    EXPECT_EQ(load16(p4, 6), 0) << "no DF, no fragment";
    EXPECT_EQ(p4[8], 255);
    EXPECT_EQ(p4[9], 112);
    EXPECT_EQ(inet_sum(std::span(p4).first(20)), 0);

    const Advert a6 = advert(3, 5, AF_INET6, {ip("2001:db8::1")});
    const Bytes p6 = build_packet(a6, ip("fe80::2"), ip("ff02::12"), {.ipv6_flow_label = 0x12345});
    ASSERT_EQ(p6.size(), 40u + 8 + 16);
    EXPECT_EQ(Bytes(p6.begin(), p6.begin() + 4), (Bytes{0x6c, 0x01, 0x23, 0x45})) << "version, tclass 0xc0, flow";
    EXPECT_EQ(load16(p6, 4), 24);
    EXPECT_EQ(p6[6], 112);
    EXPECT_EQ(p6[7], 255);
}

// ---- what cannot be encoded ------------------------------------------------------

TEST(VrrpPacket, InvalidAdvertsAreNotEncoded) {
    const IpAddr src = ip("10.0.0.1"), dst = ip("224.0.0.18");
    auto refused = [&](Advert a, const char* what) {
        EXPECT_NE(invalid_reason(a), "") << what;
        EXPECT_TRUE(encode(a, src, dst).empty()) << what;
        EXPECT_TRUE(build_packet(a, src, dst).empty()) << what;
        EXPECT_TRUE(build_frame(a, src, dst, kLb1Mac, kLb2Mac).empty()) << what;
    };
    const Advert ok3 = advert(3, 1, AF_INET, {ip("10.0.0.100")});
    const Advert ok2 = advert(2, 1, AF_INET, {ip("10.0.0.100")}, "pw");
    ASSERT_EQ(invalid_reason(ok3), "");
    ASSERT_EQ(invalid_reason(ok2), "");

    Advert a = ok3;
    a.version = 4;
    refused(a, "version 4");
    a = ok3;
    a.family = AF_UNSPEC;
    refused(a, "no family");
    a = ok3;
    a.max_advert_int_cs = 0;
    refused(a, "v3 interval 0");
    a.max_advert_int_cs = 4096;
    refused(a, "v3 interval 4096");
    a = ok3;
    a.auth_pass = "pw";
    a.auth_type = kAuthPass;
    refused(a, "v3 with a password");
    a = ok3;
    a.addresses.push_back(ip("fe80::1"));
    refused(a, "mixed families");
    a = ok3;
    a.addresses = addresses(AF_INET, 256);
    refused(a, "256 addresses");

    a = ok2;
    a.family = AF_INET6;
    a.addresses = {ip("fd00::1")};
    refused(a, "v2 over IPv6");
    a = ok2;
    a.max_advert_int_cs = 150;
    refused(a, "v2 interval 1.5 s");
    a.max_advert_int_cs = 0;
    refused(a, "v2 interval 0");
    a.max_advert_int_cs = 25600;
    refused(a, "v2 interval 256 s");
    a = ok2;
    a.auth_pass = "123456789";
    refused(a, "9-character password");
    a.auth_pass = "";
    refused(a, "PASS without a password");
    a = ok2;
    a.auth_type = kAuthNone;
    refused(a, "password without PASS");
    a = ok2;
    a.auth_type = kAuthAh;
    refused(a, "AH");

    // v3 checksums need src/dst of the advert's family; v2's do not, but
    // its IP packet does.
    EXPECT_TRUE(encode(ok3, ip("fe80::1"), ip("ff02::12")).empty());
    EXPECT_FALSE(encode(ok2, ip("fe80::1"), ip("ff02::12")).empty());
    EXPECT_TRUE(build_packet(ok2, ip("fe80::1"), ip("ff02::12")).empty());
}

// ---- addresses, announcements, names ----------------------------------------------

TEST(VrrpPacket, WellKnownAddresses) {
    EXPECT_EQ(vrrp_group(AF_INET).str(), "224.0.0.18");
    EXPECT_EQ(vrrp_group(AF_INET6).str(), "ff02::12");
    EXPECT_EQ(multicast_mac(vrrp_group(AF_INET)), (Mac{0x01, 0x00, 0x5e, 0x00, 0x00, 0x12}));
    EXPECT_EQ(multicast_mac(vrrp_group(AF_INET6)), (Mac{0x33, 0x33, 0x00, 0x00, 0x00, 0x12}));
    EXPECT_EQ(multicast_mac(ip("239.200.1.2")), (Mac{0x01, 0x00, 0x5e, 0x48, 0x01, 0x02})) << "low 23 bits";
    EXPECT_EQ(multicast_mac(ip("10.0.0.1")), Mac{});
    EXPECT_EQ(virtual_mac(61, AF_INET), (Mac{0x00, 0x00, 0x5e, 0x00, 0x01, 61}));
    EXPECT_EQ(virtual_mac(62, AF_INET6), (Mac{0x00, 0x00, 0x5e, 0x00, 0x02, 62}));
}

TEST(VrrpPacket, AnnouncementsForOtherAddresses) {
    const Mac vmac = virtual_mac(9, AF_INET);
    const Bytes arp = build_gratuitous_arp(ip("192.0.2.77"), vmac);
    ASSERT_EQ(arp.size(), 42u);
    EXPECT_EQ(Bytes(arp.begin() + 6, arp.begin() + 12), Bytes(vmac.begin(), vmac.end()));
    EXPECT_EQ(Bytes(arp.begin() + 28, arp.begin() + 32), (Bytes{192, 0, 2, 77})) << "sender IP";
    EXPECT_EQ(Bytes(arp.begin() + 38, arp.begin() + 42), (Bytes{192, 0, 2, 77})) << "target IP";
    EXPECT_TRUE(build_gratuitous_arp(ip("fd00::1"), vmac).empty());

    for (bool router : {false, true}) {
        const Bytes na = build_unsolicited_na(ip("2001:db8::5"), kLb2Mac, router);
        ASSERT_EQ(na.size(), 86u);
        EXPECT_EQ(na[14 + 40 + 4], router ? 0xa0 : 0x20) << "R|O or O; never S";
        // ICMPv6 checksum over the pseudo-header (src, dst, length 32, next header 58) and message.
        Bytes pseudo(na.begin() + 14 + 8, na.begin() + 14 + 40);  // src, dst
        pseudo.insert(pseudo.end(), {0, 0, 0, 32, 0, 0, 0, 58});
        pseudo.insert(pseudo.end(), na.begin() + 14 + 40, na.end());
        EXPECT_EQ(inet_sum(pseudo), 0);
    }
    EXPECT_TRUE(build_unsolicited_na(ip("192.0.2.1"), kLb2Mac).empty());
}

TEST(VrrpPacket, EveryRejectHasItsOwnName) {
    std::set<std::string_view> names;
    for (size_t i = 0; i < kRejectCount; ++i) {
        const auto name = to_string(static_cast<Reject>(i));
        EXPECT_NE(name, "unknown") << i;
        EXPECT_FALSE(name.empty());
        names.insert(name);
    }
    EXPECT_EQ(names.size(), kRejectCount);
    EXPECT_EQ(to_string(static_cast<Reject>(kRejectCount)), "unknown");
}

TEST(PcapReader, RefusesWhatIsNotPcap) {
    const auto dir = std::filesystem::temp_directory_path();
    const auto path = (dir / ("lbd-pcap-test-" + std::to_string(::getpid()))).string();
    auto write = [&](const Bytes& b) {
        FILE* f = std::fopen(path.c_str(), "wb");
        ASSERT_NE(f, nullptr);
        std::fwrite(b.data(), 1, b.size(), f);
        std::fclose(f);
    };
    EXPECT_THROW(test::read_pcap(path + ".missing"), std::runtime_error);
    write({0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // pcapng
    EXPECT_THROW(test::read_pcap(path), std::runtime_error);
    // Big-endian header, one 2-byte record cut short.
    Bytes be{0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1};
    write(be);
    const auto empty = test::read_pcap(path);
    EXPECT_EQ(empty.linktype, 1u);
    EXPECT_TRUE(empty.records.empty());
    be.insert(be.end(), {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 0xab});
    write(be);
    EXPECT_THROW(test::read_pcap(path), std::runtime_error);
    be.push_back(0xcd);
    write(be);
    const auto one = test::read_pcap(path);
    ASSERT_EQ(one.records.size(), 1u);
    EXPECT_EQ(one.records[0].data, (Bytes{0xab, 0xcd}));
    EXPECT_EQ(one.records[0].ts_frac, 2u);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace lbd::vrrp
