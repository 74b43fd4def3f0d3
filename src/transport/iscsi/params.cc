#include "transport/iscsi/params.h"

#include <algorithm>
#include <array>
#include <string>

namespace stgt::iscsi {

namespace {

constexpr uint32_t kMaxTime = 3600;

// RFC 7143 12 (security keys) and 13 (operational keys), in the order of the RFC.
constexpr std::array kKeys = {
    KeyDef{"AuthMethod", ParamId::kAuthMethod, KeyType::kSecurity, KeyUse::kInitializeOnly},
    KeyDef{"CHAP_A", ParamId::kChap, KeyType::kSecurity, KeyUse::kInitializeOnly},
    KeyDef{"CHAP_I", ParamId::kChap, KeyType::kSecurity, KeyUse::kInitializeOnly},
    KeyDef{"CHAP_C", ParamId::kChap, KeyType::kSecurity, KeyUse::kInitializeOnly},
    KeyDef{"CHAP_N", ParamId::kChap, KeyType::kSecurity, KeyUse::kInitializeOnly},
    KeyDef{"CHAP_R", ParamId::kChap, KeyType::kSecurity, KeyUse::kInitializeOnly},
    KeyDef{"HeaderDigest", ParamId::kHeaderDigest, KeyType::kDigestList, KeyUse::kInitializeOnly},
    KeyDef{"DataDigest", ParamId::kDataDigest, KeyType::kDigestList, KeyUse::kInitializeOnly},
    KeyDef{"MaxConnections", ParamId::kMaxConnections, KeyType::kNumberMin, KeyUse::kLeadingOnly, 1,
           65535},
    KeyDef{"SendTargets", ParamId::kSendTargets, KeyType::kSendTargets, KeyUse::kFullFeatureOnly},
    KeyDef{"TargetName", ParamId::kTargetName, KeyType::kLoginIdentity, KeyUse::kInitializeOnly},
    KeyDef{"InitiatorName", ParamId::kInitiatorName, KeyType::kLoginIdentity,
           KeyUse::kInitializeOnly},
    KeyDef{"TargetAlias", ParamId::kTargetAlias, KeyType::kTargetOnly, KeyUse::kAll},
    KeyDef{"InitiatorAlias", ParamId::kInitiatorAlias, KeyType::kLoginIdentity, KeyUse::kAll},
    KeyDef{"TargetAddress", ParamId::kTargetAddress, KeyType::kTargetOnly, KeyUse::kAll},
    KeyDef{"TargetPortalGroupTag", ParamId::kTargetPortalGroupTag, KeyType::kTargetOnly,
           KeyUse::kInitializeOnly},
    KeyDef{"InitialR2T", ParamId::kInitialR2T, KeyType::kBoolOr, KeyUse::kLeadingOnly},
    KeyDef{"ImmediateData", ParamId::kImmediateData, KeyType::kBoolAnd, KeyUse::kLeadingOnly},
    KeyDef{"MaxRecvDataSegmentLength", ParamId::kMaxRecvDataSegmentLength, KeyType::kDeclaredNumber,
           KeyUse::kAll, kMinDataLength, kMaxDataLength},
    KeyDef{"MaxBurstLength", ParamId::kMaxBurstLength, KeyType::kNumberMin, KeyUse::kLeadingOnly,
           kMinDataLength, kMaxDataLength},
    KeyDef{"FirstBurstLength", ParamId::kFirstBurstLength, KeyType::kNumberMin,
           KeyUse::kLeadingOnly, kMinDataLength, kMaxDataLength},
    KeyDef{"DefaultTime2Wait", ParamId::kDefaultTime2Wait, KeyType::kNumberMax,
           KeyUse::kLeadingOnly, 0, kMaxTime},
    KeyDef{"DefaultTime2Retain", ParamId::kDefaultTime2Retain, KeyType::kNumberMin,
           KeyUse::kLeadingOnly, 0, kMaxTime},
    KeyDef{"MaxOutstandingR2T", ParamId::kMaxOutstandingR2T, KeyType::kNumberMin,
           KeyUse::kLeadingOnly, 1, 65535},
    KeyDef{"DataPDUInOrder", ParamId::kDataPduInOrder, KeyType::kBoolOr, KeyUse::kLeadingOnly},
    KeyDef{"DataSequenceInOrder", ParamId::kDataSequenceInOrder, KeyType::kBoolOr,
           KeyUse::kLeadingOnly},
    KeyDef{"ErrorRecoveryLevel", ParamId::kErrorRecoveryLevel, KeyType::kNumberMin,
           KeyUse::kLeadingOnly, 0, 2},
    KeyDef{"SessionType", ParamId::kSessionType, KeyType::kLoginIdentity, KeyUse::kLeadingOnly},
    KeyDef{"TaskReporting", ParamId::kTaskReporting, KeyType::kTaskReporting, KeyUse::kLeadingOnly},
    KeyDef{"iSCSIProtocolLevel", ParamId::kProtocolLevel, KeyType::kNumberMin, KeyUse::kLeadingOnly,
           0, 31},
    KeyDef{"IFMarker", ParamId::kIfMarker, KeyType::kMarker, KeyUse::kInitializeOnly},
    KeyDef{"OFMarker", ParamId::kOfMarker, KeyType::kMarker, KeyUse::kInitializeOnly},
    KeyDef{"IFMarkInt", ParamId::kIfMarkInt, KeyType::kMarkerInterval, KeyUse::kInitializeOnly},
    KeyDef{"OFMarkInt", ParamId::kOfMarkInt, KeyType::kMarkerInterval, KeyUse::kInitializeOnly},
};

// RFC 7143 6.1: these constants answer an offer; they are never offers themselves.
bool is_reserved_answer(std::string_view v) {
  return v == kValueReject || v == kValueIrrelevant || v == kValueNotUnderstood;
}

bool list_contains(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (list.substr(0, comma) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

uint32_t clamp32(uint32_t v, uint32_t lo, uint32_t hi) {
  return std::clamp(v, lo, hi);
}

}  // namespace

std::span<const KeyDef> key_table() {
  return kKeys;
}

const KeyDef* find_key(std::string_view name) {
  for (const KeyDef& def : kKeys) {
    if (def.name == name) return &def;
  }
  return nullptr;
}

// RFC 7143 6.3.2: the security stage carries the security keys and the login identity
// declarations; operational keys wait for the operational stage.
bool allowed_in_security_stage(const KeyDef& def) {
  return def.type == KeyType::kSecurity || def.type == KeyType::kLoginIdentity ||
         def.type == KeyType::kTargetOnly;
}

TargetLimits sanitize(TargetLimits l) {
  l.max_recv_data_segment_length =
      clamp32(l.max_recv_data_segment_length, kMinDataLength, kMaxDataLength);
  l.max_burst_length = clamp32(l.max_burst_length, kMinDataLength, kMaxDataLength);
  l.first_burst_length = clamp32(l.first_burst_length, kMinDataLength, l.max_burst_length);
  l.max_outstanding_r2t = clamp32(l.max_outstanding_r2t, 1, 65535);
  l.max_connections = uint16_t(std::max<uint16_t>(l.max_connections, 1));
  l.default_time2wait = std::min(l.default_time2wait, kMaxTime);
  l.default_time2retain = std::min(l.default_time2retain, kMaxTime);
  return l;
}

Negotiator::Negotiator(const TargetLimits& limits, bool leading)
    : limits_(sanitize(limits)), leading_(leading) {}

Negotiator::Negotiator(const TargetLimits& limits, const SessionParams& session,
                       const ConnectionParams& connection)
    : limits_(sanitize(limits)), declared_(true), session_(session), connection_(connection) {}

SessionParams Negotiator::session_params() const {
  SessionParams s = session_;
  s.first_burst_length = std::min(s.first_burst_length, s.max_burst_length);
  return s;
}

void Negotiator::declare(std::vector<KeyValue>& response) {
  if (declared_) return;
  declared_ = true;
  connection_.max_recv_data_segment_length = limits_.max_recv_data_segment_length;
  response.push_back(
      {"MaxRecvDataSegmentLength", std::to_string(limits_.max_recv_data_segment_length)});
}

base::Result<void, NegotiationFailure> Negotiator::negotiate(std::span<const KeyValue> offered,
                                                             NegotiationStage stage,
                                                             std::vector<KeyValue>& response) {
  const size_t first = response.size();
  for (const KeyValue& kv : offered) {
    if (is_reserved_answer(kv.value)) continue;  // an answer to a declaration of ours
    const KeyDef* def = find_key(kv.key);
    const bool login = stage != NegotiationStage::kFullFeature;
    if (def && login && (def->type == KeyType::kLoginIdentity || def->type == KeyType::kSecurity)) {
      continue;  // the login machine's keys
    }
    // RFC 7143 6.2: a key negotiated or declared more than once is a protocol error.
    if (!seen_.insert(kv.key).second) {
      return base::unexpected(NegotiationFailure{NegotiationError::kDuplicateKey, kv.key});
    }
    if (!def) {
      // RFC 7143 6.2, 13.22: unknown keys, X- and X# extensions we do not implement.
      response.push_back({kv.key, std::string(kValueNotUnderstood)});
      continue;
    }
    if (stage == NegotiationStage::kSecurity && !allowed_in_security_stage(*def)) {
      return base::unexpected(NegotiationFailure{NegotiationError::kWrongStage, kv.key});
    }
    if (auto a = answer(*def, kv.value, stage)) response.push_back({kv.key, std::move(*a)});
  }
  fix_first_burst(response, first);
  return {};
}

std::optional<std::string> Negotiator::answer(const KeyDef& def, std::string_view value,
                                              NegotiationStage stage) {
  // RFC 7143 13: IO and LO keys belong to the login; FFPO keys to the full feature phase.
  if (stage == NegotiationStage::kFullFeature) {
    if (def.use == KeyUse::kLeadingOnly || def.use == KeyUse::kInitializeOnly) {
      return std::string(kValueReject);
    }
  } else if (def.use == KeyUse::kFullFeatureOnly) {
    return std::string(kValueReject);
  }
  if (!leading_ && def.use == KeyUse::kLeadingOnly) return std::string(kValueIrrelevant);
  switch (def.type) {
    case KeyType::kDigestList:
      return answer_digest(def, value);
    case KeyType::kNumberMin:
    case KeyType::kNumberMax:
      return answer_number(def, value);
    case KeyType::kBoolOr:
    case KeyType::kBoolAnd:
      return answer_bool(def, value);
    case KeyType::kDeclaredNumber:
      return answer_declared(def, value);
    case KeyType::kLoginIdentity:  // only InitiatorAlias gets here (FFP, use ALL)
      initiator_alias_ = std::string(value);
      return std::nullopt;
    case KeyType::kTaskReporting:
      // RFC 7143 13.23: we implement only the RFC 3720 task reporting semantics.
      return list_contains(value, "RFC3720") ? std::string("RFC3720") : std::string(kValueReject);
    case KeyType::kMarker:
      // RFC 7143 13.25: obsolete; "No" is allowed, NotUnderstood is not.
      return std::string(kValueNo);
    case KeyType::kMarkerInterval:
      // RFC 7143 13.25: obsolete; the answer MUST be Reject.
      return std::string(kValueReject);
    case KeyType::kSecurity:
    case KeyType::kTargetOnly:
    case KeyType::kSendTargets:
      return std::string(kValueReject);
  }
  return std::string(kValueReject);
}

std::string Negotiator::answer_number(const KeyDef& def, std::string_view value) {
  const std::optional<uint64_t> offer = parse_number(value);
  // RFC 7143 6.2.2: an inadmissible (malformed or out-of-range) value is answered Reject.
  if (!offer || *offer < def.min || *offer > def.max) return std::string(kValueReject);
  uint64_t ours = 0;
  switch (def.id) {
    case ParamId::kMaxConnections:
      ours = limits_.max_connections;
      break;
    case ParamId::kMaxBurstLength:
      ours = limits_.max_burst_length;
      break;
    case ParamId::kFirstBurstLength:
      ours = limits_.first_burst_length;
      break;
    case ParamId::kDefaultTime2Wait:
      ours = limits_.default_time2wait;
      break;
    case ParamId::kDefaultTime2Retain:
      ours = limits_.default_time2retain;
      break;
    case ParamId::kMaxOutstandingR2T:
      ours = limits_.max_outstanding_r2t;
      break;
    case ParamId::kErrorRecoveryLevel:
      ours = 0;
      break;  // RFC 7143 7.1.5: we do level 0
    case ParamId::kProtocolLevel:
      ours = 1;
      break;  // RFC 7144 13.24: 1 is RFC 7143
    default:
      return std::string(kValueReject);
  }
  const uint64_t result =
      def.type == KeyType::kNumberMin ? std::min(*offer, ours) : std::max(*offer, ours);
  switch (def.id) {
    case ParamId::kMaxConnections:
      session_.max_connections = uint16_t(result);
      break;
    case ParamId::kMaxBurstLength:
      session_.max_burst_length = uint32_t(result);
      break;
    case ParamId::kFirstBurstLength:
      session_.first_burst_length = uint32_t(result);
      break;
    case ParamId::kDefaultTime2Wait:
      session_.default_time2wait = uint32_t(result);
      break;
    case ParamId::kDefaultTime2Retain:
      session_.default_time2retain = uint32_t(result);
      break;
    case ParamId::kMaxOutstandingR2T:
      session_.max_outstanding_r2t = uint32_t(result);
      break;
    case ParamId::kErrorRecoveryLevel:
      session_.error_recovery_level = uint8_t(result);
      break;
    default:
      break;
  }
  return std::to_string(result);
}

std::string Negotiator::answer_bool(const KeyDef& def, std::string_view value) {
  if (value != kValueYes && value != kValueNo) return std::string(kValueReject);
  const bool offer = value == kValueYes;
  bool ours = true;  // DataPDUInOrder, DataSequenceInOrder: we only do in-order
  if (def.id == ParamId::kInitialR2T) ours = limits_.initial_r2t;
  if (def.id == ParamId::kImmediateData) ours = limits_.immediate_data;
  const bool result = def.type == KeyType::kBoolOr ? (offer || ours) : (offer && ours);
  switch (def.id) {
    case ParamId::kInitialR2T:
      session_.initial_r2t = result;
      break;
    case ParamId::kImmediateData:
      session_.immediate_data = result;
      break;
    case ParamId::kDataPduInOrder:
      session_.data_pdu_in_order = result;
      break;
    case ParamId::kDataSequenceInOrder:
      session_.data_sequence_in_order = result;
      break;
    default:
      break;
  }
  return std::string(result ? kValueYes : kValueNo);
}

// RFC 7143 6.2.1, 13.1: the first value of the initiator's list that we support.
std::string Negotiator::answer_digest(const KeyDef& def, std::string_view value) {
  std::string_view list = value;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    const bool crc = item == "CRC32C" && limits_.allow_crc32c;
    if (crc || item == kValueNone) {
      (def.id == ParamId::kHeaderDigest ? connection_.header_digest : connection_.data_digest) =
          crc;
      return std::string(item);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return std::string(kValueReject);
}

std::optional<std::string> Negotiator::answer_declared(const KeyDef& def, std::string_view value) {
  const std::optional<uint64_t> v = parse_number(value);
  if (!v || *v < def.min || *v > def.max) return std::string(kValueReject);
  connection_.max_xmit_data_segment_length = uint32_t(*v);  // RFC 7143 13.12
  return std::nullopt;
}

// RFC 7143 13.14: FirstBurstLength never exceeds MaxBurstLength, and is Irrelevant when
// InitialR2T=Yes and ImmediateData=No. Both may be settled later in the same batch than
// FirstBurstLength itself, so the answer is fixed up once the batch is done.
void Negotiator::fix_first_burst(std::vector<KeyValue>& response, size_t from) const {
  const bool irrelevant = session_.initial_r2t && !session_.immediate_data;
  for (size_t i = from; i < response.size(); ++i) {
    KeyValue& kv = response[i];
    if (kv.key != "FirstBurstLength" || is_reserved_answer(kv.value)) continue;
    if (irrelevant) {
      kv.value = std::string(kValueIrrelevant);
    } else if (session_.first_burst_length > session_.max_burst_length) {
      kv.value = std::to_string(session_.max_burst_length);
    }
  }
}

}  // namespace stgt::iscsi
