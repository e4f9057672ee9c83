// libFuzzer target for what an SMTP server sends SMTP_CHECK: replies taken
// one after the other from the bytes received so far, in the splits the
// input chooses, until one is incomplete, bad or too long.
#include "check/smtp_reply.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    FuzzedDataProvider in(data, size);
    std::string received;
    while (in.remaining_bytes() > 0) {
        received += in.ConsumeRandomLengthString(128);
        for (;;) {
            const lbd::check::SmtpReply reply = lbd::check::take_smtp_reply(received);
            if (reply.state == lbd::check::SmtpReply::State::complete) continue;
            if (reply.state != lbd::check::SmtpReply::State::incomplete) return 0;
            break;
        }
    }
    return 0;
}
