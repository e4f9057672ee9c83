// lbctl's tables for people: each reads the daemon's JSON answer (the same
// that --json prints) and writes columns on stdout.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>

namespace lbctl {

void print_status(const nlohmann::json& status, int64_t now_unix_ms);
void print_vips(const nlohmann::json& vips);
void print_reals(const nlohmann::json& reals, int64_t now_unix_ms);
void print_stats(const nlohmann::json& stats);
void print_conntrack(const nlohmann::json& conntrack);

}  // namespace lbctl
