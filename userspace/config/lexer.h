// Tokens of keepalived.conf syntax, with `include` already expanded.
//
// keepalived's grammar is line-based: a statement is a keyword and the words
// after it up to the end of its line. Braces and quotes are the only
// punctuation; `!` and `#` outside quotes start a comment.
#pragma once

#include "config/model.h"

#include <string>
#include <string_view>
#include <vector>

namespace lbd::config {

enum class TokenKind {
    word,   // quotes removed: `"{"` is a word, not a brace
    open,   // {
    close,  // }
};

struct Token {
    TokenKind kind = TokenKind::word;
    std::string text;
    Location loc;
    // The parser ends a statement where a new line starts.
    bool first_on_line = false;
    bool quoted = false;  // a word written in quotes
};

// Throws ConfigError for an unterminated quote, a file that cannot be read,
// or an include that is missing, loops or nests deeper than 8 files.
std::vector<Token> tokenize_file(const std::string& path);

// `name` is the file name in locations; relative includes resolve from the
// current directory.
std::vector<Token> tokenize_string(std::string_view text, const std::string& name);

}  // namespace lbd::config
