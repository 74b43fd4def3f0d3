// SocketAddress: an IPv4 or IPv6 TCP endpoint, parsed from and printed in the forms the
// configuration uses: "127.0.0.1:3260", "0.0.0.0:3260", "[::1]:3260", "[::]:3260", or a
// bare host ("10.0.0.1", "::1", "[::1]") that takes the default port. Host names are not
// resolved (no blocking DNS lookups anywhere near a reactor). A value type; any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace stgt::net {

inline constexpr uint16_t kIscsiPort = 3260;  // RFC 7143 13.1 (well-known port)

class SocketAddress {
 public:
  SocketAddress() = default;

  static base::Result<SocketAddress, std::string> parse(std::string_view text,
                                                        uint16_t default_port = kIscsiPort);
  // Null-free conversion from what accept/getsockname return; an unknown family yields an
  // address whose family() is AF_UNSPEC.
  static SocketAddress from_sockaddr(const sockaddr_storage& ss, socklen_t len);

  // "a.b.c.d:port" or "[v6]:port".
  std::string to_string() const;
  // The host part alone, without brackets.
  std::string host() const;

  int family() const { return storage_.ss_family; }
  bool is_v6() const { return family() == AF_INET6; }
  uint16_t port() const;
  void set_port(uint16_t port);

  const sockaddr* sockaddr_ptr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t length() const { return length_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) {
    return a.to_string() == b.to_string();
  }

 private:
  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace stgt::net
