// HTTP_GET and SSL_GET, as keepalived's check_http and check_ssl: each url in
// turn on a connection of its own, with keepalived's request; the status code,
// then the MD5 digest of the body, then the regex judge the response.
#include "check/body_regex.h"
#include "check/http_response.h"
#include "check/probe_types.h"
#include "check/stream.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <openssl/evp.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <vector>

namespace lbd::check {
namespace {

constexpr uint16_t kHttpPort = 80;
constexpr uint16_t kHttpsPort = 443;

// The url's virtualhost, else the address (RFC 3986 brackets for IPv6) and
// the port unless it is the scheme's own.
std::string host_header(const config::HttpUrl& url, const config::CheckTarget& target, bool ssl) {
    if (!url.virtualhost.empty()) return url.virtualhost;
    const std::string ip = target.connect_ip.str();
    std::string host = target.connect_ip.family == AF_INET6 ? fmt::format("[{}]", ip) : ip;
    if (target.connect_port != (ssl ? kHttpsPort : kHttpPort)) host += fmt::format(":{}", target.connect_port);
    return host;
}

// keepalived's request, byte for byte; http_protocol 1.0C and 1.1 ask the
// server to close the connection after the response.
std::string http_request(const config::HttpCheck& http, const config::HttpUrl& url, const std::string& host) {
    const bool v11 = http.http_protocol == "1.1";
    const bool close = v11 || http.http_protocol == "1.0C";
    return fmt::format("GET {} HTTP/1.{}\r\nUser-Agent: KeepAliveClient\r\n{}Host: {}\r\n\r\n", url.path, v11 ? 1 : 0,
                       close ? "Connection: close\r\n" : "", host);
}

// SNI carries a host name, never an address (RFC 6066 section 3): without a
// name to send, none is sent, as keepalived.
std::string sni_name(const config::HttpCheck& http, const config::HttpUrl& url) {
    if (!http.enable_sni) return {};
    return http.sni_name.empty() ? url.virtualhost : http.sni_name;
}

// nullopt when OpenSSL has no MD5 (a FIPS-only build).
std::optional<std::string> md5_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr)) return std::nullopt;
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
    return hex;
}

struct Url {
    config::HttpUrl url;
    std::string request;
    std::optional<TlsOptions> tls;  // SSL_GET
    std::unique_ptr<BodyRegex> regex;
    std::string regex_error;  // the regex does not compile: the url fails each attempt
};

class HttpProbe final : public StreamProbe {
public:
    HttpProbe(const config::Checker& checker, Loop& loop)
        : StreamProbe(loop), target_(checker.target), timeout_(checker.timing.connect_timeout) {
        const auto& http = std::get<config::HttpCheck>(checker.detail);
        const bool ssl = checker.type == config::CheckerType::SSL_GET;
        for (const config::HttpUrl& url : http.urls) {
            Url u;
            u.url = url;
            u.request = http_request(http, url, host_header(url, target_, ssl));
            if (ssl) u.tls = TlsOptions{sni_name(http, url)};
            if (!url.regex.empty()) {
                try {
                    u.regex = std::make_unique<BodyRegex>(url);
                } catch (const std::invalid_argument& e) {
                    u.regex_error = e.what();
                }
            }
            urls_.push_back(std::move(u));
        }
    }

    void start(Done done) override {
        begin(std::move(done));
        current_ = 0;
        passed_.clear();
        fetch();
    }

private:
    void fetch() {
        response_.emplace();
        arm(timeout_);
        stream_.open(target_, urls_[current_].tls, [this](const std::string& error) {
            if (!error.empty()) return fail(error);
            stream_.send(urls_[current_].request, [this](const std::string& send_error) {
                if (!send_error.empty()) return fail(send_error);
                stream_.receive([this](const Stream::Chunk& chunk) { on_chunk(chunk); });
            });
        });
    }

    void on_chunk(const Stream::Chunk& chunk) {
        if (!chunk.error.empty()) return fail(chunk.error);
        const HttpResponse::State state = chunk.eof ? response_->end() : response_->feed(chunk.data);
        if (state == HttpResponse::State::incomplete) return;
        if (state == HttpResponse::State::failed) return fail(response_->error());
        stream_.close();
        std::string verdict;
        if (!judge(urls_[current_], *response_, verdict)) return fail(verdict);
        passed_.push_back(fmt::format("url {}: {}", urls_[current_].url.path, verdict));
        if (++current_ < urls_.size()) return fetch();
        finish({true, fmt::format("{}", fmt::join(passed_, "; ")), std::nullopt});
    }

    // keepalived's order: the status code, then the digest, then the regex.
    // `verdict` says what was found, on success too.
    static bool judge(Url& u, const HttpResponse& response, std::string& verdict) {
        const int status = response.status();
        const auto& codes = u.url.status_codes;
        verdict = fmt::format("status code {}", status);
        if (!std::any_of(codes.begin(), codes.end(), [&](auto r) { return status >= r.first && status <= r.second; }))
            return false;
        if (!u.url.digest.empty()) {
            const std::optional<std::string> got = md5_hex(response.body());
            if (!got) {
                verdict = "MD5 digest: OpenSSL offers no MD5";
                return false;
            }
            if (*got != u.url.digest) {
                verdict = fmt::format("MD5 digest mismatch: got {}, expected {}", *got, u.url.digest);
                return false;
            }
            verdict += ", MD5 digest match";
        }
        if (!u.url.regex.empty()) {
            if (!u.regex) {
                verdict = fmt::format("bad regex '{}': {}", u.url.regex, u.regex_error);
                return false;
            }
            const BodyRegex::Outcome outcome = u.regex->search(response.body());
            if (outcome.kind == BodyRegex::Outcome::Kind::failed) {
                verdict = fmt::format("regex '{}': {}", u.url.regex, outcome.error);
                return false;
            }
            const bool matched = outcome.kind == BodyRegex::Outcome::Kind::matched;
            if (matched == u.url.regex_no_match) {
                verdict = matched ? fmt::format("regex '{}' matched (regex_no_match)", u.url.regex)
                                  : fmt::format("regex '{}' did not match", u.url.regex);
                return false;
            }
            verdict += matched ? ", regex match" : ", no regex match";
        }
        return true;
    }

    void fail(const std::string& why) {
        finish({false, fmt::format("url {}: {}", urls_[current_].url.path, why), std::nullopt});
    }

    std::string timeout_detail() const override {
        const Stream::State s = stream_.state();
        const char* waiting = s == Stream::State::connecting    ? "connecting"
                              : s == Stream::State::handshaking ? "in the TLS handshake"
                              : s == Stream::State::sending     ? "sending the request"
                                                                : "reading the response";
        return fmt::format("url {}: timeout {}", urls_[current_].url.path, waiting);
    }

    const config::CheckTarget target_;
    const config::Duration timeout_;
    std::vector<Url> urls_;
    size_t current_ = 0;
    std::optional<HttpResponse> response_;
    std::vector<std::string> passed_;
};

}  // namespace

std::unique_ptr<Probe> make_http_probe(const config::Checker& checker, const ProbeContext& context) {
    const auto* http = std::get_if<config::HttpCheck>(&checker.detail);
    if (http == nullptr || http->urls.empty())
        throw std::invalid_argument(fmt::format("{} checker without urls", config::to_string(checker.type)));
    return std::make_unique<HttpProbe>(checker, context.loop);
}

}  // namespace lbd::check
