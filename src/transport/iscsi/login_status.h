// LoginStatus: the Status-Class / Status-Detail pair of a Login Response (RFC 7143 11.13.5),
// with one named constant per code the target sends, and the session type a login asks for.
// Pure values; no I/O.
#pragma once

#include <cstdint>
#include <string_view>

namespace stgt::iscsi {

enum class SessionType { kNormal, kDiscovery };

struct LoginStatus {
  uint8_t status_class = 0;
  uint8_t detail = 0;

  constexpr uint16_t code() const { return uint16_t(status_class << 8 | detail); }
  constexpr bool ok() const { return status_class == 0; }
  friend constexpr bool operator==(const LoginStatus&, const LoginStatus&) = default;

  // RFC 7143 11.13.5
  static const LoginStatus kSuccess;
  static const LoginStatus kTargetMovedTemporarily;
  static const LoginStatus kTargetMovedPermanently;
  static const LoginStatus kInitiatorError;
  static const LoginStatus kAuthenticationFailure;
  static const LoginStatus kAuthorizationFailure;
  static const LoginStatus kNotFound;
  static const LoginStatus kTargetRemoved;
  static const LoginStatus kUnsupportedVersion;
  static const LoginStatus kTooManyConnections;
  static const LoginStatus kMissingParameter;
  static const LoginStatus kCantIncludeInSession;
  static const LoginStatus kSessionTypeNotSupported;
  static const LoginStatus kSessionDoesNotExist;
  static const LoginStatus kInvalidDuringLogin;
  static const LoginStatus kTargetError;
  static const LoginStatus kServiceUnavailable;
  static const LoginStatus kOutOfResources;
};

inline constexpr LoginStatus LoginStatus::kSuccess{0x00, 0x00};
inline constexpr LoginStatus LoginStatus::kTargetMovedTemporarily{0x01, 0x01};
inline constexpr LoginStatus LoginStatus::kTargetMovedPermanently{0x01, 0x02};
inline constexpr LoginStatus LoginStatus::kInitiatorError{0x02, 0x00};
inline constexpr LoginStatus LoginStatus::kAuthenticationFailure{0x02, 0x01};
inline constexpr LoginStatus LoginStatus::kAuthorizationFailure{0x02, 0x02};
inline constexpr LoginStatus LoginStatus::kNotFound{0x02, 0x03};
inline constexpr LoginStatus LoginStatus::kTargetRemoved{0x02, 0x04};
inline constexpr LoginStatus LoginStatus::kUnsupportedVersion{0x02, 0x05};
inline constexpr LoginStatus LoginStatus::kTooManyConnections{0x02, 0x06};
inline constexpr LoginStatus LoginStatus::kMissingParameter{0x02, 0x07};
inline constexpr LoginStatus LoginStatus::kCantIncludeInSession{0x02, 0x08};
inline constexpr LoginStatus LoginStatus::kSessionTypeNotSupported{0x02, 0x09};
inline constexpr LoginStatus LoginStatus::kSessionDoesNotExist{0x02, 0x0a};
inline constexpr LoginStatus LoginStatus::kInvalidDuringLogin{0x02, 0x0b};
inline constexpr LoginStatus LoginStatus::kTargetError{0x03, 0x00};
inline constexpr LoginStatus LoginStatus::kServiceUnavailable{0x03, 0x01};
inline constexpr LoginStatus LoginStatus::kOutOfResources{0x03, 0x02};

// Short text for logs, as the RFC names the code.
constexpr std::string_view describe(LoginStatus s) {
  switch (s.code()) {
    case 0x0000:
      return "success";
    case 0x0101:
      return "target moved temporarily";
    case 0x0102:
      return "target moved permanently";
    case 0x0200:
      return "initiator error";
    case 0x0201:
      return "authentication failure";
    case 0x0202:
      return "authorization failure";
    case 0x0203:
      return "not found";
    case 0x0204:
      return "target removed";
    case 0x0205:
      return "unsupported version";
    case 0x0206:
      return "too many connections";
    case 0x0207:
      return "missing parameter";
    case 0x0208:
      return "can't include in session";
    case 0x0209:
      return "session type not supported";
    case 0x020a:
      return "session does not exist";
    case 0x020b:
      return "invalid during login";
    case 0x0300:
      return "target error";
    case 0x0301:
      return "service unavailable";
    case 0x0302:
      return "out of resources";
    default:
      return "unknown login status";
  }
}

constexpr std::string_view to_string(SessionType t) {
  return t == SessionType::kDiscovery ? "Discovery" : "Normal";
}

}  // namespace stgt::iscsi
