#include "ctl/capture_command.h"

#include "ctl/protocol.h"
#include "dataplane/stats_reader.h"

#include <fmt/format.h>
#include <linux/bpf.h>
#include <net/if.h>

#include <ctime>
#include <stdexcept>
#include <string>

namespace lbd::ctl {
namespace {

using nlohmann::json;

struct ClassName {
    uint32_t bit;
    const char* name;
};
constexpr ClassName kClasses[] = {{LBD_CAPTURE_VRRP, "vrrp"},
                                  {LBD_CAPTURE_FORWARDED, "forwarded"},
                                  {LBD_CAPTURE_DROPPED, "dropped"},
                                  {LBD_CAPTURE_PASSED, "passed"}};

const char* class_name(uint32_t bit) {
    for (const auto& c : kClasses)
        if (c.bit == bit) return c.name;
    return "unknown";
}

const char* verdict_name(uint8_t verdict) {
    switch (verdict) {
    case XDP_ABORTED: return "aborted";
    case XDP_DROP: return "drop";
    case XDP_PASS: return "pass";
    case XDP_TX: return "tx";
    case XDP_REDIRECT: return "redirect";
    }
    return "unknown";
}

std::string reason_of(const dataplane::CaptureRecord& r) {
    if (r.cls == LBD_CAPTURE_VRRP)
        return r.reason == LBD_CAPTURE_TX ? "vrrp_tx" : dataplane::vrrp_reason_name(r.reason);
    return dataplane::reason_name(r.reason);
}

std::string hex(const std::string& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out += kDigits[c >> 4];
        out += kDigits[c & 0xf];
    }
    return out;
}

int64_t ns_of(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

uint32_t classes_arg(const json& args) {
    if (!args.contains("classes") || !args["classes"].is_array() || args["classes"].empty())
        throw RequestError("'classes' must be a list of vrrp, forwarded, dropped, passed");
    uint32_t classes = 0;
    for (const auto& c : args["classes"]) {
        const std::string name = c.is_string() ? c.get<std::string>() : c.dump();
        uint32_t bit = 0;
        for (const auto& k : kClasses)
            if (name == k.name) bit = k.bit;
        if (bit == 0) throw RequestError(fmt::format("no capture class '{}': vrrp, forwarded, dropped, passed", name));
        classes |= bit;
    }
    return classes;
}

json open(dataplane::Capture& capture, const json& args) {
    const json snap = args.value("snaplen", json(LBD_CAPTURE_SNAP_MAX));
    if (!snap.is_number_unsigned() || snap.get<uint64_t>() == 0 || snap.get<uint64_t>() > LBD_CAPTURE_SNAP_MAX)
        throw RequestError(fmt::format("'snaplen' must be 1..{}", LBD_CAPTURE_SNAP_MAX));
    try {
        const uint64_t id = capture.open(classes_arg(args), snap.get<uint32_t>(), dataplane::Capture::Clock::now());
        return {{"session", id},
                {"lease_ms", std::chrono::milliseconds(dataplane::Capture::kLease).count()},
                {"snaplen", snap}};
    } catch (const std::invalid_argument& e) {
        throw RequestError(e.what());
    } catch (const std::runtime_error& e) {
        throw RequestError(e.what());
    }
}

json read(dataplane::Capture& capture, uint64_t session) {
    dataplane::Capture::Batch b;
    try {
        b = capture.read(session, kCaptureBatch, dataplane::Capture::Clock::now());
    } catch (const std::out_of_range& e) {
        throw RequestError(fmt::format("{} (stopped, or not read for {} s)", e.what(),
                                       dataplane::Capture::kLease.count()));
    }
    // The records' times are CLOCK_MONOTONIC; pcap wants the wall clock.
    const int64_t to_unix = ns_of(CLOCK_REALTIME) - ns_of(CLOCK_MONOTONIC);
    json records = json::array();
    for (const auto& r : b.records) {
        char name[IF_NAMESIZE] = {};
        records.push_back({{"at_unix_ns", int64_t(r.at_ns) + to_unix},
                           {"ifindex", r.ifindex},
                           {"interface", if_indextoname(r.ifindex, name) ? name : ""},
                           {"len", r.len},
                           {"class", class_name(r.cls)},
                           {"verdict", verdict_name(r.verdict)},
                           {"reason", reason_of(r)},
                           {"data", hex(r.data)}});
    }
    return {{"session", session}, {"records", std::move(records)}, {"lost", b.lost}};
}

}  // namespace

json capture_command(dataplane::Capture* capture, const json& args) {
    if (!capture) throw RequestError("capture is not available");
    if (!args.contains("session")) return open(*capture, args);
    if (!args["session"].is_number_unsigned()) throw RequestError("'session' must be a session number");
    const uint64_t session = args["session"].get<uint64_t>();
    if (args.value("stop", false)) {
        capture->close(session);
        return {{"session", session}, {"stopped", true}};
    }
    return read(*capture, session);
}

}  // namespace lbd::ctl
