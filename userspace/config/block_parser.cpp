#include "config/block_parser.h"

#include <fmt/format.h>

namespace lbd::config {
namespace {

// Real configs nest four deep; the limit bounds recursion on hostile input.
constexpr int kMaxDepth = 32;

class Parser {
public:
    explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

    // Statements up to the `}` that closes `opener`, or to the end of input
    // at the top level (opener null).
    std::vector<Node> statements(const Node* opener, int depth) {
        std::vector<Node> out;
        for (;;) {
            if (at_end()) {
                if (opener == nullptr) return out;
                throw ConfigError(opener->loc,
                                  fmt::format("block '{}' opened here is never closed", opener->keyword));
            }
            const Token& tok = tokens_[pos_];
            if (tok.kind == TokenKind::close) {
                if (opener == nullptr) throw ConfigError(tok.loc, "unexpected '}'");
                ++pos_;
                return out;
            }
            if (tok.kind == TokenKind::open) throw ConfigError(tok.loc, "unexpected '{'");
            out.push_back(statement(depth));
        }
    }

private:
    const std::vector<Token>& tokens_;
    size_t pos_ = 0;

    bool at_end() const { return pos_ == tokens_.size(); }

    Node statement(int depth) {
        Node node;
        node.keyword = tokens_[pos_].text;
        node.loc = tokens_[pos_].loc;
        ++pos_;
        while (!at_end() && tokens_[pos_].kind == TokenKind::word && !tokens_[pos_].first_on_line) {
            node.quoted.push_back(tokens_[pos_].quoted);
            node.args.push_back(tokens_[pos_++].text);
        }
        // Either on this line or first on the next: both open this statement's block.
        if (!at_end() && tokens_[pos_].kind == TokenKind::open) {
            if (depth == kMaxDepth)
                throw ConfigError(tokens_[pos_].loc, fmt::format("blocks nested deeper than {}", kMaxDepth));
            ++pos_;
            node.has_block = true;
            node.children = statements(&node, depth + 1);
        }
        return node;
    }
};

}  // namespace

std::vector<Node> parse_blocks(const std::vector<Token>& tokens) {
    return Parser(tokens).statements(nullptr, 0);
}

}  // namespace lbd::config
