// check::BodyRegex: PCRE2 as keepalived runs it for HTTP_GET's regex, with
// regex_options and the offsets; bodies a hostile real server would send
// (megabytes on one line, patterns that backtrack without end) end in a
// verdict, never in a crash.
#include "check/body_regex.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace lbd::check {
namespace {

using Kind = BodyRegex::Outcome::Kind;

config::HttpUrl with_regex(std::string regex) {
    config::HttpUrl u;
    u.path = "/";
    u.regex = std::move(regex);
    return u;
}

Kind search(const config::HttpUrl& url, const std::string& body) {
    BodyRegex regex(url);
    return regex.search(body).kind;
}

TEST(BodyRegex, PerlSyntaxAsKeepalivedsPcre2) {
    EXPECT_EQ(search(with_regex(R"(status:\s+(ok|fine))"), "status:  fine\n"), Kind::matched);
    EXPECT_EQ(search(with_regex(R"((?<=id=)\d+)"), "id=42"), Kind::matched);
    EXPECT_EQ(search(with_regex("error"), "all fine"), Kind::no_match);
}

TEST(BodyRegex, AnOptionNamedAsKeepalivedNamesIt) {
    config::HttpUrl u = with_regex("^ALL FINE$");
    EXPECT_EQ(search(u, "x\nall fine\n"), Kind::no_match);
    u.regex_options = {"caseless", "multiline"};
    EXPECT_EQ(search(u, "x\nall fine\n"), Kind::matched);
    u.regex_options = {"nonsense"};
    EXPECT_THROW(BodyRegex{u}, std::invalid_argument);
}

TEST(BodyRegex, OffsetsBoundWhereAMatchMayStart) {
    config::HttpUrl u = with_regex("ok");
    const std::string body = "ok........ok";  // matches at 0 and 10
    u.regex_min_offset = 1;
    EXPECT_EQ(search(u, body), Kind::matched);
    u.regex_min_offset = 11;
    EXPECT_EQ(search(u, body), Kind::no_match);
    u.regex_min_offset = 100;  // past the end of the body
    EXPECT_EQ(search(u, body), Kind::no_match);
    u.regex_min_offset = 1;
    u.regex_max_offset = 9;
    EXPECT_EQ(search(u, body), Kind::no_match);
    u.regex_max_offset = 10;  // a match may start at the max offset itself
    EXPECT_EQ(search(u, body), Kind::matched);
}

TEST(BodyRegex, ABadPatternSaysWhereItIsBad) {
    try {
        BodyRegex regex(with_regex("(unclosed"));
        FAIL() << "compiled";
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()), "missing closing parenthesis at offset 9");
    }
}

// The page that killed lbd with std::regex: its recursion went one frame per
// byte. PCRE2 answers, or runs out of its bounded JIT stack and says so.
TEST(BodyRegex, AHugeOneLinePageIsSearched) {
    const std::string page = std::string(2 << 20, 'x') + " status: ok";
    EXPECT_EQ(search(with_regex(".*status: ok"), page), Kind::matched);
    EXPECT_EQ(search(with_regex("x+ status: ok$"), page), Kind::matched);
    EXPECT_EQ(search(with_regex(".*status: bad"), page), Kind::no_match);
    BodyRegex group(with_regex("^(x|y)*status: ok"));
    const BodyRegex::Outcome outcome = group.search(page);
    EXPECT_EQ(outcome.kind, Kind::failed);
    EXPECT_EQ(outcome.error, "JIT stack limit reached");
}

TEST(BodyRegex, BacktrackingWithoutEndFailsAtTheMatchLimit) {
    const std::string body = std::string(30, 'a') + "b";
    BodyRegex regex(with_regex("^(a+)+$"));
    const BodyRegex::Outcome outcome = regex.search(body);
    EXPECT_EQ(outcome.kind, Kind::failed);
    EXPECT_EQ(outcome.error, "match limit exceeded");
}

TEST(BodyRegex, TheJitStackOfRegexStackBoundsDeepMatches) {
    config::HttpUrl u = with_regex("^(x(y)?)*$");
    const std::string page(1 << 20, 'x');
    u.regex_stack = config::RegexStack{4096, 8192};
    BodyRegex small(u);
    const BodyRegex::Outcome outcome = small.search(page);
    EXPECT_EQ(outcome.kind, Kind::failed);
    EXPECT_EQ(outcome.error, "JIT stack limit reached");
    u.regex_stack = config::RegexStack{1 << 20, 64 << 20};
    EXPECT_EQ(search(u, page), Kind::matched);
}

TEST(BodyRegex, BytesThatAreNoUtf8FailAUtfRegex) {
    config::HttpUrl u = with_regex("ok");
    u.regex_options = {"utf"};
    const BodyRegex::Outcome outcome = BodyRegex(u).search("\xff\xfe ok");
    EXPECT_EQ(outcome.kind, Kind::failed);
    EXPECT_NE(outcome.error.find("UTF-8 error"), std::string::npos) << outcome.error;
}

}  // namespace
}  // namespace lbd::check
