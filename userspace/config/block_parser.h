// Statements and blocks of keepalived.conf, before any keyword has meaning.
#pragma once

#include "config/lexer.h"
#include "config/model.h"

#include <string>
#include <vector>

namespace lbd::config {

struct Node {
    std::string keyword;
    std::vector<std::string> args;
    std::vector<bool> quoted;  // per argument: written in quotes
    std::vector<Node> children;
    bool has_block = false;  // `x {}` is a block with no children; `x` has none
    Location loc;            // of the keyword
};

// A block opens with `{` at the end of its statement's line or alone on the
// next line, and may close on the same line: `real_server 10.0.0.1 80 { weight 2 }`.
// Throws ConfigError for a block never closed, a stray brace, or nesting
// deeper than 32 blocks.
std::vector<Node> parse_blocks(const std::vector<Token>& tokens);

}  // namespace lbd::config
