#include "base/sealed_text.h"

#include <charconv>

#include <fmt/format.h>

#include "base/crc32c.h"

namespace stgt::base {

namespace {
constexpr std::string_view kCrcKey = "crc32c ";
}  // namespace

std::string seal(std::string body) {
  body += fmt::format("crc32c {:08x}\n", crc32c(body.data(), body.size()));
  return body;
}

Result<std::string_view, std::string> unseal(std::string_view image) {
  const size_t crc_at = image.rfind(kCrcKey);
  if (crc_at == std::string_view::npos || (crc_at != 0 && image[crc_at - 1] != '\n')) {
    return unexpected(std::string("no crc32c line"));
  }
  const std::string_view line = image.substr(crc_at + kCrcKey.size());
  if (line.size() != 9 || line.back() != '\n') {
    return unexpected(std::string("malformed crc32c line"));
  }
  uint32_t crc = 0;
  const auto [p, ec] = std::from_chars(line.data(), line.data() + 8, crc, 16);
  if (ec != std::errc() || p != line.data() + 8) {
    return unexpected(std::string("malformed crc32c line"));
  }
  if (crc32c(image.data(), crc_at) != crc) return unexpected(std::string("checksum mismatch"));
  return image.substr(0, crc_at);
}

bool take_field(std::string_view& body, std::string_view key, std::string_view& value) {
  const size_t nl = body.find('\n');
  if (nl == std::string_view::npos) return false;
  const std::string_view line = body.substr(0, nl);
  body.remove_prefix(nl + 1);
  if (line.size() <= key.size() || line.substr(0, key.size()) != key || line[key.size()] != ' ') {
    return false;
  }
  value = line.substr(key.size() + 1);
  return true;
}

}  // namespace stgt::base
