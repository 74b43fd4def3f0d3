#include "transport/iscsi/text.h"

#include <algorithm>

namespace stgt::iscsi {

std::string_view to_string(TextError e) {
  switch (e) {
    case TextError::kTooLong:
      return "text too long";
    case TextError::kTooManyPairs:
      return "too many key=value pairs";
    case TextError::kMissingEquals:
      return "key=value pair without '='";
    case TextError::kEmptyKey:
      return "empty key name";
    case TextError::kKeyTooLong:
      return "key name longer than 63 bytes";
    case TextError::kValueTooLong:
      return "value too long";
    case TextError::kBadKeyCharacter:
      return "invalid character in key name";
    case TextError::kBadValueCharacter:
      return "invalid character in value";
    case TextError::kEmptyPair:
      return "empty key=value pair";
  }
  return "text error";
}

namespace {

bool is_alpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 7143 6.1: standard-label characters after the first.
bool is_label_char(char c) {
  return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '+' || c == '@' || c == '_';
}

// Values are UTF-8 text (RFC 7143 6.1); control characters never appear in a valid one.
bool is_value_byte(uint8_t b) {
  return b >= 0x20 && b != 0x7f;
}

base::Result<KeyValue, TextError> parse_pair(std::string_view pair) {
  const size_t eq = pair.find('=');
  if (eq == std::string_view::npos) return base::unexpected(TextError::kMissingEquals);
  const std::string_view key = pair.substr(0, eq);
  const std::string_view value = pair.substr(eq + 1);
  if (key.empty()) return base::unexpected(TextError::kEmptyKey);
  if (key.size() > kMaxKeyLength) return base::unexpected(TextError::kKeyTooLong);
  if (!is_valid_key_name(key)) return base::unexpected(TextError::kBadKeyCharacter);
  if (value.size() > kMaxValueLength) return base::unexpected(TextError::kValueTooLong);
  for (const char c : value) {
    if (!is_value_byte(uint8_t(c))) return base::unexpected(TextError::kBadValueCharacter);
  }
  return KeyValue{std::string(key), std::string(value)};
}

std::optional<uint64_t> parse_decimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) {
    if (!is_digit(c)) return std::nullopt;
    const uint64_t d = uint64_t(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

int hex_digit(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<uint64_t> parse_hex(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (const char c : s) {
    const int d = hex_digit(c);
    if (d < 0) return std::nullopt;
    if (v >> 60) return std::nullopt;
    v = v << 4 | uint64_t(d);
  }
  return v;
}

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 7143 6.1 base64-constant (RFC 4648 alphabet, '=' padding), as a big-endian integer.
std::optional<uint64_t> parse_base64(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=')
    ++pad;
  const std::string_view body = s.substr(0, s.size() - pad);
  uint64_t v = 0;
  size_t bits = 0;
  size_t bytes = 0;
  uint32_t acc = 0;
  for (const char c : body) {
    const int d = base64_digit(c);
    if (d < 0) return std::nullopt;
    acc = (acc << 6) | uint32_t(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (++bytes > 8) return std::nullopt;
      v = v << 8 | ((acc >> bits) & 0xff);
    }
  }
  if (bytes == 0) return std::nullopt;
  return v;
}

}  // namespace

bool is_valid_key_name(std::string_view key) {
  if (key.empty() || key.size() > kMaxKeyLength || !is_alpha(key[0])) return false;
  size_t i = 1;
  // RFC 7143 6.1 / 13.22: "X#" introduces an IANA-registered key.
  if (key.size() > 2 && key[0] == 'X' && key[1] == '#') i = 2;
  for (; i < key.size(); ++i) {
    if (!is_label_char(key[i])) return false;
  }
  return true;
}

base::Result<std::vector<KeyValue>, TextError> parse_text(std::span<const uint8_t> data,
                                                          size_t max_length) {
  if (data.size() > max_length) return base::unexpected(TextError::kTooLong);
  size_t end = data.size();
  while (end > 0 && data[end - 1] == 0)
    --end;  // padding / final terminator
  std::vector<KeyValue> out;
  const std::string_view text(reinterpret_cast<const char*>(data.data()), end);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nul = text.find('\0', pos);
    if (nul == std::string_view::npos) nul = text.size();  // last pair without its NUL
    if (nul == pos) return base::unexpected(TextError::kEmptyPair);
    if (out.size() == kMaxTextPairs) return base::unexpected(TextError::kTooManyPairs);
    auto pair = parse_pair(text.substr(pos, nul - pos));
    if (!pair) return base::unexpected(pair.error());
    out.push_back(std::move(*pair));
    pos = nul + 1;
  }
  return out;
}

void append_key(std::vector<uint8_t>& out, std::string_view key, std::string_view value) {
  out.reserve(out.size() + key.size() + value.size() + 2);
  out.insert(out.end(), key.begin(), key.end());
  out.push_back('=');
  out.insert(out.end(), value.begin(), value.end());
  out.push_back(0);
}

std::vector<uint8_t> encode_text(std::span<const KeyValue> pairs) {
  std::vector<uint8_t> out;
  for (const KeyValue& kv : pairs)
    append_key(out, kv.key, kv.value);
  return out;
}

std::optional<uint64_t> parse_number(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    return parse_hex(text.substr(2));
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B')) {
    return parse_base64(text.substr(2));
  }
  return parse_decimal(text);
}

}  // namespace stgt::iscsi
