#include "config/portal_address.h"

#include <arpa/inet.h>

#include <cctype>

namespace stgt::config {
namespace {

using AddressResult = base::Result<PortalAddress, std::string>;

base::Result<uint16_t, std::string> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return base::unexpected(std::string("port must be a number 1..65535"));
  }
  unsigned value = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) {
      return base::unexpected(std::string("port must be a number 1..65535"));
    }
    value = value * 10 + unsigned(c - '0');
  }
  if (value == 0 || value > 65535) {
    return base::unexpected(std::string("port must be a number 1..65535"));
  }
  return uint16_t(value);
}

// Canonical text of a numeric address, so "::0:1" and "::1" compare equal.
base::Result<std::string, std::string> canonical_host(const std::string& host, bool ipv6) {
  unsigned char binary[16];
  char text[INET6_ADDRSTRLEN];
  const int family = ipv6 ? AF_INET6 : AF_INET;
  if (inet_pton(family, host.c_str(), binary) != 1 ||
      inet_ntop(family, binary, text, sizeof(text)) == nullptr) {
    return base::unexpected(
        std::string(ipv6 ? "not a numeric IPv6 address: " : "not a numeric IPv4 address: ") + host);
  }
  return std::string(text);
}

}  // namespace

std::string PortalAddress::to_string() const {
  const std::string port_text = std::to_string(port);
  if (ipv6) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

AddressResult parse_portal_address(std::string_view text) {
  PortalAddress address;
  std::string host;
  std::string_view port_text;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return base::unexpected(std::string("missing ']' after an IPv6 address"));
    }
    host = std::string(text.substr(1, close - 1));
    const std::string_view after = text.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) {
      return base::unexpected(std::string("expected ':port' after ']'"));
    }
    if (!after.empty()) port_text = after.substr(1);
    if (!after.empty() && port_text.empty()) {
      return base::unexpected(std::string("port must be a number 1..65535"));
    }
    address.ipv6 = true;
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      return base::unexpected(
          std::string("an IPv6 address must be written in brackets: [::1]:3260"));
    }
    host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = text.substr(colon + 1);
      if (port_text.empty()) return base::unexpected(std::string("port must be a number 1..65535"));
    }
  }
  if (host.empty()) return base::unexpected(std::string("missing host address"));
  auto canonical = canonical_host(host, address.ipv6);
  if (!canonical) return base::unexpected(canonical.error());
  address.host = std::move(canonical.value());
  if (!port_text.empty()) {
    auto port = parse_port(port_text);
    if (!port) return base::unexpected(port.error());
    address.port = port.value();
  }
  return address;
}

}  // namespace stgt::config
