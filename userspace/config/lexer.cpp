#include "config/lexer.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <iterator>
#include <optional>
#include <system_error>

namespace lbd::config {
namespace {

// Deep enough for any conf.d layout; stops runaway recursion early.
constexpr int kMaxIncludeDepth = 8;

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// `blame` is where the file was asked for: the include line, or line 0 of
// the file itself when it is the top-level one.
std::string cannot_read(const std::string& path, const Location& blame, const std::string& why) {
    return blame.line == 0 ? "cannot read: " + why : fmt::format("cannot read {}: {}", path, why);
}

class Fd {
public:
    explicit Fd(int fd) : fd(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    const int fd;
};

class GlobMatches {
public:
    GlobMatches() = default;
    GlobMatches(const GlobMatches&) = delete;
    GlobMatches& operator=(const GlobMatches&) = delete;
    ~GlobMatches() { globfree(&g); }
    glob_t g{};
};

// Included files must be regular: a glob can match a directory, and a
// device or FIFO could block or never end.
std::string read_whole_file(const std::string& path, const Location& blame, bool must_be_regular) {
    // O_NONBLOCK keeps open() of an included FIFO from waiting for a writer.
    const Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | (must_be_regular ? O_NONBLOCK : 0)));
    if (file.fd < 0) throw ConfigError(blame, cannot_read(path, blame, errno_text(errno)));

    struct stat st {};
    if (must_be_regular && (::fstat(file.fd, &st) != 0 || !S_ISREG(st.st_mode)))
        throw ConfigError(blame, cannot_read(path, blame, "not a regular file"));

    std::string text;
    char buf[1 << 16];
    for (;;) {
        const ssize_t n = ::read(file.fd, buf, sizeof buf);
        if (n == 0) return text;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw ConfigError(blame, cannot_read(path, blame, errno_text(errno)));
        text.append(buf, static_cast<size_t>(n));
    }
}

// Identity of a file for loop detection: the same file reached through
// different relative paths or symlinks is still the same file.
std::string canonical(const std::string& path) {
    std::error_code ec;
    const auto p = std::filesystem::canonical(path, ec);
    return ec ? path : p.string();
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Outside quotes, `!` or `#` ends the line and braces are tokens even when
// glued to a word; inside quotes everything up to the closing quote is text.
std::vector<Token> split_line(std::string_view line, const Location& loc) {
    std::vector<Token> out;
    size_t i = 0;
    while (i < line.size()) {
        const char c = line[i];
        if (is_space(c)) {
            ++i;
        } else if (c == '!' || c == '#') {
            break;
        } else if (c == '{' || c == '}') {
            out.push_back({c == '{' ? TokenKind::open : TokenKind::close, std::string(1, c), loc, false});
            ++i;
        } else if (c == '"') {
            const size_t end = line.find('"', i + 1);
            if (end == std::string_view::npos) throw ConfigError(loc, "unterminated quote");
            out.push_back({TokenKind::word, std::string(line.substr(i + 1, end - i - 1)), loc, false, true});
            i = end + 1;
        } else {
            size_t end = i;
            while (end < line.size() && !is_space(line[end]) &&
                   std::string_view("{}\"!#").find(line[end]) == std::string_view::npos)
                ++end;
            out.push_back({TokenKind::word, std::string(line.substr(i, end - i)), loc, false});
            i = end;
        }
    }
    if (!out.empty()) out.front().first_on_line = true;
    return out;
}

// The part of `line` that is read under `config_id`: all of it, the rest
// after a matching `@ID` / `@^ID`, or nothing.
std::optional<std::string_view> selected(std::string_view line, const Location& loc, const std::string& config_id) {
    size_t at = 0;
    while (at < line.size() && is_space(line[at])) ++at;
    if (at == line.size() || line[at] != '@') return line;
    const bool negated = at + 1 < line.size() && line[at + 1] == '^';
    const size_t id_start = at + (negated ? 2 : 1);
    size_t id_end = id_start;
    while (id_end < line.size() && !is_space(line[id_end])) ++id_end;
    const std::string_view id = line.substr(id_start, id_end - id_start);
    if (id.empty())
        throw ConfigError(loc, fmt::format("'{}' needs a config id right after it", negated ? "@^" : "@"));
    if ((id == config_id) == negated) return std::nullopt;
    return line.substr(id_end);
}

class Lexer {
public:
    explicit Lexer(const std::string& config_id) : config_id_(config_id) {}

    std::vector<Token> tokens;

    // `dir` anchors relative includes; empty means the current directory.
    void lex(std::string_view text, const std::string& name, const std::string& dir, int depth) {
        int line_no = 0;
        size_t start = 0;
        while (start <= text.size()) {
            size_t end = text.find('\n', start);
            if (end == std::string_view::npos) end = text.size();
            ++line_no;
            const Location loc{name, line_no};
            const auto read = selected(text.substr(start, end - start), loc, config_id_);
            auto line = read ? split_line(*read, loc) : std::vector<Token>{};
            if (!line.empty() && line.front().kind == TokenKind::word && line.front().text == "include")
                include(line, dir, depth);
            else
                std::move(line.begin(), line.end(), std::back_inserter(tokens));
            start = end + 1;
        }
    }

    void lex_file(const std::string& path, const Location& blame, int depth) {
        const std::string id = canonical(path);
        if (std::find(reading_.begin(), reading_.end(), id) != reading_.end())
            throw ConfigError(blame, fmt::format("include loop: {} is already being read", path));
        const std::string text = read_whole_file(path, blame, depth > 0);
        reading_.push_back(id);
        lex(text, path, std::filesystem::path(path).parent_path().string(), depth);
        reading_.pop_back();
    }

private:
    const std::string& config_id_;
    std::vector<std::string> reading_;  // canonical paths, outermost first

    void include(const std::vector<Token>& line, const std::string& dir, int depth) {
        const Location& loc = line.front().loc;
        if (line.size() != 2 || line[1].kind != TokenKind::word || line[1].text.empty())
            throw ConfigError(loc, "include needs one file pattern");
        const std::string& pattern = line[1].text;
        if (depth >= kMaxIncludeDepth)
            throw ConfigError(
                loc, fmt::format("include {} nests files deeper than {} levels", pattern, kMaxIncludeDepth));

        const std::string full = pattern.front() == '/' || dir.empty() ? pattern : dir + "/" + pattern;
        GlobMatches matches;
        const int rc = ::glob(full.c_str(), 0, nullptr, &matches.g);
        // keepalived ignores a wildcard that matches nothing (an empty
        // conf.d), but a named file that is missing is a mistake.
        if (rc == GLOB_NOMATCH) {
            if (pattern.find_first_of("*?[") == std::string::npos)
                throw ConfigError(loc, fmt::format("include {} matches no file", pattern));
            return;
        }
        if (rc != 0) throw ConfigError(loc, fmt::format("include {}: cannot list matching files", pattern));
        // glob(3) returns the matches sorted.
        for (size_t i = 0; i < matches.g.gl_pathc; ++i) lex_file(matches.g.gl_pathv[i], loc, depth + 1);
    }
};

}  // namespace

std::vector<Token> tokenize_file(const std::string& path, const std::string& config_id) {
    Lexer lexer(config_id);
    lexer.lex_file(path, Location{path, 0}, 0);
    return std::move(lexer.tokens);
}

std::vector<Token> tokenize_string(std::string_view text, const std::string& name, const std::string& config_id) {
    Lexer lexer(config_id);
    lexer.lex(text, name, "", 0);
    return std::move(lexer.tokens);
}

}  // namespace lbd::config
