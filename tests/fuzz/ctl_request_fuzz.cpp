// libFuzzer target for the control socket's request lines: any line must be
// answered with a reply line that is JSON, whether the handler answers or
// refuses the command.
#include "ctl/protocol.h"
#include "ctl/request.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    const std::string reply = lbd::ctl::answer_request(line, [](const std::string& command, const nlohmann::json& args) {
        if (command == "refuse") throw lbd::ctl::RequestError("refused");
        return args;
    });
    if (reply.empty() || reply.back() != '\n' || !nlohmann::json::accept(reply)) std::abort();
    return 0;
}
