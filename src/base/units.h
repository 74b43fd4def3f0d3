// Parsing of human sizes ("1GiB", "512", "4 KiB", "10MB") used by the configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace stgt::base {

// Binary suffixes (KiB, MiB, GiB, TiB; also K/M/G/T) are powers of 1024; decimal ones
// (KB, MB, GB, TB) powers of 1000. Nullopt on syntax error or overflow.
std::optional<uint64_t> parse_size(std::string_view text);

}  // namespace stgt::base
