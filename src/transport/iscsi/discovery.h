// Discovery (RFC 7143 Appendix C, 13.3, 13.8) and the full feature phase Text request.
//
// SendTargets lists the targets an initiator may see, each as TargetName= followed by one
// TargetAddress=<address>:<port>,<tpgt> per portal (IPv6 addresses in brackets). The Text
// request handler answers SendTargets and passes every other key through the Negotiator's
// full feature phase rules (MaxRecvDataSegmentLength may be re-declared; login-only keys are
// rejected).
//
// Pure functions, called on the connection's reactor; the target lister is called
// synchronously and must not block. The connection splits a response longer than the
// initiator's MaxRecvDataSegmentLength over several Text Responses (C bit, RFC 7143 11.11).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "transport/iscsi/login_status.h"
#include "transport/iscsi/params.h"
#include "transport/iscsi/text.h"

namespace stgt::iscsi {

inline constexpr uint16_t kDefaultIscsiPort = 3260;

struct PortalAddress {
  std::string host;  // "192.0.2.1", "2001:db8::1" (no brackets) or a DNS name
  uint16_t port = kDefaultIscsiPort;
  uint16_t group_tag = 1;
};

struct DiscoveredTarget {
  std::string name;
  std::vector<PortalAddress> portals;
};

// "192.0.2.1:3260,1" or "[2001:db8::1]:3260,1" (RFC 7143 13.8).
std::string format_target_address(const PortalAddress& portal);
// Reads "192.0.2.1:3260", "[2001:db8::1]:3260", "192.0.2.1" or "2001:db8::1" (default port).
std::optional<PortalAddress> parse_portal(std::string_view address, uint16_t group_tag);

// Appends TargetName/TargetAddress pairs for every target in `targets`.
void append_targets(std::vector<uint8_t>& out, std::span<const DiscoveredTarget> targets);

// Answers one SendTargets value (RFC 7143 Appendix C): "All" (discovery sessions only), a
// target name, or empty for the session's own target (normal sessions only). A target the
// initiator may not see yields no pairs; a value not allowed in this session type yields
// SendTargets=Reject.
void answer_send_targets(std::vector<uint8_t>& out, std::string_view query, SessionType type,
                         std::string_view session_target,
                         std::span<const DiscoveredTarget> visible);

// The session a Text request arrives on.
struct TextSession {
  SessionType type = SessionType::kNormal;
  std::string target_name;  // normal sessions: the target logged in to
  TargetLimits limits;
  SessionParams session;
  ConnectionParams connection;
};

// Lists the targets (with their portals) this initiator may see.
using TargetLister = std::function<std::vector<DiscoveredTarget>()>;

enum class TextRequestError : uint8_t {
  kMalformed,     // text does not parse (RFC 7143 6.1)
  kDuplicateKey,  // a key twice in one negotiation (RFC 7143 6.2)
};

struct TextResult {
  std::vector<uint8_t> data;    // response text
  ConnectionParams connection;  // updated (MaxRecvDataSegmentLength re-declared)
  std::string initiator_alias;  // non-empty when re-declared
};

// Answers a complete Text request (its text accumulated over C=1 PDUs). On error the
// connection answers with a Reject PDU (protocol error).
base::Result<TextResult, TextRequestError> handle_text_request(std::span<const uint8_t> request,
                                                               const TextSession& session,
                                                               const TargetLister& list_targets);

}  // namespace stgt::iscsi
