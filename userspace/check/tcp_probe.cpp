// TCP_CHECK, as keepalived's check_tcp: the connection established is the
// whole check.
#include "check/probe_types.h"
#include "check/stream.h"

namespace lbd::check {
namespace {

class TcpProbe final : public StreamProbe {
public:
    TcpProbe(const config::Checker& checker, Loop& loop)
        : StreamProbe(loop), target_(checker.target), timeout_(checker.timing.connect_timeout) {}

    void start(Done done) override {
        begin(std::move(done));
        arm(timeout_);
        stream_.open(target_, std::nullopt, [this](const std::string& error) {
            finish(error.empty() ? ProbeResult{true, "connected", std::nullopt}
                                 : ProbeResult{false, error, std::nullopt});
        });
    }

private:
    std::string timeout_detail() const override { return "timeout connecting"; }

    const config::CheckTarget target_;
    const config::Duration timeout_;
};

}  // namespace

std::unique_ptr<Probe> make_tcp_probe(const config::Checker& checker, const ProbeContext& context) {
    return std::make_unique<TcpProbe>(checker, context.loop);
}

}  // namespace lbd::check
