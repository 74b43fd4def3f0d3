// LoginMachine: the target side of the iSCSI login phase of one connection (RFC 7143 6.3,
// 11.12, 11.13): security stage (AuthMethod, and CHAP through an Authenticator), operational
// stage (through a Negotiator), stage transitions, text continued over several PDUs, and
// every failure answered with its RFC 7143 11.13.5 status.
//
// The connection decodes each Login Request PDU into a LoginRequest, calls step() and sends
// the LoginResponse it gets back (adding ISID, TSIH, ITT and sequence numbers). It sends at
// most one response per request. After a response with `complete` it enters the full feature
// phase with identity(), session_params() and connection_params(); after a response with a
// non-success status (failed() is then true) it closes the connection once the response is
// written.
//
// Threads: one LoginMachine per connection, on that connection's reactor. The LoginContext
// and Authenticator are called synchronously from step() and must not block.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transport/iscsi/login_status.h"
#include "transport/iscsi/params.h"
#include "transport/iscsi/text.h"

namespace stgt::iscsi {

// RFC 7143 11.12.3: login stages as carried in CSG/NSG.
inline constexpr uint8_t kStageSecurity = 0;
inline constexpr uint8_t kStageOperational = 1;
inline constexpr uint8_t kStageFullFeature = 3;
// RFC 7143 11.12.4: the only version there is.
inline constexpr uint8_t kIscsiVersion = 0x00;
// RFC 7143 4.2.7.1: iSCSI names are at most 223 bytes.
inline constexpr size_t kMaxIscsiNameLength = 223;

struct LoginRequest {
  uint8_t csg = 0;
  uint8_t nsg = 0;
  bool transit = false;
  bool cont = false;
  uint8_t version_max = 0;
  uint8_t version_min = 0;
  uint64_t isid = 0;  // 48 bits
  uint16_t tsih = 0;
  uint16_t cid = 0;
  uint32_t itt = 0;
  uint32_t cmd_sn = 0;
  uint32_t exp_stat_sn = 0;
  std::span<const uint8_t> data;  // this PDU's data segment, without padding
};

struct LoginResponse {
  LoginStatus status;
  bool transit = false;
  bool cont = false;
  uint8_t csg = 0;
  uint8_t nsg = 0;
  uint8_t version_max = kIscsiVersion;
  uint8_t version_active = kIscsiVersion;
  std::vector<uint8_t> data;  // key=value text
  bool complete = false;      // true: enter the full feature phase after sending this
};

struct LoginIdentity {
  std::string initiator_name;
  std::string initiator_alias;
  std::string target_name;  // empty for discovery sessions
  SessionType type = SessionType::kNormal;
  uint64_t isid = 0;
  uint16_t tsih = 0;
  uint16_t cid = 0;
};

// Implemented by the session manager.
class LoginContext {
 public:
  virtual ~LoginContext() = default;
  // Called once, when the first request's keys are known: checks the target exists, the
  // initiator may use it, and the TSIH/ISID rules. Returns kSuccess or a failure status.
  virtual LoginStatus admit(const LoginIdentity& who) = 0;
  virtual std::string target_alias(const std::string& target_name) = 0;
  virtual uint16_t portal_group_tag() = 0;
  virtual TargetLimits limits() = 0;
  // True: refusals that depend on the target name (0x0203 not found, 0x0202 the ACL denies
  // the initiator) are concealed (LoginMachine::defer_refusal).
  virtual bool conceal_targets() = 0;
};

enum class AuthResult : uint8_t { kContinue, kSuccess, kFailure };

// The security stage's authentication (RFC 7143 12). One per login; CHAP implements it.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // Methods the target accepts for `who`, most preferred first ("CHAP", "None"). A list
  // without "None" means authentication is required.
  virtual std::vector<std::string> methods(const LoginIdentity& who) = 0;
  // One round of the chosen method: `keys` are the method's keys from this request (CHAP_A,
  // CHAP_N, CHAP_R, ...), possibly none right after AuthMethod was chosen; the target's own
  // keys go to `reply`. kSuccess ends authentication; kFailure fails the login (0x0201).
  virtual AuthResult step(std::string_view method, std::span<const KeyValue> keys,
                          std::vector<KeyValue>& reply) = 0;
  // Called before methods() for a login that will be refused once authenticated: from now
  // on the login must look like one to a target that requires CHAP, whatever the policy
  // for `who` is. methods() offers only "CHAP"; a policy that cannot authenticate anybody
  // (none, or no accounts) becomes a decoy that runs the whole exchange with a real
  // challenge and then fails, as a wrong secret would.
  virtual void conceal() = 0;
};

// The authenticator until CHAP exists: accepts only AuthMethod=None and fails any method round.
// Concealed, it requires CHAP and fails every round.
class NoAuthenticator final : public Authenticator {
 public:
  std::vector<std::string> methods(const LoginIdentity&) override {
    return {concealed_ ? "CHAP" : "None"};
  }
  AuthResult step(std::string_view, std::span<const KeyValue>, std::vector<KeyValue>&) override {
    return AuthResult::kFailure;
  }
  void conceal() override { concealed_ = true; }

 private:
  bool concealed_ = false;
};

class LoginMachine {
 public:
  // `auth` may be null: then NoAuthenticator is used. Both must outlive the machine.
  explicit LoginMachine(LoginContext& context, Authenticator* auth = nullptr);

  LoginResponse step(const LoginRequest& request);

  const LoginIdentity& identity() const { return identity_; }
  const SessionParams& session_params() const { return session_params_; }
  const ConnectionParams& connection_params() const { return connection_params_; }
  bool failed() const { return failed_; }
  bool complete() const { return complete_; }

  // Bounds: accumulated text over C=1 requests, and login requests per connection.
  static constexpr size_t kMaxLoginText = kDefaultMaxTextLength;
  static constexpr uint32_t kMaxLoginRequests = 64;

 private:
  enum class AuthState : uint8_t { kNotOffered, kNone, kInProgress, kDone, kRejected };

  LoginResponse fail(const LoginRequest& req, LoginStatus status, std::string_view why);
  LoginStatus check_header(const LoginRequest& req) const;
  LoginStatus start(const LoginRequest& req, std::span<const KeyValue> keys);
  bool defer_refusal(LoginStatus refusal);
  std::string refusal_text(std::string_view what) const;
  bool may_name_target();
  LoginStatus check_identity_keys(std::span<const KeyValue> keys);
  LoginStatus security_keys(std::span<const KeyValue> keys, std::vector<KeyValue>& reply);
  LoginStatus choose_auth_method(std::string_view offer, std::vector<KeyValue>& reply);
  bool auth_required();
  LoginResponse respond(const LoginRequest& req, std::span<const KeyValue> keys);
  LoginResponse transit(const LoginRequest& req, LoginResponse resp);

  LoginContext& context_;
  NoAuthenticator no_auth_;
  Authenticator& auth_;
  std::optional<Negotiator> negotiator_;
  LoginIdentity identity_;
  SessionParams session_params_;
  ConnectionParams connection_params_;
  std::vector<uint8_t> text_;  // request text accumulated over C=1 PDUs
  uint8_t stage_ = kStageSecurity;
  bool started_ = false;  // first request's keys seen and admitted
  bool failed_ = false;
  bool complete_ = false;
  bool first_answered_ = false;  // the first non-continuation response was built
  bool alias_sent_ = false;
  // A refusal held back until the initiator has authenticated (defer_refusal); kSuccess
  // when there is none.
  LoginStatus refusal_ = LoginStatus::kSuccess;
  uint32_t requests_ = 0;
  AuthState auth_state_ = AuthState::kNotOffered;
  std::string auth_method_;
};

}  // namespace stgt::iscsi
