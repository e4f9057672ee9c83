// Mail alerts on state changes, as keepalived sends them when global_defs
// has notification_email and smtp_server: a plain SMTP client (RFC 5321
// subset, no TLS, no AUTH) and a notifier that runs it on its own thread, so
// a slow or dead mail server never delays the VRRP loop that posts alerts.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lbd::notify {

struct SmtpSettings {
    std::string server;  // address (IPv4/IPv6, brackets allowed) or host name
    uint16_t port = 25;
    // keepalived's smtp_connect_timeout, bounding the whole session from
    // connect to the reply to QUIT (host name resolution excepted: that is the
    // resolver's own timeout).
    std::chrono::milliseconds timeout{30000};
    std::string helo_name;        // empty: this host's name
    std::string from;             // notification_email_from; empty: lbd@<helo name>
    std::vector<std::string> to;  // notification_email
};

struct Mail {
    std::string subject;
    std::string body;  // lines separated by "\n"; sent with CRLF, dot-stuffed
};

// Sends one mail synchronously. Returns what went wrong, naming the server,
// the command and its reply, or nullopt once the server accepted the
// message for every recipient. A recipient the server refuses does not stop
// the mail reaching the others, but is reported. Never throws.
std::optional<std::string> send_mail(const SmtpSettings& settings, const Mail& mail);

// Sends posted mails one at a time on a worker thread, logging each failure
// once. When `queue_limit` mails are waiting, a new one pushes out the
// oldest: during a flap the latest states are the ones worth reading.
class SmtpNotifier {
public:
    // Throws std::invalid_argument when queue_limit is 0.
    explicit SmtpNotifier(SmtpSettings settings, size_t queue_limit = 64);
    // Waits for the mail in flight (bounded by the timeout); drops, counts and
    // logs the ones still queued.
    ~SmtpNotifier();
    SmtpNotifier(const SmtpNotifier&) = delete;
    SmtpNotifier& operator=(const SmtpNotifier&) = delete;

    void post(Mail mail);  // never waits on the network

    uint64_t sent() const { return sent_; }
    uint64_t failed() const { return failed_; }
    uint64_t dropped() const { return dropped_; }

private:
    void run();

    const SmtpSettings settings_;
    const size_t queue_limit_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Mail> queue_;
    bool stopping_ = false;
    std::atomic<uint64_t> sent_{0};
    std::atomic<uint64_t> failed_{0};
    std::atomic<uint64_t> dropped_{0};
    std::thread worker_;  // last: starts once everything above exists
};

// keepalived's wording, so operators' mail filters keep working.
// "[router_id] VRRP Instance <instance> - Entering <state> state"; the body
// says whether the instance now owns its VIPs (state "MASTER") or not.
Mail vrrp_state_mail(std::string_view router_id, std::string_view instance, std::string_view state);

}  // namespace lbd::notify
