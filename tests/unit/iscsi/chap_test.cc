#include "transport/iscsi/chap.h"

#include <gtest/gtest.h>

#include <numeric>

namespace stgt::iscsi {
namespace {

const KeyValue* find(const std::vector<KeyValue>& kvs, std::string_view key) {
  for (const KeyValue& kv : kvs) {
    if (kv.key == key) return &kv;
  }
  return nullptr;
}

std::vector<uint8_t> bytes_0_to_15() {
  std::vector<uint8_t> c(16);
  std::iota(c.begin(), c.end(), uint8_t{0});
  return c;
}

// Expected values computed independently (Python hashlib) over 0x2a || "secret-1234" ||
// bytes 0..15.
struct Vector {
  ChapAlgorithm algorithm;
  const char* hex;
};
constexpr Vector kVectors[] = {
    {ChapAlgorithm::kMd5, "0xb67e7bac0cddef28d5419900babfb004"},
    {ChapAlgorithm::kSha1, "0x71d0c5adf0be4dd3d5200f563b0712fb0e568282"},
    {ChapAlgorithm::kSha256,
     "0x884975b56c020504fd781f9486a3dbd6b4e215e3e18784337edb077f3768d649"},
    {ChapAlgorithm::kSha3_256,
     "0x8d59002b2c5a1ddc91087af9085bc3f3da75d5aa63591c55e70029ba74cb4b87"},
};

TEST(Chap, ResponseMatchesIndependentDigests) {
  for (const Vector& v : kVectors) {
    EXPECT_EQ(encode_hex_value(chap_response(v.algorithm, 0x2a, "secret-1234", bytes_0_to_15())),
              v.hex)
        << int(v.algorithm);
  }
  EXPECT_EQ(chap_digest_length(ChapAlgorithm::kMd5), 16u);
  EXPECT_EQ(chap_digest_length(ChapAlgorithm::kSha1), 20u);
  EXPECT_EQ(chap_digest_length(ChapAlgorithm::kSha256), 32u);
  EXPECT_EQ(chap_digest_length(ChapAlgorithm::kSha3_256), 32u);
}

TEST(Chap, BinaryValues) {
  EXPECT_EQ(decode_binary_value("0x0102ff"), (std::vector<uint8_t>{1, 2, 0xff}));
  EXPECT_EQ(decode_binary_value("0XABC"), (std::vector<uint8_t>{0x0a, 0xbc}));  // odd count
  EXPECT_EQ(decode_binary_value("0bAQIDBAU="), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(decode_binary_value("0BAQID"), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_FALSE(decode_binary_value("0x"));
  EXPECT_FALSE(decode_binary_value("0x12zz"));
  EXPECT_FALSE(decode_binary_value("1234"));
  EXPECT_FALSE(decode_binary_value("0bA?=="));
  EXPECT_FALSE(decode_binary_value("0x" + std::string(2050, 'a')));  // over 1024 bytes
  EXPECT_TRUE(decode_binary_value("0x" + std::string(2048, 'a')));
}

// Drives a ChapAuthenticator the way the login machine does.
class ChapExchange : public ::testing::Test {
 protected:
  void SetUp() override {
    policy.incoming = {{"alice", "alice-secret-1"}, {"bob", "bob-secret-22"}};
    policy.outgoing = ChapAccount{"target", "target-secret-333"};
  }
  ChapAuthenticator make() {
    return ChapAuthenticator([this](const LoginIdentity& who) -> std::optional<ChapPolicy> {
      seen = who;
      return policy;
    });
  }
  // Offers CHAP_A and returns the challenge the target sent (algorithm, id, challenge).
  struct Challenge {
    ChapAlgorithm algorithm;
    uint8_t id;
    std::vector<uint8_t> challenge;
  };
  Challenge start(ChapAuthenticator& a, std::string offer) {
    EXPECT_EQ(a.methods(LoginIdentity{}), std::vector<std::string>{"CHAP"});
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", {}, reply), AuthResult::kContinue);
    EXPECT_TRUE(reply.empty());
    const std::vector<KeyValue> keys{{"CHAP_A", std::move(offer)}};
    EXPECT_EQ(a.step("CHAP", keys, reply), AuthResult::kContinue);
    Challenge c{};
    c.algorithm = ChapAlgorithm(std::stoi(find(reply, "CHAP_A")->value));
    c.id = uint8_t(std::stoi(find(reply, "CHAP_I")->value));
    c.challenge = *decode_binary_value(find(reply, "CHAP_C")->value);
    return c;
  }
  std::vector<KeyValue> answer(const Challenge& c, std::string user, std::string secret) {
    return {{"CHAP_N", std::move(user)},
            {"CHAP_R", encode_hex_value(chap_response(c.algorithm, c.id, secret, c.challenge))}};
  }

  ChapPolicy policy;
  LoginIdentity seen;
};

TEST_F(ChapExchange, OneWaySucceedsWithEveryAlgorithm) {
  for (const char* alg : {"5", "6", "7", "8"}) {
    ChapAuthenticator a = make();
    const Challenge c = start(a, alg);
    EXPECT_EQ(unsigned(c.algorithm), unsigned(std::stoi(alg)));
    EXPECT_GE(c.challenge.size(), chap_digest_length(c.algorithm));
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", answer(c, "bob", "bob-secret-22"), reply), AuthResult::kSuccess);
    EXPECT_TRUE(reply.empty());
    EXPECT_EQ(a.authenticated_user(), "bob");
  }
}

TEST_F(ChapExchange, InitiatorsOrderOfPreferenceAmongAllowed) {
  {
    ChapAuthenticator a = make();
    EXPECT_EQ(start(a, "7,5,8").algorithm, ChapAlgorithm::kSha256);
  }
  {
    ChapAuthenticator a = make();
    EXPECT_EQ(start(a, "99,junk,5").algorithm, ChapAlgorithm::kMd5);
  }
  policy.algorithms = {ChapAlgorithm::kSha256};
  {
    ChapAuthenticator a = make();
    EXPECT_EQ(a.methods(LoginIdentity{}), std::vector<std::string>{"CHAP"});
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", std::vector<KeyValue>{{"CHAP_A", "5,6"}}, reply),
              AuthResult::kFailure);
  }
}

TEST_F(ChapExchange, ChallengesAreFresh) {
  ChapAuthenticator a = make();
  ChapAuthenticator b = make();
  EXPECT_NE(start(a, "5").challenge, start(b, "5").challenge);
}

TEST_F(ChapExchange, WrongSecretUnknownUserAndBadResponsesFail) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"alice", "wrong"}, {"mallory", "alice-secret-1"}, {"alice", "bob-secret-22"}};
  for (const auto& [user, secret] : bad) {
    ChapAuthenticator a = make();
    const Challenge c = start(a, "5");
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", answer(c, user, secret), reply), AuthResult::kFailure) << user;
    EXPECT_EQ(a.failure().find("secret"), std::string::npos);  // no secret in the reason
  }
  for (const char* response : {"0x00", "nonsense", "0x"}) {
    ChapAuthenticator a = make();
    start(a, "5");
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", std::vector<KeyValue>{{"CHAP_N", "alice"}, {"CHAP_R", response}},
                     reply),
              AuthResult::kFailure);
  }
  ChapAuthenticator a = make();
  start(a, "5");
  std::vector<KeyValue> reply;
  EXPECT_EQ(a.step("CHAP", std::vector<KeyValue>{{"CHAP_N", "alice"}}, reply),
            AuthResult::kFailure);
}

TEST_F(ChapExchange, MutualAnswersWithTheTargetSecret) {
  ChapAuthenticator a = make();
  const Challenge c = start(a, "7");
  std::vector<KeyValue> keys = answer(c, "alice", "alice-secret-1");
  const std::vector<uint8_t> mine{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
  keys.push_back({"CHAP_I", "77"});
  keys.push_back({"CHAP_C", encode_hex_value(mine)});
  std::vector<KeyValue> reply;
  ASSERT_EQ(a.step("CHAP", keys, reply), AuthResult::kSuccess);
  ASSERT_NE(find(reply, "CHAP_N"), nullptr);
  EXPECT_EQ(find(reply, "CHAP_N")->value, "target");
  EXPECT_EQ(find(reply, "CHAP_R")->value,
            encode_hex_value(chap_response(ChapAlgorithm::kSha256, 77, "target-secret-333", mine)));
}

TEST_F(ChapExchange, ReflectedChallengeFails) {
  ChapAuthenticator a = make();
  const Challenge c = start(a, "5");
  std::vector<KeyValue> keys = answer(c, "alice", "alice-secret-1");
  keys.push_back({"CHAP_I", std::to_string(c.id)});
  keys.push_back({"CHAP_C", encode_hex_value(c.challenge)});
  std::vector<KeyValue> reply;
  EXPECT_EQ(a.step("CHAP", keys, reply), AuthResult::kFailure);
  EXPECT_EQ(find(reply, "CHAP_R"), nullptr);
}

TEST_F(ChapExchange, MutualRefusedWithoutTargetAccountOrWithSharedSecret) {
  const std::vector<uint8_t> mine(16, 0x5a);
  policy.outgoing.reset();
  {
    ChapAuthenticator a = make();
    const Challenge c = start(a, "5");
    std::vector<KeyValue> keys = answer(c, "alice", "alice-secret-1");
    keys.push_back({"CHAP_I", "1"});
    keys.push_back({"CHAP_C", encode_hex_value(mine)});
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", keys, reply), AuthResult::kFailure);
  }
  policy.outgoing = ChapAccount{"target", "alice-secret-1"};
  {
    ChapAuthenticator a = make();
    const Challenge c = start(a, "5");
    std::vector<KeyValue> keys = answer(c, "alice", "alice-secret-1");
    keys.push_back({"CHAP_I", "1"});
    keys.push_back({"CHAP_C", encode_hex_value(mine)});
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", keys, reply), AuthResult::kFailure);
  }
  {
    ChapAuthenticator a = make();
    const Challenge c = start(a, "5");
    std::vector<KeyValue> keys = answer(c, "alice", "alice-secret-1");
    keys.push_back({"CHAP_I", "256"});  // not an identifier
    keys.push_back({"CHAP_C", encode_hex_value(mine)});
    std::vector<KeyValue> reply;
    EXPECT_EQ(a.step("CHAP", keys, reply), AuthResult::kFailure);
  }
}

TEST_F(ChapExchange, MutualRequiredRefusesOneWay) {
  policy.mutual_required = true;
  ChapAuthenticator a = make();
  const Challenge c = start(a, "5");
  std::vector<KeyValue> reply;
  EXPECT_EQ(a.step("CHAP", answer(c, "alice", "alice-secret-1"), reply), AuthResult::kFailure);
}

// A concealed login to no target (or one without CHAP): CHAP is required, the exchange runs
// as with a real policy (same algorithm choice, same challenge length), and fails.
TEST_F(ChapExchange, ConcealedWithoutPolicyIsADecoyThatAlwaysFails) {
  ChapAuthenticator real = make();
  const Challenge want = start(real, "7,5");
  ChapAuthenticator a([](const LoginIdentity&) { return std::optional<ChapPolicy>{}; });
  a.conceal();
  const Challenge c = start(a, "7,5");  // start() checks methods() is {"CHAP"}
  EXPECT_EQ(c.algorithm, want.algorithm);
  EXPECT_EQ(c.challenge.size(), want.challenge.size());
  std::vector<KeyValue> reply;
  EXPECT_EQ(a.step("CHAP", answer(c, "alice", "alice-secret-1"), reply), AuthResult::kFailure);
  EXPECT_TRUE(reply.empty());
  EXPECT_FALSE(a.failure().empty());
}

// Concealed with a real policy (the ACL denies the initiator): the real accounts still
// authenticate, so the login machine can tell an authenticated initiator the truth.
TEST_F(ChapExchange, ConcealedWithAPolicyKeepsItsAccounts) {
  ChapAuthenticator a = make();
  a.conceal();
  const Challenge c = start(a, "5");
  std::vector<KeyValue> reply;
  EXPECT_EQ(a.step("CHAP", answer(c, "bob", "bob-secret-22"), reply), AuthResult::kSuccess);
  EXPECT_EQ(a.authenticated_user(), "bob");
}

TEST_F(ChapExchange, NoPolicyMeansNoAuthentication) {
  ChapAuthenticator a([](const LoginIdentity&) { return std::optional<ChapPolicy>{}; });
  EXPECT_EQ(a.methods(LoginIdentity{}), std::vector<std::string>{"None"});
  std::vector<KeyValue> reply;
  EXPECT_EQ(a.step("CHAP", {}, reply), AuthResult::kFailure);
}

}  // namespace
}  // namespace stgt::iscsi
