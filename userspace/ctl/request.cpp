#include "ctl/request.h"

#include "ctl/protocol.h"
#include "util/log.h"

#include <fmt/format.h>

namespace lbd::ctl {
namespace {

using nlohmann::json;

// A parse error's message quotes the bytes it stopped at, which may be no
// UTF-8: they are replaced, or dump() would throw.
std::string reply(bool ok, const json& what) {
    json r = {{"version", kProtocolVersion}, {"ok", ok}};
    r[ok ? "result" : "error"] = what;
    return r.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace

std::string refusal(const std::string& why) { return reply(false, why); }

std::string answer_request(std::string_view line, const Handler& handler) {
    json request;
    try {
        request = json::parse(line.begin(), line.end());
    } catch (const json::exception& e) {
        return reply(false, fmt::format("malformed request: {}", e.what()));
    }
    if (!request.is_object() || !request.contains("version") || !request["version"].is_number_integer())
        return reply(false, "malformed request: no version");
    if (request["version"] != kProtocolVersion)
        return reply(false, fmt::format("protocol version {} is not spoken here (lbd speaks {})",
                                        request["version"].dump(), kProtocolVersion));
    if (!request.contains("command") || !request["command"].is_string())
        return reply(false, "malformed request: no command");
    const json args = request.value("args", json::object());
    if (!args.is_object()) return reply(false, "malformed request: args must be an object");
    const std::string command = request["command"];
    try {
        return reply(true, handler(command, args));
    } catch (const RequestError& e) {
        return reply(false, e.what());
    } catch (const std::exception& e) {
        log::error("control socket: {} failed: {}", command, e.what());
        return reply(false, fmt::format("{} failed: {}", command, e.what()));
    }
}

}  // namespace lbd::ctl
