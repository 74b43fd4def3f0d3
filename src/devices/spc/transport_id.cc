#include <charconv>
#include <string_view>

#include <fmt/format.h>

#include "base/byte_order.h"
#include "devices/spc/persistent_reserve.h"

namespace stgt::devices::spc {
namespace {

constexpr uint8_t kProtocolIscsi = 0x5;  // SPC-5 7.6.2 table 446
constexpr std::string_view kPortSeparator = ",i,0x";
constexpr size_t kMaxNameWithIsid = 223 + 5 + 12;  // iSCSI name, ",i,0x", ISID

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  }
  return out;
}

}  // namespace

std::optional<ParsedTransportId> parse_transport_id(std::span<const uint8_t> p) {
  if (p.size() < 4) return std::nullopt;
  const uint8_t format = p[0] >> 6;
  if ((p[0] & 0x0f) != kProtocolIscsi || format > 1) return std::nullopt;
  const uint16_t additional = base::load_be16(&p[2]);
  // SPC-5 7.6.4.6: at least 20 bytes, a multiple of 4.
  if (additional < 20 || additional % 4 != 0 || size_t(4) + additional > p.size()) {
    return std::nullopt;
  }
  const auto text = std::string_view(reinterpret_cast<const char*>(&p[4]), additional);
  const size_t nul = text.find('\0');
  if (nul == std::string_view::npos || nul == 0) return std::nullopt;
  const std::string_view name = text.substr(0, nul);
  // RFC 7143 4.2.7.1 / RFC 3722: at most 223 bytes of printable characters, no spaces. The
  // name ends up in READ FULL STATUS, logs and the APTPL file: refuse anything else.
  if (name.size() > kMaxNameWithIsid) return std::nullopt;
  for (const char ch : name) {
    if (ch <= ' ' || ch > '~') return std::nullopt;
  }
  const size_t sep = lower(name).find(kPortSeparator);
  ParsedTransportId out;
  out.length = size_t(4) + additional;
  if (format == 0) {
    if (sep != std::string_view::npos) return std::nullopt;
    out.port = lower(name);
    return out;
  }
  if (sep == std::string_view::npos || sep == 0) return std::nullopt;
  const std::string_view isid_text = name.substr(sep + kPortSeparator.size());
  uint64_t isid = 0;
  const auto [end, ec] =
      std::from_chars(isid_text.data(), isid_text.data() + isid_text.size(), isid, 16);
  if (ec != std::errc() || end != isid_text.data() + isid_text.size() || isid_text.size() > 12) {
    return std::nullopt;
  }
  out.port = fmt::format("{}{}{:012x}", lower(name.substr(0, sep)), kPortSeparator, isid);
  return out;
}

std::vector<uint8_t> encode_transport_id(const std::string& port) {
  const bool has_isid = port.find(kPortSeparator) != std::string::npos;
  size_t additional = (port.size() + 1 + 3) / 4 * 4;  // NUL-terminated, padded
  if (additional < 20) additional = 20;
  std::vector<uint8_t> out(4 + additional, 0);
  out[0] = uint8_t((has_isid ? 0x40 : 0x00) | kProtocolIscsi);
  base::store_be16(&out[2], uint16_t(additional));
  std::copy(port.begin(), port.end(), out.begin() + 4);
  return out;
}

}  // namespace stgt::devices::spc
