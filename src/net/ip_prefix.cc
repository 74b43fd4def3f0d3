#include "net/ip_prefix.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace stgt::net {

namespace {

// Parses an address into 4 or 16 bytes; v6 tells which.
bool parse_address(std::string_view text, bool& v6, std::array<uint8_t, 16>& out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  const std::string s(text);
  out.fill(0);
  if (::inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    v6 = false;
    return true;
  }
  if (::inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

bool prefix_matches(const uint8_t* a, const uint8_t* b, unsigned bits) {
  const unsigned whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = uint8_t(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

base::Result<IpPrefix, std::string> IpPrefix::parse(std::string_view text) {
  IpPrefix p;
  const size_t slash = text.find('/');
  if (!parse_address(text.substr(0, slash), p.v6_, p.bytes_)) {
    return base::unexpected("\"" + std::string(text) +
                            "\" is not an IPv4 or IPv6 address or prefix (examples: "
                            "10.0.0.0/24, 192.0.2.7, fd00::/64)");
  }
  const unsigned max = p.v6_ ? 128 : 32;
  p.prefix_ = max;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    unsigned v = 0;
    const auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
    if (ec != std::errc() || end != len.data() + len.size() || len.empty() || v > max) {
      return base::unexpected("prefix length in \"" + std::string(text) + "\" must be 0.." +
                              std::to_string(max));
    }
    p.prefix_ = v;
  }
  // Host bits must be zero.
  const unsigned bytes = p.v6_ ? 16 : 4;
  for (unsigned bit = p.prefix_; bit < bytes * 8; ++bit) {
    if ((p.bytes_[bit / 8] & (0x80 >> (bit % 8))) != 0) {
      return base::unexpected("\"" + std::string(text) +
                              "\" has bits set below its prefix length (did you mean " +
                              std::string(text.substr(0, slash)) + "/" +
                              std::to_string(p.v6_ ? 128 : 32) + "?)");
    }
  }
  return p;
}

bool IpPrefix::contains(std::string_view host) const {
  bool v6 = false;
  std::array<uint8_t, 16> a{};
  if (!parse_address(host, v6, a)) return false;
  if (v6 && !v6_) {
    // ::ffff:a.b.c.d against an IPv4 prefix.
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.data(), kMapped, 12) != 0) return false;
    return prefix_matches(a.data() + 12, bytes_.data(), prefix_);
  }
  if (v6 != v6_) return false;
  return prefix_matches(a.data(), bytes_.data(), prefix_);
}

std::string IpPrefix::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(v6_ ? AF_INET6 : AF_INET, bytes_.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix_);
}

}  // namespace stgt::net
