#include "notify/smtp.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "util/log.h"

namespace lbd::notify {
namespace {

using Clock = std::chrono::steady_clock;

// A reply longer than this is not a mail server talking to us.
constexpr size_t kMaxReplyBytes = 64 * 1024;

// Thrown inside a session only; send_mail() turns it into its return value.
struct SmtpError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Reply {
    int code = 0;
    std::string text;  // the text of every line after its code, joined by spaces

    std::string str() const { return text.empty() ? std::to_string(code) : fmt::format("{} {}", code, text); }
    bool positive() const { return code / 100 == 2; }
};

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0')
        return "localhost";
    return name;
}

// "[::1]" and "::1" both name an IPv6 server; getaddrinfo wants the bare form.
std::string bare_host(const std::string& server) {
    if (server.size() > 2 && server.front() == '[' && server.back() == ']')
        return server.substr(1, server.size() - 2);
    return server;
}

std::string server_label(const SmtpSettings& s) {
    std::string host = bare_host(s.server);
    if (host.find(':') != std::string::npos)
        return fmt::format("[{}]:{}", host, s.port);
    return fmt::format("{}:{}", host, s.port);
}

// One TCP connection to the server, every wait bounded by one deadline for
// the whole session.
class Connection {
public:
    explicit Connection(const SmtpSettings& s)
        : label_(server_label(s)), timeout_(s.timeout), deadline_(Clock::now() + s.timeout) {
        connect(s);
    }
    ~Connection() {
        if (fd_ >= 0)
            close(fd_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    const std::string& label() const { return label_; }

    void send(std::string_view data, std::string_view what) {
        while (!data.empty()) {
            ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
            if (n > 0) {
                data.remove_prefix(static_cast<size_t>(n));
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                wait(POLLOUT, fmt::format("sending {}", what));
            } else if (errno != EINTR) {
                throw SmtpError(fmt::format("server {}: cannot send {}: {}", label_, what, strerror(errno)));
            }
        }
    }

    // `what` completes "waiting for ...": "the greeting", "the reply to DATA".
    Reply read_reply(std::string_view what) {
        for (;;) {
            if (auto reply = parse(what))
                return *reply;
            if (buf_.size() > kMaxReplyBytes)
                throw SmtpError(fmt::format("server {}: reply longer than {} bytes waiting for {}", label_,
                                            kMaxReplyBytes, what));
            wait(POLLIN, fmt::format("waiting for {}", what));
            char chunk[4096];
            ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
            if (n > 0)
                buf_.append(chunk, static_cast<size_t>(n));
            else if (n == 0)
                throw SmtpError(fmt::format("server {} closed the connection waiting for {}", label_, what));
            else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                throw SmtpError(fmt::format("server {}: receive failed waiting for {}: {}", label_, what,
                                            strerror(errno)));
        }
    }

private:
    void connect(const SmtpSettings& s) {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* head = nullptr;
        std::string port = std::to_string(s.port);
        if (int rc = getaddrinfo(bare_host(s.server).c_str(), port.c_str(), &hints, &head); rc != 0)
            throw SmtpError(fmt::format("server {}: cannot resolve: {}", label_, gai_strerror(rc)));
        std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> found(head, freeaddrinfo);
        std::string last_error;
        for (addrinfo* ai = found.get(); ai != nullptr && fd_ < 0; ai = ai->ai_next) {
            try {
                try_connect(*ai);
            } catch (const SmtpError& e) {
                last_error = e.what();
                if (Clock::now() >= deadline_)
                    break;  // no time left for the other addresses
            }
        }
        if (fd_ < 0)
            throw SmtpError(last_error);
    }

    void try_connect(const addrinfo& ai) {
        fd_ = socket(ai.ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
        if (fd_ < 0)
            throw SmtpError(fmt::format("server {}: socket: {}", label_, strerror(errno)));
        int err = 0;
        if (::connect(fd_, ai.ai_addr, ai.ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                try {
                    wait(POLLOUT, "connecting");
                } catch (...) {
                    close_fd();
                    throw;
                }
                socklen_t len = sizeof(err);
                getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
            }
        }
        if (err != 0) {
            close_fd();
            throw SmtpError(fmt::format("server {}: cannot connect: {}", label_, strerror(err)));
        }
    }

    void close_fd() {
        close(fd_);
        fd_ = -1;
    }

    void wait(short events, std::string_view what) {
        for (;;) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
            if (left.count() <= 0)
                throw SmtpError(fmt::format("server {}: timed out after {} ms {}", label_, timeout_.count(), what));
            pollfd p{fd_, events, 0};
            int n = poll(&p, 1, static_cast<int>(left.count()));
            if (n > 0)
                return;  // ready, or an error the next call reports
            if (n < 0 && errno != EINTR)
                throw SmtpError(fmt::format("server {}: poll: {}", label_, strerror(errno)));
        }
    }

    // A complete reply from the front of the buffer (RFC 5321 4.2: lines
    // "code-text" continue it, the line "code text" ends it), or nullopt.
    std::optional<Reply> parse(std::string_view what) {
        Reply reply;
        size_t pos = 0;
        for (;;) {
            size_t eol = buf_.find('\n', pos);
            if (eol == std::string::npos)
                return std::nullopt;
            std::string_view line(buf_.data() + pos, eol - pos);
            if (!line.empty() && line.back() == '\r')
                line.remove_suffix(1);
            pos = eol + 1;
            bool digits = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                          std::isdigit(static_cast<unsigned char>(line[1])) &&
                          std::isdigit(static_cast<unsigned char>(line[2]));
            if (!digits || (line.size() > 3 && line[3] != ' ' && line[3] != '-'))
                throw SmtpError(fmt::format("server {} sent a malformed reply waiting for {}: \"{}\"", label_,
                                            what, line));
            std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
            if (!text.empty())
                reply.text += reply.text.empty() ? std::string(text) : fmt::format(" {}", text);
            if (line.size() > 3 && line[3] == '-')
                continue;
            reply.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
            buf_.erase(0, pos);
            return reply;
        }
    }

    std::string label_;
    std::chrono::milliseconds timeout_;
    Clock::time_point deadline_;
    int fd_ = -1;
    std::string buf_;  // received, not yet parsed
};

Reply command(Connection& c, const std::string& line) {
    c.send(line + "\r\n", line);
    return c.read_reply(fmt::format("the reply to {}", line));
}

// RFC 5321 4.1.1.10: end the session politely, even after a refusal. Its
// outcome changes nothing: the mail was delivered or not before this.
void quit(Connection& c) {
    try {
        command(c, "QUIT");
    } catch (const SmtpError&) {
    }
}

[[noreturn]] void refused(Connection& c, std::string_view what, const Reply& r) {
    quit(c);
    throw SmtpError(fmt::format("server {} refused {}: {}", c.label(), what, r.str()));
}

// A header value must stay on its line: a CR or LF would start a new header.
std::string one_line(std::string_view s) {
    std::string out(s);
    for (char& ch : out)
        if (ch == '\r' || ch == '\n')
            ch = ' ';
    return out;
}

void check_address(std::string_view a) {
    if (a.empty() || a.find_first_of("\r\n<>") != std::string_view::npos)
        throw SmtpError(fmt::format("invalid mail address \"{}\"", one_line(a)));
}

// RFC 5322 3.3, with English names whatever the process locale is.
std::string rfc5322_date(time_t now) {
    static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    tm t{};
    localtime_r(&now, &t);
    long offset = t.tm_gmtoff / 60;
    char sign = offset < 0 ? '-' : '+';
    offset = offset < 0 ? -offset : offset;
    return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} {}{:02}{:02}", kDays[t.tm_wday], t.tm_mday,
                       kMonths[t.tm_mon], t.tm_year + 1900, t.tm_hour, t.tm_min, t.tm_sec, sign,
                       offset / 60, offset % 60);
}

std::string message_id(std::string_view domain) {
    static std::atomic<uint64_t> sequence{0};
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    return fmt::format("<{}.{}.{}@{}>", ms.count(), getpid(), ++sequence, domain);
}

// Headers and body as sent after DATA, every line ending in CRLF and body
// lines starting with '.' doubled (RFC 5321 4.5.2), without the final ".".
std::string message_text(const SmtpSettings& s, std::string_view from, std::string_view helo, const Mail& mail) {
    std::string to;
    for (const auto& rcpt : s.to)
        to += to.empty() ? rcpt : ", " + rcpt;
    std::string text = fmt::format(
        "Date: {}\r\nFrom: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: {}\r\nX-Mailer: lbd\r\n\r\n",
        rfc5322_date(time(nullptr)), from, to, one_line(mail.subject), message_id(helo));
    std::string_view body = mail.body;
    while (!body.empty()) {
        size_t eol = body.find('\n');
        std::string_view line = body.substr(0, eol);
        body = eol == std::string_view::npos ? std::string_view{} : body.substr(eol + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (!line.empty() && line.front() == '.')
            text += '.';
        text.append(line);
        text += "\r\n";
    }
    return text;
}

// The whole session; throws SmtpError. Returns the recipients refused when
// others accepted the mail.
std::optional<std::string> deliver(const SmtpSettings& s, const Mail& mail) {
    if (s.to.empty())
        throw SmtpError("no recipients (notification_email is empty)");
    std::string helo = s.helo_name.empty() ? host_name() : s.helo_name;
    std::string from = s.from.empty() ? "lbd@" + helo : s.from;
    check_address(from);
    for (const auto& rcpt : s.to)
        check_address(rcpt);

    Connection c(s);
    Reply r = c.read_reply("the greeting");
    if (r.code != 220)
        refused(c, "the session", r);
    std::string hello = "EHLO " + helo;
    r = command(c, hello);
    if (r.code / 100 == 5) {  // RFC 5321 3.2: an old server that knows no EHLO
        hello = "HELO " + helo;
        r = command(c, hello);
    }
    if (!r.positive())
        refused(c, hello, r);
    std::string mail_from = fmt::format("MAIL FROM:<{}>", from);
    if (r = command(c, mail_from); !r.positive())
        refused(c, mail_from, r);

    std::vector<std::string> refusals;
    for (const auto& rcpt : s.to) {
        std::string rcpt_to = fmt::format("RCPT TO:<{}>", rcpt);
        if (r = command(c, rcpt_to); !r.positive())
            refusals.push_back(fmt::format("server {} refused {}: {}", c.label(), rcpt_to, r.str()));
    }
    if (refusals.size() == s.to.size()) {
        quit(c);
        throw SmtpError(fmt::format("{}", fmt::join(refusals, "; ")));
    }
    if (r = command(c, "DATA"); r.code != 354)
        refused(c, "DATA", r);
    c.send(message_text(s, from, helo, mail) + ".\r\n", "the message");
    if (r = c.read_reply("the reply to the end of the message"); !r.positive())
        refused(c, "the message", r);
    quit(c);
    if (refusals.empty())
        return std::nullopt;
    return fmt::format("{}", fmt::join(refusals, "; "));
}

}  // namespace

std::optional<std::string> send_mail(const SmtpSettings& settings, const Mail& mail) {
    try {
        return deliver(settings, mail);
    } catch (const SmtpError& e) {
        return e.what();
    } catch (const std::exception& e) {
        return fmt::format("server {}: {}", server_label(settings), e.what());
    }
}

SmtpNotifier::SmtpNotifier(SmtpSettings settings, size_t queue_limit)
    : settings_(std::move(settings)), queue_limit_(queue_limit) {
    if (queue_limit_ == 0)
        throw std::invalid_argument("SMTP notifier: the queue limit must be at least 1");
    worker_ = std::thread([this] { run(); });
}

SmtpNotifier::~SmtpNotifier() {
    size_t left = 0;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        left = queue_.size();
        queue_.clear();
    }
    dropped_ += left;
    wake_.notify_one();
    worker_.join();
    if (left > 0)
        log::warn("SMTP: shutting down, {} queued alert(s) dropped", left);
}

void SmtpNotifier::post(Mail mail) {
    std::optional<std::string> pushed_out;
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= queue_limit_) {
            pushed_out = std::move(queue_.front().subject);
            queue_.pop_front();
        }
        queue_.push_back(std::move(mail));
    }
    wake_.notify_one();
    if (pushed_out) {
        uint64_t total = ++dropped_;
        log::warn("SMTP: {} alerts waiting, dropped the oldest \"{}\" ({} dropped so far)", queue_limit_,
                  *pushed_out, total);
    }
}

void SmtpNotifier::run() {
    for (;;) {
        Mail mail;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_)
                return;
            mail = std::move(queue_.front());
            queue_.pop_front();
        }
        if (auto error = send_mail(settings_, mail)) {
            ++failed_;
            log::error("SMTP: {} (alert \"{}\")", *error, mail.subject);
        } else {
            ++sent_;
            log::info("SMTP alert successfully sent: \"{}\"", mail.subject);
        }
    }
}

Mail vrrp_state_mail(std::string_view router_id, std::string_view instance, std::string_view state) {
    // keepalived's spelling, "nolonger" included.
    std::string body = state == "MASTER" ? "=> VRRP Instance is now owning VRRP VIPs <="
                                         : "=> VRRP Instance is nolonger owning VRRP VIPs <=";
    return {fmt::format("[{}] VRRP Instance {} - Entering {} state", router_id, instance, state),
            std::move(body)};
}

}  // namespace lbd::notify
