// SMTP_CHECK, as keepalived's check_smtp: the banner must be 2xx, HELO must be
// answered 250, then QUIT; on each host in turn. A reply is one or more lines
// of a 3-digit code, with '-' after the code on all lines but the last
// (RFC 5321 section 4.2.1).
#include "check/probe_types.h"
#include "check/smtp_reply.h"
#include "check/socket.h"
#include "check/stream.h"

#include <fmt/format.h>
#include <unistd.h>

#include <climits>
#include <stdexcept>
#include <vector>

namespace lbd::check {
namespace {

std::string host_name() {
    char name[HOST_NAME_MAX + 1] = {};
    if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
    return name;
}

class SmtpProbe final : public StreamProbe {
public:
    SmtpProbe(const config::Checker& checker, Loop& loop)
        : StreamProbe(loop), timeout_(checker.timing.connect_timeout) {
        const auto& smtp = std::get<config::SmtpCheck>(checker.detail);
        named_ = !smtp.hosts.empty();
        hosts_ = named_ ? smtp.hosts : std::vector<config::CheckTarget>{checker.target};
        helo_ = fmt::format("HELO {}\r\n", smtp.helo_name.empty() ? host_name() : smtp.helo_name);
    }

    void start(Done done) override {
        begin(std::move(done));
        current_ = 0;
        connect();
    }

private:
    enum class Phase { connecting, banner, helo, helo_reply, quit };

    void connect() {
        phase_ = Phase::connecting;
        replies_.clear();
        arm(timeout_);
        stream_.open(hosts_[current_], std::nullopt, [this](const std::string& error) {
            if (!error.empty()) return fail(error);
            expect(Phase::banner);
        });
    }

    // A reply may have come with the one before it.
    void expect(Phase phase) {
        phase_ = phase;
        stream_.receive([this](const Stream::Chunk& chunk) { on_chunk(chunk); });
        take_reply();
    }

    void on_chunk(const Stream::Chunk& chunk) {
        if (!chunk.error.empty()) return fail(chunk.error);
        if (chunk.eof) return fail(fmt::format("connection closed before the {}", reply_name()));
        replies_.append(chunk.data);
        take_reply();
    }

    // Acts on the first reply in replies_ once its last line is in.
    void take_reply() {
        const SmtpReply reply = take_smtp_reply(replies_);
        switch (reply.state) {
        case SmtpReply::State::incomplete:
            return;
        case SmtpReply::State::bad:
            return fail(fmt::format("bad {}: {}", reply_name(), reply.line));
        case SmtpReply::State::too_long:
            return fail(fmt::format("{} too long", reply_name()));
        case SmtpReply::State::complete:
            return on_reply(reply.code, reply.line);
        }
    }

    void on_reply(int code, const std::string& text) {
        if (phase_ == Phase::banner) {
            if (code / 100 != 2) return fail("banner: " + text);
            phase_ = Phase::helo;
            return stream_.send(helo_, [this](const std::string& error) {
                if (!error.empty()) return fail(error);
                expect(Phase::helo_reply);
            });
        }
        if (code != 250) return fail("HELO reply: " + text);
        phase_ = Phase::quit;
        // The verdict is in: QUIT is a courtesy; its reply is not waited for,
        // and failing to send it changes nothing.
        stream_.send("QUIT\r\n", [this](const std::string&) { host_done(); });
    }

    void host_done() {
        stream_.close();
        if (++current_ < hosts_.size()) return connect();
        finish({true, named_ ? fmt::format("{} hosts answered HELO", hosts_.size()) : "HELO answered", std::nullopt});
    }

    const char* reply_name() const { return phase_ == Phase::banner ? "banner" : "HELO reply"; }

    // The host names itself in a detail when the checker has several.
    std::string about(const std::string& what) const {
        if (!named_) return what;
        return fmt::format("host {}: {}", service_name(hosts_[current_], config::Proto::TCP), what);
    }

    void fail(const std::string& why) { finish({false, about(why), std::nullopt}); }

    std::string timeout_detail() const override {
        switch (phase_) {
        case Phase::connecting:
            return about("timeout connecting");
        case Phase::helo:
            return about("timeout sending HELO");
        case Phase::quit:
            return about("timeout sending QUIT");
        case Phase::banner:
        case Phase::helo_reply:
            break;
        }
        return about(fmt::format("timeout reading the {}", reply_name()));
    }

    const config::Duration timeout_;
    bool named_ = false;
    std::vector<config::CheckTarget> hosts_;
    std::string helo_;
    size_t current_ = 0;
    Phase phase_ = Phase::connecting;
    std::string replies_;  // received, not yet acted on
};

}  // namespace

std::unique_ptr<Probe> make_smtp_probe(const config::Checker& checker, const ProbeContext& context) {
    if (!std::holds_alternative<config::SmtpCheck>(checker.detail))
        throw std::invalid_argument(fmt::format("{} checker given to the SMTP probe", config::to_string(checker.type)));
    return std::make_unique<SmtpProbe>(checker, context.loop);
}

}  // namespace lbd::check
