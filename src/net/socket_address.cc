#include "net/socket_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace stgt::net {
namespace {

base::Result<uint16_t, std::string> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return base::unexpected(fmt::format("invalid port in address '{}'", whole));
  }
  return uint16_t(value);
}

}  // namespace

base::Result<SocketAddress, std::string> SocketAddress::parse(std::string_view text,
                                                              uint16_t default_port) {
  std::string_view host = text;
  std::string_view port_text;
  bool has_port = false;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return base::unexpected(fmt::format("missing ']' in address '{}'", text));
    }
    host = text.substr(1, close - 1);
    bracketed = true;
    const std::string_view after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return base::unexpected(fmt::format("unexpected text after ']' in address '{}'", text));
      }
      port_text = after.substr(1);
      has_port = true;
    }
  } else if (text.find(':') != text.rfind(':')) {
    // Several colons and no brackets: a bare IPv6 address, no port.
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    has_port = true;
  }
  uint16_t port = default_port;
  if (has_port) {
    auto p = parse_port(port_text, text);
    if (!p) return base::unexpected(p.error());
    port = *p;
  }
  if (host.empty()) return base::unexpected(fmt::format("missing host in address '{}'", text));

  const std::string host_str(host);
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (!bracketed && ::inet_pton(AF_INET, host_str.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length_ = sizeof(sockaddr_in);
    return a;
  }
  if (::inet_pton(AF_INET6, host_str.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.length_ = sizeof(sockaddr_in6);
    return a;
  }
  return base::unexpected(fmt::format("invalid IP address '{}'", text));
}

SocketAddress SocketAddress::from_sockaddr(const sockaddr_storage& ss, socklen_t len) {
  SocketAddress a;
  if ((ss.ss_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) ||
      (ss.ss_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6)))) {
    a.storage_ = ss;
    a.length_ = ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  }
  return a;
}

std::string SocketAddress::host() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf,
                sizeof buf);
  } else if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf,
                sizeof buf);
  } else {
    return "?";
  }
  return buf;
}

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

void SocketAddress::set_port(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
}

std::string SocketAddress::to_string() const {
  if (family() == AF_INET6) return fmt::format("[{}]:{}", host(), port());
  if (family() == AF_INET) return fmt::format("{}:{}", host(), port());
  return "unspecified";
}

}  // namespace stgt::net
