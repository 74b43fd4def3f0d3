#include "transport/iscsi/login.h"

#include <algorithm>

#include "base/log.h"

namespace stgt::iscsi {

namespace {

bool is_identity_key(std::string_view key) {
  return key == "InitiatorName" || key == "TargetName" || key == "SessionType" ||
         key == "InitiatorAlias";
}

bool is_security_key(std::string_view key) {
  const KeyDef* def = find_key(key);
  return def != nullptr && def->type == KeyType::kSecurity;
}

const KeyValue* find_pair(std::span<const KeyValue> keys, std::string_view key) {
  for (const KeyValue& kv : keys) {
    if (kv.key == key) return &kv;
  }
  return nullptr;
}

}  // namespace

LoginMachine::LoginMachine(LoginContext& context, Authenticator* auth)
    : context_(context), auth_(auth != nullptr ? *auth : no_auth_) {}

LoginResponse LoginMachine::fail(const LoginRequest& req, LoginStatus status,
                                 std::string_view why) {
  STGT_LOG_INFO("iscsi login from '{}' failed: {} ({:#06x}): {}", identity_.initiator_name,
                describe(status), status.code(), why);
  failed_ = true;
  LoginResponse resp;
  resp.status = status;
  resp.csg = req.csg;
  resp.nsg = req.nsg;
  return resp;
}

// RFC 7143 11.12: header fields every Login Request must get right.
LoginStatus LoginMachine::check_header(const LoginRequest& req) const {
  // RFC 7143 11.12.4: version 0x00 is the only one; the target answers 0x0205 otherwise.
  if (req.version_min > kIscsiVersion) return LoginStatus::kUnsupportedVersion;
  if (req.csg != kStageSecurity && req.csg != kStageOperational) {
    return LoginStatus::kInitiatorError;
  }
  // RFC 7143 11.12.2: C=1 requires T=0.
  if (req.cont && req.transit) return LoginStatus::kInitiatorError;
  // RFC 7143 11.12.3: NSG is a later stage; 2 is reserved.
  if (req.transit && (req.nsg <= req.csg || req.nsg == 2)) return LoginStatus::kInitiatorError;
  // Stages advance only when the target agreed to transit (RFC 7143 6.3).
  if (requests_ > 1 && req.csg != stage_) return LoginStatus::kInitiatorError;
  // RFC 7143 6.3: ISID, TSIH and CID stay the same for the whole login.
  if (started_ &&
      (req.isid != identity_.isid || req.tsih != identity_.tsih || req.cid != identity_.cid)) {
    return LoginStatus::kInitiatorError;
  }
  return LoginStatus::kSuccess;
}

LoginResponse LoginMachine::step(const LoginRequest& req) {
  if (failed_ || complete_) return fail(req, LoginStatus::kInitiatorError, "login already over");
  if (++requests_ > kMaxLoginRequests) {
    return fail(req, LoginStatus::kInitiatorError, "too many login requests");
  }
  const LoginStatus header = check_header(req);
  if (!header.ok()) return fail(req, header, "invalid login request header");
  stage_ = req.csg;
  if (text_.size() + req.data.size() > kMaxLoginText) {
    return fail(req, LoginStatus::kInitiatorError, "login text too long");
  }
  text_.insert(text_.end(), req.data.begin(), req.data.end());
  if (req.cont) {
    // RFC 7143 6.3, 11.12.2: text continues in the next request; answer with an empty
    // response and wait for the rest.
    LoginResponse resp;
    resp.csg = req.csg;
    resp.nsg = req.nsg;
    return resp;
  }
  auto keys = parse_text(text_, kMaxLoginText);
  text_.clear();
  if (!keys) return fail(req, LoginStatus::kInitiatorError, to_string(keys.error()));
  if (!started_) {
    const LoginStatus admitted = start(req, *keys);
    if (!admitted.ok()) return fail(req, admitted, refusal_text("first login request refused"));
  }
  return respond(req, *keys);
}

// The first complete request: who logs in to what (RFC 7143 6.3.1, 13.4, 13.5, 13.21).
LoginStatus LoginMachine::start(const LoginRequest& req, std::span<const KeyValue> keys) {
  const KeyValue* initiator = find_pair(keys, "InitiatorName");
  const KeyValue* target = find_pair(keys, "TargetName");
  const KeyValue* type = find_pair(keys, "SessionType");
  const KeyValue* alias = find_pair(keys, "InitiatorAlias");
  // RFC 7143 13.5: InitiatorName MUST be in the first Login Request.
  if (initiator == nullptr || initiator->value.empty()) return LoginStatus::kMissingParameter;
  if (type != nullptr && type->value != "Normal" && type->value != "Discovery") {
    return LoginStatus::kSessionTypeNotSupported;
  }
  identity_.type = (type != nullptr && type->value == "Discovery") ? SessionType::kDiscovery
                                                                   : SessionType::kNormal;
  // RFC 7143 13.4: TargetName MUST be in the first request of a Normal session, and names
  // no target in a Discovery session.
  if (identity_.type == SessionType::kNormal && (target == nullptr || target->value.empty())) {
    return LoginStatus::kMissingParameter;
  }
  if (identity_.type == SessionType::kDiscovery && target != nullptr) {
    return LoginStatus::kInitiatorError;
  }
  if (initiator->value.size() > kMaxIscsiNameLength ||
      (target != nullptr && target->value.size() > kMaxIscsiNameLength)) {
    return LoginStatus::kInitiatorError;
  }
  identity_.initiator_name = initiator->value;
  if (target != nullptr) identity_.target_name = target->value;
  if (alias != nullptr) identity_.initiator_alias = alias->value;
  identity_.isid = req.isid;
  identity_.tsih = req.tsih;
  identity_.cid = req.cid;
  started_ = true;
  const LoginStatus admitted = context_.admit(identity_);
  if (!admitted.ok() && !defer_refusal(admitted)) return admitted;
  // A connection joining an existing session is not the leading one (RFC 7143 13 "LO").
  negotiator_.emplace(context_.limits(), identity_.tsih == 0);
  // RFC 7143 6.3: starting in the operational stage skips authentication.
  if (req.csg == kStageOperational && auth_required()) return LoginStatus::kAuthenticationFailure;
  return LoginStatus::kSuccess;
}

// RFC 7143 leaves the order of the login checks to the target. A refusal that tells a
// stranger something about a target waits until the initiator has authenticated, where the
// target requires authentication: that the session a TSIH names does or does not exist
// (0x020a, 0x0206). Those that depend on the target name alone, that it does not exist
// (0x0203) or that its ACL denies the initiator (0x0202), are concealed when the context
// asks for it: the login goes on as to a target that requires CHAP, whatever that target's
// policy (or, for no target, none), so a stranger sees the same exchange, challenge and
// final 0x0201 as from a real CHAP target whose secret it lacks. An initiator that does
// authenticate (the ACL-denied case with a CHAP policy) gets the true status. False: the
// refusal is answered at once.
bool LoginMachine::defer_refusal(LoginStatus refusal) {
  const bool by_name = refusal == LoginStatus::kNotFound ||
                       refusal == LoginStatus::kAuthorizationFailure;
  const bool by_session = refusal == LoginStatus::kTooManyConnections ||
                          refusal == LoginStatus::kSessionDoesNotExist;
  if (by_name) {
    if (identity_.type != SessionType::kNormal || !context_.conceal_targets()) return false;
    auth_.conceal();
  } else if (!by_session || !auth_required()) {
    return false;
  }
  refusal_ = refusal;
  return true;
}

// The log's reason for a failure, with the held-back refusal that the answer conceals.
std::string LoginMachine::refusal_text(std::string_view what) const {
  if (refusal_.ok()) return std::string(what);
  return fmt::format("{}; the login was refused anyway: {} ({:#06x}), concealed until the "
                     "initiator authenticates",
                     what, describe(refusal_), refusal_.code());
}

// TargetAlias (RFC 7143 13.6) names the target, so it goes only to an initiator that has
// authenticated or needs not; a concealed refusal never sends it.
bool LoginMachine::may_name_target() {
  if (identity_.type != SessionType::kNormal || !refusal_.ok()) return false;
  return auth_state_ == AuthState::kDone || auth_state_ == AuthState::kNone || !auth_required();
}

// Identity keys may be repeated in later requests with the same value (libiscsi resends them
// at the start of the operational stage); a different value is a protocol error.
LoginStatus LoginMachine::check_identity_keys(std::span<const KeyValue> keys) {
  for (const KeyValue& kv : keys) {
    if (!is_identity_key(kv.key)) continue;
    if (kv.key == "InitiatorName" && kv.value != identity_.initiator_name) {
      return LoginStatus::kInitiatorError;
    }
    if (kv.key == "TargetName" && kv.value != identity_.target_name) {
      return LoginStatus::kInitiatorError;
    }
    if (kv.key == "SessionType" && kv.value != to_string(identity_.type)) {
      return LoginStatus::kInitiatorError;
    }
    if (kv.key == "InitiatorAlias") {
      if (!identity_.initiator_alias.empty() && kv.value != identity_.initiator_alias) {
        return LoginStatus::kInitiatorError;
      }
      identity_.initiator_alias = kv.value;
    }
  }
  return LoginStatus::kSuccess;
}

bool LoginMachine::auth_required() {
  const std::vector<std::string> ours = auth_.methods(identity_);
  return std::find(ours.begin(), ours.end(), kValueNone) == ours.end();
}

// RFC 7143 12.1, 6.2.1: the first method of the initiator's list that we accept.
LoginStatus LoginMachine::choose_auth_method(std::string_view offer, std::vector<KeyValue>& reply) {
  if (auth_state_ != AuthState::kNotOffered) return LoginStatus::kInitiatorError;
  const std::vector<std::string> ours = auth_.methods(identity_);
  std::string_view list = offer;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    if (std::find(ours.begin(), ours.end(), item) != ours.end()) {
      auth_method_ = std::string(item);
      reply.push_back({"AuthMethod", auth_method_});
      auth_state_ = item == kValueNone ? AuthState::kNone : AuthState::kInProgress;
      return LoginStatus::kSuccess;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  reply.push_back({"AuthMethod", std::string(kValueReject)});
  auth_state_ = AuthState::kRejected;
  return LoginStatus::kSuccess;
}

// Security stage: AuthMethod, then the chosen method's rounds.
LoginStatus LoginMachine::security_keys(std::span<const KeyValue> keys,
                                        std::vector<KeyValue>& reply) {
  std::vector<KeyValue> method_keys;
  bool chose_now = false;
  for (const KeyValue& kv : keys) {
    if (kv.key == "AuthMethod") {
      const LoginStatus s = choose_auth_method(kv.value, reply);
      if (!s.ok()) return s;
      chose_now = true;
    } else if (is_security_key(kv.key)) {
      method_keys.push_back(kv);
    }
  }
  if (method_keys.empty() && !(chose_now && auth_state_ == AuthState::kInProgress)) {
    return LoginStatus::kSuccess;
  }
  if (auth_state_ != AuthState::kInProgress) return LoginStatus::kInitiatorError;
  switch (auth_.step(auth_method_, method_keys, reply)) {
    case AuthResult::kContinue:
      return LoginStatus::kSuccess;
    case AuthResult::kSuccess:
      auth_state_ = AuthState::kDone;
      return refusal_;  // authenticated: a held-back refusal is told now
    case AuthResult::kFailure:
      return LoginStatus::kAuthenticationFailure;
  }
  return LoginStatus::kAuthenticationFailure;
}

LoginResponse LoginMachine::respond(const LoginRequest& req, std::span<const KeyValue> keys) {
  const bool first = !first_answered_;
  first_answered_ = true;
  std::vector<KeyValue> reply;
  LoginStatus s = check_identity_keys(keys);
  if (!s.ok()) return fail(req, s, "login identity changed");
  if (req.csg == kStageSecurity) {
    s = security_keys(keys, reply);
    if (!s.ok()) {
      if (auth_state_ == AuthState::kDone) {
        return fail(req, s, "refused once the initiator authenticated");
      }
      return fail(req, s, refusal_text("security negotiation failed"));
    }
  } else {
    for (const KeyValue& kv : keys) {
      if (is_security_key(kv.key)) {
        return fail(req, LoginStatus::kInitiatorError, "security key in operational stage");
      }
    }
  }
  const NegotiationStage stage =
      req.csg == kStageSecurity ? NegotiationStage::kSecurity : NegotiationStage::kOperational;
  auto negotiated = negotiator_->negotiate(keys, stage, reply);
  if (!negotiated) {
    const bool dup = negotiated.error().error == NegotiationError::kDuplicateKey;
    return fail(req, LoginStatus::kInitiatorError,
                dup ? "key negotiated twice" : "operational key in security stage");
  }
  if (first && identity_.type == SessionType::kNormal) {
    // RFC 7143 13.9: the first Login Response of a Normal session carries the tag.
    reply.push_back({"TargetPortalGroupTag", std::to_string(context_.portal_group_tag())});
  }
  if (!alias_sent_ && may_name_target()) {
    alias_sent_ = true;
    const std::string alias = context_.target_alias(identity_.target_name);
    if (!alias.empty()) reply.push_back({"TargetAlias", alias});  // RFC 7143 13.6
  }
  if (req.csg == kStageOperational) negotiator_->declare(reply);
  LoginResponse resp;
  resp.csg = req.csg;
  resp.nsg = req.nsg;
  resp.data = encode_text(reply);
  return req.transit ? transit(req, std::move(resp)) : resp;
}

// RFC 7143 6.3, 11.13.3: the target sets T only when the initiator asked and nothing is
// pending on its side; it never moves to a stage the initiator did not ask for.
LoginResponse LoginMachine::transit(const LoginRequest& req, LoginResponse resp) {
  if (req.csg == kStageSecurity) {
    switch (auth_state_) {
      case AuthState::kNone:
      case AuthState::kDone:
        break;
      case AuthState::kNotOffered:
        if (auth_required()) {
          return fail(req, LoginStatus::kAuthenticationFailure,
                      refusal_text("authentication required"));
        }
        break;
      case AuthState::kInProgress:
        return resp;  // the method needs more rounds
      case AuthState::kRejected:
        return fail(req, LoginStatus::kAuthenticationFailure,
                    refusal_text("no acceptable AuthMethod"));
    }
    // Refusals are held back only while authentication is required (defer_refusal).
    if (!refusal_.ok()) return fail(req, refusal_, "refused after the security stage");
  }
  resp.transit = true;
  resp.nsg = req.nsg;
  stage_ = req.nsg;
  if (req.nsg == kStageFullFeature) {
    // RFC 7143 6.3: values not negotiated keep their defaults (also when the operational
    // stage was skipped).
    complete_ = true;
    resp.complete = true;
    session_params_ = negotiator_->session_params();
    connection_params_ = negotiator_->connection_params();
  }
  return resp;
}

}  // namespace stgt::iscsi
