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

// keepalived's conditional lines are settled here, against `config_id`:
// `@ID rest` is read as `rest` when ID is the config id and as an empty line
// otherwise; `@^ID rest` the other way round. A line keeps its number either
// way, and an `include` it holds is followed only when it is read.
//
// Throws ConfigError for an unterminated quote, a file that cannot be read,
// an include that is missing, loops or nests deeper than 8 files, or an `@`
// with no config id after it.
std::vector<Token> tokenize_file(const std::string& path, const std::string& config_id);

// `name` is the file name in locations; relative includes resolve from the
// current directory.
std::vector<Token> tokenize_string(std::string_view text, const std::string& name,
                                   const std::string& config_id = {});

}  // namespace lbd::config
