// DNS_CHECK's messages: the query's bytes, names that cannot be sent, and
// which answers pass, fail or are not answers to the query at all.
#include "check/dns_message.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <stdexcept>
#include <string>
#include <vector>

namespace lbd::check::dns {
namespace {

using ::testing::ElementsAreArray;
using Kind = Verdict::Kind;

// An answer as a server writes it: the query echoed, QR set, RCODE set,
// `records` counted in ANCOUNT (their bytes do not matter here).
std::vector<uint8_t> answer_to(std::vector<uint8_t> query, unsigned rcode = 0, uint8_t records = 0) {
    query[2] |= 0x80;
    query[3] = uint8_t((query[3] & 0xf0) | rcode);
    query[7] = records;
    return query;
}

TEST(DnsMessage, QueryHasIdRecursionDesiredAndOneQuestion) {
    const std::vector<uint8_t> expected = {
        0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // header
        7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',  3,    'c',  'o',  'm',  0,     // QNAME
        0x00, 0x01, 0x00, 0x01,                                                  // QTYPE A, QCLASS IN
    };
    EXPECT_THAT(build_query(0x1234, "example.com", 1), ElementsAreArray(expected));
    EXPECT_THAT(build_query(0x1234, "example.com.", 1), ElementsAreArray(expected)) << "trailing dot: the same";
}

TEST(DnsMessage, RootIsOneZeroByte) {
    const std::vector<uint8_t> expected = {0xab, 0xcd, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
                                           0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x01};
    EXPECT_THAT(build_query(0xabcd, ".", 6), ElementsAreArray(expected));
    EXPECT_THAT(build_query(0xabcd, "", 6), ElementsAreArray(expected));
}

TEST(DnsMessage, NamesThatCannotBeEncodedAreRefused) {
    EXPECT_THROW(build_query(1, "a..b", 1), std::invalid_argument);
    EXPECT_THROW(build_query(1, ".a", 1), std::invalid_argument);
    EXPECT_THROW(build_query(1, "a..", 1), std::invalid_argument);
    EXPECT_THROW(build_query(1, std::string(64, 'x') + ".com", 1), std::invalid_argument);
    EXPECT_NO_THROW(build_query(1, std::string(63, 'x') + ".com", 1));
    std::string long_name;
    for (int i = 0; i < 5; ++i) long_name += std::string(63, 'a' + i) + ".";  // 5 * 64 + 1 bytes encoded
    try {
        build_query(1, long_name, 1);
        ADD_FAILURE() << "a name of 321 bytes was encoded";
    } catch (const std::invalid_argument& e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("over 255"));
    }
}

TEST(DnsMessage, TypesAreKeepalivedsAnyCase) {
    EXPECT_EQ(type_code("A"), 1);
    EXPECT_EQ(type_code("NS"), 2);
    EXPECT_EQ(type_code("CNAME"), 5);
    EXPECT_EQ(type_code("SOA"), 6);
    EXPECT_EQ(type_code("MX"), 15);
    EXPECT_EQ(type_code("TXT"), 16);
    EXPECT_EQ(type_code("aaaa"), 28);
    EXPECT_EQ(type_code("PTR"), std::nullopt);
    EXPECT_EQ(type_code("AA"), std::nullopt);
}

TEST(DnsMessage, RcodeNames) {
    EXPECT_EQ(rcode_name(0), "NOERROR");
    EXPECT_EQ(rcode_name(2), "SERVFAIL");
    EXPECT_EQ(rcode_name(3), "NXDOMAIN");
    EXPECT_EQ(rcode_name(5), "REFUSED");
    EXPECT_EQ(rcode_name(12), "12");
}

TEST(DnsMessage, NoErrorAnswerPassesWithOrWithoutRecords) {
    const auto query = build_query(0x4242, "www.example.org", 28);
    Verdict v = check_answer(query, answer_to(query, 0, 1));
    EXPECT_EQ(v.kind, Kind::ok);
    EXPECT_EQ(v.detail, "NOERROR, 1 answer");
    v = check_answer(query, answer_to(query));
    EXPECT_EQ(v.kind, Kind::ok) << "keepalived passes an empty answer section";
    EXPECT_EQ(v.detail, "NOERROR, 0 answers");
}

TEST(DnsMessage, OtherRcodesFail) {
    const auto query = build_query(7, "example.com", 1);
    Verdict v = check_answer(query, answer_to(query, 3));
    EXPECT_EQ(v.kind, Kind::failed);
    EXPECT_EQ(v.detail, "rcode NXDOMAIN");
    v = check_answer(query, answer_to(query, 2));
    EXPECT_EQ(v.detail, "rcode SERVFAIL");
    std::vector<uint8_t> formerr(query.begin(), query.begin() + 12);  // FORMERR often echoes no question
    formerr = answer_to(formerr, 1);
    formerr[5] = 0;
    EXPECT_EQ(check_answer(query, formerr).detail, "rcode FORMERR");
}

TEST(DnsMessage, AnswersToAnotherQuestionFail) {
    const auto query = build_query(9, "example.com", 1);
    auto other_name = answer_to(query);
    other_name[13] = 'f';  // "fxample"
    EXPECT_EQ(check_answer(query, other_name).kind, Kind::failed);
    EXPECT_EQ(check_answer(query, other_name).detail, "answer to another question");
    auto other_type = answer_to(query);
    other_type[other_type.size() - 3] = 28;
    EXPECT_EQ(check_answer(query, other_type).kind, Kind::failed);
    auto no_question = answer_to(query);
    no_question[5] = 0;
    EXPECT_EQ(check_answer(query, no_question).kind, Kind::failed);
    const auto whole = answer_to(query);
    const std::vector<uint8_t> cut(whole.begin(), whole.begin() + 20);
    EXPECT_EQ(check_answer(query, cut).kind, Kind::failed);
}

TEST(DnsMessage, NamesCompareWithoutCase) {
    const auto query = build_query(9, "example.com", 1);
    auto upper = answer_to(query);
    for (size_t i = 13; i < 20; ++i) upper[i] = uint8_t(std::toupper(upper[i]));
    EXPECT_EQ(check_answer(query, upper).kind, Kind::ok);
}

TEST(DnsMessage, WhatIsNoAnswerToTheQueryIsIgnored) {
    const auto query = build_query(0x1111, "example.com", 1);
    auto other_id = answer_to(query);
    other_id[1] = 0x12;
    EXPECT_EQ(check_answer(query, other_id).kind, Kind::ignored);
    EXPECT_EQ(check_answer(query, query).kind, Kind::ignored) << "QR clear: a query";
    const std::vector<uint8_t> short_one(query.begin(), query.begin() + 11);
    EXPECT_EQ(check_answer(query, short_one).kind, Kind::ignored);
    EXPECT_EQ(check_answer(query, {}).kind, Kind::ignored);
}

}  // namespace
}  // namespace lbd::check::dns
