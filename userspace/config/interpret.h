// Shared by the files that give the block tree its meaning (services.cpp,
// global_defs.cpp, virtual_server.cpp); not part of the config API.
#pragma once

#include "config/block_parser.h"
#include "config/model.h"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lbd::config::detail {

// Digits only, no sign or spaces; nullopt if it does not fit 32 bits.
std::optional<uint32_t> parse_decimal(std::string_view text);

// The one argument of a statement that takes no block.
const std::string& single_value(const Node& node);

// single_value() as a decimal in [min, max].
uint32_t number_value(const Node& node, uint32_t min, uint32_t max);

void reject_block(const Node& node);

bool one_of(std::string_view word, std::span<const std::string_view> words);

// "file:line: KEYWORD is not supported yet; ignored"
void warn_ignored(const Node& node, std::vector<std::string>& warnings);

void read_global_defs(const Node& node, GlobalDefs& global, std::vector<std::string>& warnings);
VirtualServer read_virtual_server(const Node& node, std::vector<std::string>& warnings);

}  // namespace lbd::config::detail
