// lbctl capture's output (cli/pcap.h): the pcap it writes read back by the
// tests' own classic-pcap reader, the hex the daemon sends, and the summary
// line of a frame.
#include "pcap.h"
#include "pcap_reader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

namespace {

// Ethernet + IPv4 (20 bytes) + the first bytes of the layer-4 header.
std::string frame4(uint8_t proto, const std::string& l4) {
    std::string f = lbctl::from_hex("02d50000000c02d500000002" "0800");
    f += lbctl::from_hex("450000000000000000000000");  // version/IHL .. checksum; protocol set below
    f[14 + 9] = static_cast<char>(proto);
    f += lbctl::from_hex("0ad5000a" "0ad50064");  // 10.213.0.10 > 10.213.0.100
    return f + l4;
}

TEST(LbctlPcap, TcpdumpsFormatReadsBack) {
    char path[] = "/tmp/lbctl-pcap-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    close(fd);
    const std::string a = frame4(6, lbctl::from_hex("c38a0007")), b(60, '\x5a');
    {
        std::ofstream out(path, std::ios::binary);
        out << lbctl::pcap_header(256) << lbctl::pcap_record(1'700'000'000'123'456'789, 74, a)
            << lbctl::pcap_record(1'700'000'001'000'000'001, 60, b);
    }
    const lbd::test::PcapFile f = lbd::test::read_pcap(path);
    std::remove(path);
    EXPECT_EQ(f.linktype, lbd::test::kLinktypeEthernet);
    EXPECT_TRUE(f.nanosecond);
    EXPECT_EQ(f.snaplen, 256u);
    ASSERT_EQ(f.records.size(), 2u);
    EXPECT_EQ(f.records[0].ts_sec, 1'700'000'000u);
    EXPECT_EQ(f.records[0].ts_frac, 123'456'789u);
    EXPECT_EQ(f.records[0].orig_len, 74u);
    EXPECT_EQ(std::string(f.records[0].data.begin(), f.records[0].data.end()), a);
    EXPECT_EQ(f.records[1].ts_frac, 1u);
    EXPECT_EQ(std::string(f.records[1].data.begin(), f.records[1].data.end()), b);
}

TEST(LbctlPcap, HexFromTheDaemon) {
    EXPECT_EQ(lbctl::from_hex("00ff10Ab"), std::string("\x00\xff\x10\xab", 4));
    EXPECT_EQ(lbctl::from_hex(""), "");
    EXPECT_THROW(lbctl::from_hex("abc"), std::invalid_argument);
    EXPECT_THROW(lbctl::from_hex("zz"), std::invalid_argument);
}

TEST(LbctlPcap, SummaryLines) {
    EXPECT_EQ(lbctl::frame_summary(frame4(6, lbctl::from_hex("c38a0007"))), "10.213.0.10 > 10.213.0.100: tcp 50058 > 7");
    EXPECT_EQ(lbctl::frame_summary(frame4(112, lbctl::from_hex("31339601"))),
              "10.213.0.10 > 10.213.0.100: VRRPv3 vrid 51 prio 150");
    EXPECT_EQ(lbctl::frame_summary(frame4(112, "")), "10.213.0.10 > 10.213.0.100: proto 112");
    EXPECT_EQ(lbctl::frame_summary(std::string(10, '\0')), "truncated ethernet");
    const std::string vlan = lbctl::from_hex("02d50000000c02d500000002" "8100" "0064" "88cc") + std::string(30, '\0');
    EXPECT_EQ(lbctl::frame_summary(vlan), "vlan 100 ethertype 0x88cc");
}

}  // namespace
