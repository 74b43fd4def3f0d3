// IpPrefix: an IPv4 or IPv6 address block ("10.0.0.0/24", "192.0.2.7", "fd00::/64", "::1")
// for access rules. A bare address is a /32 or /128. Host bits below the prefix must be zero
// ("10.0.0.1/24" is refused: it usually means a typo). An IPv4-mapped IPv6 peer
// (::ffff:a.b.c.d) matches IPv4 prefixes. A value type; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::net {

class IpPrefix {
 public:
  static base::Result<IpPrefix, std::string> parse(std::string_view text);

  // `host` is an address as text ("10.0.0.5", "::1", "[::1]"); false when it is not one.
  bool contains(std::string_view host) const;
  std::string to_string() const;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};
  unsigned prefix_ = 0;
};

}  // namespace stgt::net
