// Portal address literals: "IPv4:port" or "[IPv6]:port" (port optional, default 3260).
// Only numeric addresses; host names are not resolved. Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::config {

inline constexpr uint16_t kDefaultIscsiPort = 3260;  // RFC 7143 13.1 (well-known port)

struct PortalAddress {
  std::string host;  // canonical text form, without brackets ("::1", "127.0.0.1")
  uint16_t port = kDefaultIscsiPort;
  bool ipv6 = false;
  bool operator==(const PortalAddress&) const = default;
  // "127.0.0.1:3260" or "[::1]:3260".
  std::string to_string() const;
};

// Parses an address; the error is a sentence for a ConfigError message.
base::Result<PortalAddress, std::string> parse_portal_address(std::string_view text);

}  // namespace stgt::config
