#include "transport/iscsi/discovery.h"

#include <algorithm>
#include <charconv>

namespace stgt::iscsi {

std::string format_target_address(const PortalAddress& portal) {
  std::string out;
  const bool v6 = portal.host.find(':') != std::string::npos;
  if (v6) out += '[';
  out += portal.host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(portal.port);
  out += ',';
  out += std::to_string(portal.group_tag);
  return out;
}

namespace {

std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v == 0 || v > 65535) {
    return std::nullopt;
  }
  return uint16_t(v);
}

}  // namespace

std::optional<PortalAddress> parse_portal(std::string_view address, uint16_t group_tag) {
  PortalAddress p;
  p.group_tag = group_tag;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    p.host = std::string(address.substr(1, close - 1));
    const std::string_view rest = address.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
      if (port.empty()) return std::nullopt;
    }
  } else {
    const size_t colon = address.find(':');
    if (colon != std::string_view::npos && address.find(':', colon + 1) == std::string_view::npos) {
      p.host = std::string(address.substr(0, colon));
      port = address.substr(colon + 1);
      if (port.empty()) return std::nullopt;
    } else {
      p.host = std::string(address);  // no port, or a bare IPv6 address
    }
  }
  if (p.host.empty()) return std::nullopt;
  if (!port.empty()) {
    const auto n = parse_port(port);
    if (!n) return std::nullopt;
    p.port = *n;
  }
  return p;
}

void append_targets(std::vector<uint8_t>& out, std::span<const DiscoveredTarget> targets) {
  for (const DiscoveredTarget& t : targets) {
    append_key(out, "TargetName", t.name);
    for (const PortalAddress& p : t.portals) {
      append_key(out, "TargetAddress", format_target_address(p));
    }
  }
}

void answer_send_targets(std::vector<uint8_t>& out, std::string_view query, SessionType type,
                         std::string_view session_target,
                         std::span<const DiscoveredTarget> visible) {
  // RFC 7143 Appendix C: "All" only in a discovery session (which has no target of its own);
  // a normal session asks only about its own target, by name or with an empty value.
  const bool discovery = type == SessionType::kDiscovery;
  if (discovery && query == "All") {
    append_targets(out, visible);
    return;
  }
  const std::string_view wanted = (!discovery && query.empty()) ? session_target : query;
  if (wanted.empty() || (!discovery && wanted != session_target)) {
    append_key(out, "SendTargets", kValueReject);
    return;
  }
  const auto it = std::find_if(visible.begin(), visible.end(),
                               [&](const DiscoveredTarget& t) { return t.name == wanted; });
  if (it != visible.end()) append_targets(out, std::span(&*it, 1));
}

base::Result<TextResult, TextRequestError> handle_text_request(std::span<const uint8_t> request,
                                                               const TextSession& session,
                                                               const TargetLister& list_targets) {
  auto keys = parse_text(request);
  if (!keys) return base::unexpected(TextRequestError::kMalformed);
  std::vector<KeyValue> negotiable;
  const KeyValue* send_targets = nullptr;
  for (const KeyValue& kv : *keys) {
    if (kv.key != "SendTargets") {
      negotiable.push_back(kv);
      continue;
    }
    if (send_targets != nullptr) return base::unexpected(TextRequestError::kDuplicateKey);
    send_targets = &kv;
  }
  Negotiator negotiator(session.limits, session.session, session.connection);
  std::vector<KeyValue> reply;
  auto negotiated = negotiator.negotiate(negotiable, NegotiationStage::kFullFeature, reply);
  if (!negotiated) return base::unexpected(TextRequestError::kDuplicateKey);
  TextResult result;
  result.data = encode_text(reply);
  if (send_targets != nullptr) {
    const std::vector<DiscoveredTarget> visible =
        list_targets ? list_targets() : std::vector<DiscoveredTarget>{};
    answer_send_targets(result.data, send_targets->value, session.type, session.target_name,
                        visible);
  }
  result.connection = negotiator.connection_params();
  result.initiator_alias = negotiator.initiator_alias();
  return result;
}

}  // namespace stgt::iscsi
