// Login/Text operational parameters (RFC 7143 13): the values a session and a connection run
// with, the table of every key the target knows, and the Negotiator that answers an
// initiator's offers.
//
// The target is always the responder here: it answers what the initiator offers and makes
// declarations of its own (MaxRecvDataSegmentLength), never offers that would need an answer,
// so a login never has to wait on the initiator.
//
// Threads: a Negotiator belongs to one login (or one FFP Text sequence) on one connection's
// reactor; it is not shared. No I/O, no blocking.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "transport/iscsi/text.h"

namespace stgt::iscsi {

// Session-wide values (RFC 7143 13); the initialisers are the RFC defaults.
struct SessionParams {
  uint16_t max_connections = 1;
  bool initial_r2t = true;
  bool immediate_data = true;
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 20;
  uint32_t max_outstanding_r2t = 1;
  bool data_pdu_in_order = true;
  bool data_sequence_in_order = true;
  uint8_t error_recovery_level = 0;
};

// Per-connection values.
struct ConnectionParams {
  bool header_digest = false;
  bool data_digest = false;
  uint32_t max_recv_data_segment_length = 8192;  // what THIS target accepts (declared by target)
  uint32_t max_xmit_data_segment_length = 8192;  // what the initiator declared it accepts
};

// The target's own offers and limits (from configuration).
struct TargetLimits {
  uint32_t max_recv_data_segment_length = 262144;
  uint32_t max_burst_length = 1048576;
  uint32_t first_burst_length = 262144;
  uint32_t max_outstanding_r2t = 16;
  bool initial_r2t = false;
  bool immediate_data = true;
  bool allow_crc32c = true;
  uint16_t max_connections = 1;
  uint32_t default_time2wait = 2;
  uint32_t default_time2retain = 20;
};

// RFC 7143 13.12-13.14 range of the data segment and burst lengths.
inline constexpr uint32_t kMinDataLength = 512;
inline constexpr uint32_t kMaxDataLength = (1u << 24) - 1;

// Which field a key sets.
enum class ParamId : uint8_t {
  kHeaderDigest,
  kDataDigest,
  kMaxConnections,
  kSendTargets,
  kTargetName,
  kInitiatorName,
  kTargetAlias,
  kInitiatorAlias,
  kTargetAddress,
  kTargetPortalGroupTag,
  kInitialR2T,
  kImmediateData,
  kMaxRecvDataSegmentLength,
  kMaxBurstLength,
  kFirstBurstLength,
  kDefaultTime2Wait,
  kDefaultTime2Retain,
  kMaxOutstandingR2T,
  kDataPduInOrder,
  kDataSequenceInOrder,
  kErrorRecoveryLevel,
  kSessionType,
  kTaskReporting,
  kProtocolLevel,
  kAuthMethod,
  kChap,
  kIfMarker,
  kOfMarker,
  kIfMarkInt,
  kOfMarkInt,
};

// How the answer is computed (RFC 7143 6.2).
enum class KeyType : uint8_t {
  kDigestList,      // list: first of the offer we support
  kNumberMin,       // numerical, result = min(offer, ours)
  kNumberMax,       // numerical, result = max(offer, ours)
  kBoolOr,          // Boolean, result = offer OR ours
  kBoolAnd,         // Boolean, result = offer AND ours
  kDeclaredNumber,  // declarative number, no answer (MaxRecvDataSegmentLength)
  kLoginIdentity,   // InitiatorName, TargetName, SessionType, InitiatorAlias: the login machine
  kSecurity,        // AuthMethod, CHAP_*: the login machine's security stage
  kTargetOnly,      // only a target sends it (TargetAlias, TargetAddress, TargetPortalGroupTag)
  kSendTargets,     // answered by discovery in FFP
  kTaskReporting,   // list: RFC3720 is all we do
  kMarker,          // RFC 3720 IFMarker/OFMarker, obsolete
  kMarkerInterval,  // RFC 3720 IFMarkInt/OFMarkInt, obsolete
};

// RFC 7143 13 "Use": where a key may appear.
enum class KeyUse : uint8_t {
  kLeadingOnly,      // LO: login of the leading connection only
  kInitializeOnly,   // IO: login only
  kAll,              // login and FFP
  kFullFeatureOnly,  // FFPO
};

struct KeyDef {
  std::string_view name;
  ParamId id;
  KeyType type;
  KeyUse use;
  uint32_t min = 0;  // numerical keys: admissible range
  uint32_t max = 0;
};

// The table of every key of RFC 7143 12-13 (plus the obsolete RFC 3720 marker keys).
std::span<const KeyDef> key_table();
// Nullptr for an unknown key (including X- and X# extension keys).
const KeyDef* find_key(std::string_view name);
// True for keys allowed in the security stage (RFC 7143 6.3.2, 12).
bool allowed_in_security_stage(const KeyDef& def);

enum class NegotiationStage : uint8_t { kSecurity, kOperational, kFullFeature };

enum class NegotiationError : uint8_t {
  kDuplicateKey,  // RFC 7143 6.2: a key negotiated or declared twice
  kWrongStage,    // an operational key in the security stage
};

struct NegotiationFailure {
  NegotiationError error;
  std::string key;
};

// Answers offered keys; tracks which were negotiated; yields the resulting parameters.
class Negotiator {
 public:
  // Login: starts from the RFC defaults. `leading` is false for a connection joining an
  // existing session (TSIH != 0), where session-wide keys are Irrelevant.
  explicit Negotiator(const TargetLimits& limits, bool leading = true);
  // FFP Text negotiation: starts from the session's current values.
  Negotiator(const TargetLimits& limits, const SessionParams& session,
             const ConnectionParams& connection);

  // Appends one answer per offered key that needs one, in offer order. Keys of type
  // kLoginIdentity and kSecurity are left to the login machine during login (no answer here).
  base::Result<void, NegotiationFailure> negotiate(std::span<const KeyValue> offered,
                                                   NegotiationStage stage,
                                                   std::vector<KeyValue>& response);
  // Appends the target's MaxRecvDataSegmentLength declaration the first time it is called
  // (RFC 7143 13.12); later calls append nothing.
  void declare(std::vector<KeyValue>& response);

  bool negotiated(std::string_view key) const { return seen_.count(std::string(key)) != 0; }
  SessionParams session_params() const;
  const ConnectionParams& connection_params() const { return connection_; }
  const std::string& initiator_alias() const { return initiator_alias_; }

 private:
  std::optional<std::string> answer(const KeyDef& def, std::string_view value,
                                    NegotiationStage stage);
  std::string answer_number(const KeyDef& def, std::string_view value);
  std::string answer_bool(const KeyDef& def, std::string_view value);
  std::string answer_digest(const KeyDef& def, std::string_view value);
  std::optional<std::string> answer_declared(const KeyDef& def, std::string_view value);
  void fix_first_burst(std::vector<KeyValue>& response, size_t from) const;

  TargetLimits limits_;
  bool leading_ = true;
  bool declared_ = false;
  SessionParams session_;
  ConnectionParams connection_;
  std::string initiator_alias_;
  std::set<std::string> seen_;
};

// Clamps configured limits into the RFC ranges (and FirstBurstLength <= MaxBurstLength).
TargetLimits sanitize(TargetLimits limits);

}  // namespace stgt::iscsi
