#include "base/units.h"

#include <cctype>
#include <string>

namespace stgt::base {

std::optional<uint64_t> parse_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  uint64_t value = 0;
  size_t digits = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i, ++digits) {
    const uint64_t d = uint64_t(text[i] - '0');
    if (value > (UINT64_MAX - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  if (digits == 0) return std::nullopt;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  std::string suffix;
  for (; i < text.size(); ++i) {
    if (std::isspace(static_cast<unsigned char>(text[i]))) break;
    suffix.push_back(char(std::toupper(static_cast<unsigned char>(text[i]))));
  }
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i != text.size()) return std::nullopt;

  struct Unit {
    const char* name;
    uint64_t factor;
  };
  static constexpr Unit kUnits[] = {
      {"", 1},           {"B", 1},
      {"K", 1ull << 10}, {"KIB", 1ull << 10}, {"KB", 1000ull},
      {"M", 1ull << 20}, {"MIB", 1ull << 20}, {"MB", 1000ull * 1000},
      {"G", 1ull << 30}, {"GIB", 1ull << 30}, {"GB", 1000ull * 1000 * 1000},
      {"T", 1ull << 40}, {"TIB", 1ull << 40}, {"TB", 1000ull * 1000 * 1000 * 1000},
  };
  for (const Unit& u : kUnits) {
    if (suffix == u.name) {
      if (value > UINT64_MAX / u.factor) return std::nullopt;
      return value * u.factor;
    }
  }
  return std::nullopt;
}

}  // namespace stgt::base
