// CHAP authentication for iSCSI logins (RFC 7143 12.1.3 over RFC 1994), one-way and mutual,
// with the hash algorithms of the IANA "iSCSI CHAP algorithms" registry: MD5 (5), SHA-1 (6),
// SHA-256 (7) and SHA3-256 (8), computed by OpenSSL.
//
// Exchange (target side):
//   I -> T  CHAP_A=<list>               we pick the first listed algorithm we allow
//   T -> I  CHAP_A, CHAP_I, CHAP_C      identifier and challenge from OpenSSL's CSPRNG
//   I -> T  CHAP_N, CHAP_R [, CHAP_I, CHAP_C]   the response; I/C ask for mutual CHAP
//   T -> I  [CHAP_N, CHAP_R]            our response when mutual CHAP was asked for
// Responses are compared in constant time. A challenge from the initiator equal to ours (a
// reflection attack) fails the login, as does mutual CHAP whose two secrets are equal.
// Secrets never appear in log lines.
//
// Threads: one ChapAuthenticator per login, on the connection's reactor; the policy lookup
// is called synchronously from methods() and must not block.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "transport/iscsi/login.h"

namespace stgt::iscsi {

enum class ChapAlgorithm : uint8_t { kMd5 = 5, kSha1 = 6, kSha256 = 7, kSha3_256 = 8 };

// Digest length in bytes.
size_t chap_digest_length(ChapAlgorithm a);
// CHAP response: H(identifier || secret || challenge) (RFC 1994 4.1).
std::vector<uint8_t> chap_response(ChapAlgorithm a, uint8_t identifier, std::string_view secret,
                                   std::span<const uint8_t> challenge);

// RFC 7143 6.1 binary values: "0x" + hex digits (an odd count has an implied leading zero)
// or "0b" + base64. Nullopt for anything else or more than `max_bytes`.
std::optional<std::vector<uint8_t>> decode_binary_value(std::string_view value,
                                                        size_t max_bytes = 1024);
std::string encode_hex_value(std::span<const uint8_t> bytes);  // "0x..."

struct ChapAccount {
  std::string user;
  std::string secret;
};

// Who may log in where, as the control plane configures it (per target, or for discovery).
struct ChapPolicy {
  // Credentials an initiator may present; non-empty makes CHAP required.
  std::vector<ChapAccount> incoming;
  // The target's credentials for mutual CHAP; without it mutual CHAP is refused.
  std::optional<ChapAccount> outgoing;
  // Refuse initiators that do not ask for mutual CHAP.
  bool mutual_required = false;
  // Algorithms we accept; the initiator's order of preference decides among them.
  std::vector<ChapAlgorithm> algorithms{ChapAlgorithm::kSha3_256, ChapAlgorithm::kSha256,
                                        ChapAlgorithm::kSha1, ChapAlgorithm::kMd5};
};

// The policy for a login: by target name, or for a discovery session. Nullopt: no CHAP.
using ChapPolicyLookup = std::function<std::optional<ChapPolicy>(const LoginIdentity&)>;

class ChapAuthenticator final : public Authenticator {
 public:
  explicit ChapAuthenticator(ChapPolicyLookup lookup);

  std::vector<std::string> methods(const LoginIdentity& who) override;
  AuthResult step(std::string_view method, std::span<const KeyValue> keys,
                  std::vector<KeyValue>& reply) override;
  void conceal() override { concealed_ = true; }

  // The CHAP_N of the initiator that authenticated (empty until then).
  const std::string& authenticated_user() const { return user_; }
  // Why the last step failed, for the log (never contains a secret).
  const std::string& failure() const { return failure_; }

 private:
  enum class State : uint8_t { kWaitAlgorithm, kWaitResponse, kDone, kFailed };

  AuthResult choose_algorithm(std::span<const KeyValue> keys, std::vector<KeyValue>& reply);
  AuthResult check_response(std::span<const KeyValue> keys, std::vector<KeyValue>& reply);
  AuthResult fail(std::string why);

  ChapPolicyLookup lookup_;
  std::optional<ChapPolicy> policy_;
  State state_ = State::kWaitAlgorithm;
  ChapAlgorithm algorithm_ = ChapAlgorithm::kSha256;
  uint8_t identifier_ = 0;
  std::vector<uint8_t> challenge_;
  std::string user_;
  std::string failure_;
  bool concealed_ = false;
  bool decoy_ = false;  // concealed with nobody to authenticate: the exchange must fail
};

}  // namespace stgt::iscsi
