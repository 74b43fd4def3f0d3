#include "transport/iscsi/chap.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

namespace stgt::iscsi {

namespace {

const EVP_MD* digest_of(ChapAlgorithm a) {
  switch (a) {
    case ChapAlgorithm::kMd5:
      return EVP_md5();
    case ChapAlgorithm::kSha1:
      return EVP_sha1();
    case ChapAlgorithm::kSha256:
      return EVP_sha256();
    case ChapAlgorithm::kSha3_256:
      return EVP_sha3_256();
  }
  return nullptr;
}

std::optional<ChapAlgorithm> algorithm_from(std::string_view code) {
  unsigned v = 0;
  const auto [end, ec] = std::from_chars(code.data(), code.data() + code.size(), v);
  if (ec != std::errc() || end != code.data() + code.size()) return std::nullopt;
  switch (v) {
    case 5:
    case 6:
    case 7:
    case 8:
      return ChapAlgorithm(v);
    default:
      return std::nullopt;
  }
}

const std::string* find_key(std::span<const KeyValue> keys, std::string_view name) {
  for (const KeyValue& kv : keys) {
    if (kv.key == name) return &kv.value;
  }
  return nullptr;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::vector<uint8_t>> decode_hex(std::string_view digits, size_t max_bytes) {
  if (digits.empty() || (digits.size() + 1) / 2 > max_bytes) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve((digits.size() + 1) / 2);
  size_t i = 0;
  if (digits.size() % 2 != 0) {  // RFC 7143 6.1: an implied leading zero
    const int d = hex_digit(digits[0]);
    if (d < 0) return std::nullopt;
    out.push_back(uint8_t(d));
    i = 1;
  }
  for (; i < digits.size(); i += 2) {
    const int hi = hex_digit(digits[i]);
    const int lo = hex_digit(digits[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(uint8_t(hi << 4 | lo));
  }
  return out;
}

std::optional<std::vector<uint8_t>> decode_base64(std::string_view text, size_t max_bytes) {
  if (text.empty() || text.size() % 4 != 0 || text.size() / 4 * 3 > max_bytes + 2) {
    return std::nullopt;
  }
  std::vector<uint8_t> out(text.size() / 4 * 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                int(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the bytes '=' padding stands for; drop them.
  size_t len = size_t(n);
  if (text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  if (out.empty() || out.size() > max_bytes) return std::nullopt;
  return out;
}

}  // namespace

size_t chap_digest_length(ChapAlgorithm a) {
  const EVP_MD* md = digest_of(a);
  return md != nullptr ? size_t(EVP_MD_get_size(md)) : 0;
}

std::vector<uint8_t> chap_response(ChapAlgorithm a, uint8_t identifier, std::string_view secret,
                                   std::span<const uint8_t> challenge) {
  std::vector<uint8_t> out(EVP_MAX_MD_SIZE);
  unsigned len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, digest_of(a), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, &identifier, 1) == 1 &&
                  EVP_DigestUpdate(ctx, secret.data(), secret.size()) == 1 &&
                  EVP_DigestUpdate(ctx, challenge.data(), challenge.size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, out.data(), &len) == 1;
  EVP_MD_CTX_free(ctx);
  out.resize(ok ? len : 0);
  return out;
}

std::optional<std::vector<uint8_t>> decode_binary_value(std::string_view value,
                                                        size_t max_bytes) {
  if (value.size() < 3 || value[0] != '0') return std::nullopt;
  if (value[1] == 'x' || value[1] == 'X') return decode_hex(value.substr(2), max_bytes);
  if (value[1] == 'b' || value[1] == 'B') return decode_base64(value.substr(2), max_bytes);
  return std::nullopt;
}

std::string encode_hex_value(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  out.reserve(2 + bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

ChapAuthenticator::ChapAuthenticator(ChapPolicyLookup lookup) : lookup_(std::move(lookup)) {}

std::vector<std::string> ChapAuthenticator::methods(const LoginIdentity& who) {
  if (!policy_.has_value() && lookup_) policy_ = lookup_(who);
  if (concealed_ && (!policy_.has_value() || policy_->incoming.empty())) {
    // The decoy: the default algorithms, as every real policy has, and no accounts.
    policy_ = ChapPolicy{};
    decoy_ = true;
  }
  if (policy_.has_value() && !policy_->incoming.empty()) return {"CHAP"};
  return {decoy_ ? "CHAP" : "None"};
}

AuthResult ChapAuthenticator::fail(std::string why) {
  failure_ = std::move(why);
  state_ = State::kFailed;
  return AuthResult::kFailure;
}

AuthResult ChapAuthenticator::step(std::string_view method, std::span<const KeyValue> keys,
                                   std::vector<KeyValue>& reply) {
  if (method != "CHAP" || !policy_.has_value()) return fail("CHAP is not configured");
  switch (state_) {
    case State::kWaitAlgorithm:
      return choose_algorithm(keys, reply);
    case State::kWaitResponse:
      return check_response(keys, reply);
    case State::kDone:
    case State::kFailed:
      break;
  }
  return fail("CHAP keys after the exchange ended");
}

// RFC 7143 12.1.3: the first algorithm of the initiator's list that we accept.
AuthResult ChapAuthenticator::choose_algorithm(std::span<const KeyValue> keys,
                                               std::vector<KeyValue>& reply) {
  const std::string* offer = find_key(keys, "CHAP_A");
  if (offer == nullptr) {
    // AuthMethod=CHAP chosen in this request, CHAP_A comes with the next one.
    if (keys.empty()) return AuthResult::kContinue;
    return fail("CHAP keys before CHAP_A");
  }
  std::string_view list = *offer;
  std::optional<ChapAlgorithm> chosen;
  while (!chosen && !list.empty()) {
    const size_t comma = list.find(',');
    const std::optional<ChapAlgorithm> a = algorithm_from(list.substr(0, comma));
    if (a && std::find(policy_->algorithms.begin(), policy_->algorithms.end(), *a) !=
                 policy_->algorithms.end()) {
      chosen = a;
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (!chosen) return fail("no acceptable CHAP algorithm in CHAP_A=" + *offer);
  algorithm_ = *chosen;
  challenge_.resize(std::max<size_t>(16, chap_digest_length(algorithm_)));
  if (RAND_bytes(&identifier_, 1) != 1 ||
      RAND_bytes(challenge_.data(), int(challenge_.size())) != 1) {
    return fail("the random number generator failed");
  }
  reply.push_back({"CHAP_A", std::to_string(unsigned(algorithm_))});
  reply.push_back({"CHAP_I", std::to_string(unsigned(identifier_))});
  reply.push_back({"CHAP_C", encode_hex_value(challenge_)});
  state_ = State::kWaitResponse;
  return AuthResult::kContinue;
}

AuthResult ChapAuthenticator::check_response(std::span<const KeyValue> keys,
                                             std::vector<KeyValue>& reply) {
  const std::string* name = find_key(keys, "CHAP_N");
  const std::string* response = find_key(keys, "CHAP_R");
  if (name == nullptr || response == nullptr) return fail("CHAP_N or CHAP_R missing");
  const std::optional<std::vector<uint8_t>> r = decode_binary_value(*response);
  const size_t digest = chap_digest_length(algorithm_);
  // Compare against every account of that name in constant time, and the same work when
  // the name is unknown, so timing tells nothing about which names exist.
  bool ok = false;
  const ChapAccount* matched = nullptr;
  if (decoy_) {
    // As much hashing as a policy with one account, so the decoy's answer takes as long.
    std::array<uint8_t, 16> secret{};
    (void)RAND_bytes(secret.data(), int(secret.size()));
    const std::vector<uint8_t> expected = chap_response(
        algorithm_, identifier_, std::string_view(reinterpret_cast<const char*>(secret.data()),
                                                  secret.size()),
        challenge_);
    const bool same_len = r.has_value() && r->size() == digest && expected.size() == digest;
    if (same_len) (void)CRYPTO_memcmp(expected.data(), r->data(), digest);
    return fail("no such target, or its ACL denies the initiator: a decoy CHAP exchange");
  }
  for (const ChapAccount& a : policy_->incoming) {
    const std::vector<uint8_t> expected =
        chap_response(algorithm_, identifier_, a.secret, challenge_);
    const bool same_len = r.has_value() && r->size() == digest && expected.size() == digest;
    const bool equal =
        same_len && CRYPTO_memcmp(expected.data(), r->data(), digest) == 0 && a.user == *name;
    if (equal && !ok) {
      ok = true;
      matched = &a;
    }
  }
  if (!ok) return fail("CHAP response for user '" + *name + "' does not match");

  const std::string* mutual_i = find_key(keys, "CHAP_I");
  const std::string* mutual_c = find_key(keys, "CHAP_C");
  if ((mutual_i == nullptr) != (mutual_c == nullptr)) return fail("CHAP_I without CHAP_C");
  if (mutual_i == nullptr) {
    if (policy_->mutual_required) return fail("mutual CHAP required, not asked for");
    user_ = *name;
    state_ = State::kDone;
    return AuthResult::kSuccess;
  }
  // Mutual CHAP: the initiator authenticates us.
  if (!policy_->outgoing.has_value()) return fail("mutual CHAP asked for, none configured");
  unsigned id = 0;
  const auto [end, ec] =
      std::from_chars(mutual_i->data(), mutual_i->data() + mutual_i->size(), id);
  if (ec != std::errc() || end != mutual_i->data() + mutual_i->size() || id > 255) {
    return fail("CHAP_I is not an identifier");
  }
  const std::optional<std::vector<uint8_t>> c = decode_binary_value(*mutual_c);
  if (!c.has_value()) return fail("CHAP_C is not a binary value of at most 1024 bytes");
  // RFC 7143 12.1.3: our own challenge sent back is a reflection attack.
  if (*c == challenge_) return fail("the initiator reflected our CHAP challenge");
  // RFC 7143 12.1.3: a secret authenticates one direction only.
  if (CRYPTO_memcmp(policy_->outgoing->secret.data(), matched->secret.data(),
                    std::min(policy_->outgoing->secret.size(), matched->secret.size())) == 0 &&
      policy_->outgoing->secret.size() == matched->secret.size()) {
    return fail("mutual CHAP with the same secret in both directions");
  }
  reply.push_back({"CHAP_N", policy_->outgoing->user});
  reply.push_back({"CHAP_R", encode_hex_value(chap_response(algorithm_, uint8_t(id),
                                                            policy_->outgoing->secret, *c))});
  user_ = *name;
  state_ = State::kDone;
  return AuthResult::kSuccess;
}

}  // namespace stgt::iscsi
