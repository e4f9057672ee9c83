// The reading layers: tokens, blocks and include expansion.
#include "config/block_parser.h"
#include "config/lexer.h"
#include "config/load.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

namespace lbd::config {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// "3^word" is a word first on line 3; braces print as themselves.
std::vector<std::string> describe(const std::vector<Token>& tokens) {
    std::vector<std::string> out;
    for (const Token& t : tokens)
        out.push_back(std::to_string(t.loc.line) + (t.first_on_line ? "^" : " ") + t.text);
    return out;
}

// "kw a b {child; child}" for a quick look at the shape of a tree.
std::string dump(const std::vector<Node>& nodes) {
    std::string out;
    for (const Node& n : nodes) {
        if (!out.empty()) out += "; ";
        out += n.keyword;
        for (const auto& a : n.args) out += " " + a;
        if (n.has_block) out += " {" + dump(n.children) + "}";
    }
    return out;
}

Config parse(std::string_view text) { return parse_string(text, "t.conf"); }

// what() of the ConfigError that `read` throws.
template <class Read>
std::string error_of(Read read) {
    try {
        read();
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

std::string load_error(const fs::path& path) {
    return error_of([&] { load(path.string(), {}); });
}

// A fresh directory under the test temp dir (removed first if a previous run
// left it), removed again when the test ends.
class ScratchDir {
public:
    explicit ScratchDir(const std::string& name)
        : path_(fs::path(testing::TempDir()) / ("lbd_config_test_" + name)) {
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ScratchDir(const ScratchDir&) = delete;
    ScratchDir& operator=(const ScratchDir&) = delete;
    ~ScratchDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    fs::path operator/(const fs::path& name) const { return path_ / name; }

private:
    fs::path path_;
};

void write_file(const fs::path& path, std::string_view text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

TEST(Lexer, WordsBracesQuotesComments) {
    const auto tokens = tokenize_string(
        "vrrp_script chk {  # trailing comment\n"
        "  script \"/usr/bin/check --x # not a comment {\"\n"
        "! whole-line comment\n"
        "\n"
        "  weight -2}\r\n"
        "}",
        "t.conf");
    EXPECT_THAT(describe(tokens),
                ElementsAre("1^vrrp_script", "1 chk", "1 {", "2^script",
                            "2 /usr/bin/check --x # not a comment {", "5^weight", "5 -2", "5 }", "6^}"));
    EXPECT_EQ(tokens[4].kind, TokenKind::word);
    EXPECT_TRUE(tokens[4].quoted);
    EXPECT_FALSE(tokens[3].quoted);
    EXPECT_EQ(tokens[7].kind, TokenKind::close);
    EXPECT_EQ(tokens[0].loc.file, "t.conf");
}

TEST(Lexer, BracesAndQuotesEndWords) {
    EXPECT_THAT(describe(tokenize_string("a{b}c\"d e\"f!g", "t.conf")),
                ElementsAre("1^a", "1 {", "1 b", "1 }", "1 c", "1 d e", "1 f"));
}

TEST(Conditional, LinesOfTheConfigIdAreReadOthersAreEmpty) {
    const std::string text =
        "@high router_id high_router\n"
        "  @low\trouter_id low_router # indented, as keepalived allows\n"
        "@^high smtp_helo_name not_high\n"
        "@high\n"
        "plain\n";
    EXPECT_THAT(describe(tokenize_string(text, "t.conf", "high")),
                ElementsAre("1^router_id", "1 high_router", "5^plain"));
    EXPECT_THAT(describe(tokenize_string(text, "t.conf", "low")),
                ElementsAre("2^router_id", "2 low_router", "3^smtp_helo_name", "3 not_high", "5^plain"));
    EXPECT_THAT(describe(tokenize_string(text, "t.conf", "other")),
                ElementsAre("3^smtp_helo_name", "3 not_high", "5^plain"));
}

TEST(Conditional, SelectsKeywordsOfABlockAndEntriesOfAList) {
    const std::string text = R"(global_defs {
@lb1    router_id lb1
@lb2    router_id lb2
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
@lb1    priority 150
@lb2    priority 100
    unicast_peer {
@^lb1       10.0.0.1
@^lb2       10.0.0.2
    }
}
)";
    const Config lb1 = parse_string(text, "t.conf", "lb1");
    EXPECT_EQ(lb1.global.router_id, "lb1");
    EXPECT_EQ(lb1.vrrp_instances.at(0).priority, 150);
    ASSERT_EQ(lb1.vrrp_instances.at(0).unicast_peers.size(), 1u);
    EXPECT_EQ(lb1.vrrp_instances.at(0).unicast_peers[0].addr.str(), "10.0.0.2");
    EXPECT_EQ(lb1.vrrp_instances.at(0).unicast_peers[0].loc.line, 12);
    const Config lb2 = parse_string(text, "t.conf", "lb2");
    EXPECT_EQ(lb2.global.router_id, "lb2");
    EXPECT_EQ(lb2.vrrp_instances.at(0).priority, 100);
    EXPECT_EQ(lb2.vrrp_instances.at(0).unicast_peers.at(0).addr.str(), "10.0.0.1");
}

TEST(Conditional, ErrorsKeepTheirLine) {
    EXPECT_EQ(error_of([] { parse_string("@a router_id x\n@b bogus_keyword\n", "t.conf", "b"); }),
              "t.conf:2: unknown keyword 'bogus_keyword'");
    // A line not read is not checked either.
    EXPECT_EQ(error_of([] { parse_string("@a bogus_keyword\n", "t.conf", "b"); }), "no error");
}

TEST(Conditional, AnAtSignNeedsAConfigId) {
    EXPECT_EQ(error_of([] { tokenize_string("\n@ router_id x\n", "t.conf", "x"); }),
              "t.conf:2: '@' needs a config id right after it");
    EXPECT_EQ(error_of([] { tokenize_string("@^ router_id x\n", "t.conf", "x"); }),
              "t.conf:1: '@^' needs a config id right after it");
}

TEST(BlockParser, BraceOnStatementLineNextLineOrOneLine) {
    const auto tree =
        parse_blocks(tokenize_string("real_server 10.0.0.1 80 { weight 2 }\n"
                                     "virtual_ipaddress { 10.0.0.1/24 }\n"
                                     "real_server 10.0.0.2 80\n"
                                     "{\n"
                                     "    weight 3\n"
                                     "}\n"
                                     "inhibit_on_failure\n"
                                     "empty {}\n"
                                     "a { b { c } } d\n",
                                     "t.conf"));
    EXPECT_EQ(dump(tree),
              "real_server 10.0.0.1 80 {weight 2}; virtual_ipaddress {10.0.0.1/24}; "
              "real_server 10.0.0.2 80 {weight 3}; inhibit_on_failure; empty {}; a {b {c}}; d");
    EXPECT_EQ(tree[2].loc.line, 3);
    EXPECT_THAT(tree[0].quoted, ElementsAre(false, false));
    EXPECT_EQ(tree[2].children[0].loc.line, 5);
    EXPECT_FALSE(tree[3].has_block);
}

TEST(BlockParser, NestingIsBounded) {
    std::string text;
    for (int i = 0; i < 40; ++i) text += "a {\n";
    EXPECT_EQ(error_of([&] { parse(text); }), "t.conf:33: blocks nested deeper than 32");
}

TEST(Include, ExpandsGlobsInOrder) {
    const ScratchDir dir("include");
    write_file(dir / "main.conf", R"(global_defs {
    include globals.conf
}
include conf.d/*.conf
include empty.d/*.conf
)");
    write_file(dir / "globals.conf", "router_id FROM_INCLUDE\nlb_interface eth0\n");
    write_file(dir / "conf.d/20-web.conf", "virtual_server 10.0.0.2 80 {\n  real_server 10.0.1.2 80\n}\n");
    write_file(
        dir / "conf.d/10-dns.conf",
        "virtual_server 10.0.0.1 53 {\n  protocol UDP\n  delay_loop 5\n  real_server 10.0.1.1 53\n}\n");
    fs::create_directories(dir / "empty.d");

    const Config c = load((dir / "main.conf").string(), {});
    EXPECT_EQ(c.global.router_id, "FROM_INCLUDE");
    EXPECT_THAT(c.global.lb_interfaces, ElementsAre("eth0"));
    ASSERT_EQ(c.virtual_servers.size(), 2u);
    EXPECT_EQ(c.virtual_servers[0].addr.str(), "10.0.0.1");
    EXPECT_EQ(c.virtual_servers[0].loc.file, (dir / "conf.d/10-dns.conf").string());
    EXPECT_EQ(c.virtual_servers[1].addr.str(), "10.0.0.2");
    EXPECT_EQ(c.virtual_servers[0].delay_loop, std::chrono::seconds(5));
    EXPECT_THAT(c.warnings, IsEmpty());
}

TEST(Include, ConditionalIncludeIsFollowedOnlyForItsConfigId) {
    const ScratchDir dir("conditional");
    write_file(dir / "main.conf", "@lb1 include lb1.conf\n@^lb1 include missing.conf\n");
    write_file(dir / "lb1.conf", "global_defs {\n  router_id from_lb1\n}\n");
    EXPECT_EQ(load((dir / "main.conf").string(), "lb1").global.router_id, "from_lb1");
    EXPECT_EQ(load_error(dir / "main.conf"),
              (dir / "main.conf").string() + ":2: include missing.conf matches no file");
}

TEST(Include, LoopIsAnError) {
    const ScratchDir dir("loop");
    write_file(dir / "a.conf", "include b.conf\n");
    write_file(dir / "b.conf", "\ninclude a.conf\n");
    EXPECT_EQ(load_error(dir / "a.conf"), (dir / "b.conf").string() + ":2: include loop: " +
                                              (dir / "a.conf").string() + " is already being read");
}

TEST(Include, DepthIsBounded) {
    const ScratchDir dir("depth");
    // f0 includes f1 ... includes f9: nine files (eight levels) are allowed.
    for (int i = 0; i < 9; ++i)
        write_file(dir / ("f" + std::to_string(i) + ".conf"),
                   "include f" + std::to_string(i + 1) + ".conf\n");
    write_file(dir / "f9.conf", "global_defs { router_id deep }\n");
    EXPECT_EQ(load((dir / "f1.conf").string(), {}).global.router_id, "deep");
    EXPECT_EQ(load_error(dir / "f0.conf"),
              (dir / "f8.conf").string() + ":1: include f9.conf nests files deeper than 8 levels");
}

TEST(Include, DirectoryIsAnError) {
    const ScratchDir dir("includedir");
    write_file(dir / "main.conf", "include sub\n");
    fs::create_directories(dir / "sub");
    EXPECT_EQ(load_error(dir / "main.conf"), (dir / "main.conf").string() + ":1: cannot read " +
                                                 (dir / "sub").string() + ": not a regular file");
}

TEST(Include, EmptyGlobIsIgnored) {
    EXPECT_THAT(parse("include /nonexistent-lbd-dir/*.conf\n").virtual_servers, IsEmpty());
}

TEST(Load, MissingFileNamesPathAndReason) {
    const ScratchDir dir("missing");
    const fs::path path = dir / "keepalived.conf";
    EXPECT_EQ(load_error(path), path.string() + ": cannot read: " + std::strerror(ENOENT));
}

}  // namespace
}  // namespace lbd::config
