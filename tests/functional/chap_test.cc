// CHAP through the real daemon: libiscsi (MD5, one-way and mutual), and raw login PDUs for
// the algorithms libiscsi does not offer (SHA-1, SHA-256, SHA3-256) and for hostile answers.
#include <gtest/gtest.h>
#include <iscsi/iscsi.h>

#include <fstream>
#include <sstream>

#include "base/byte_order.h"
#include "iscsi_session.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"
#include "transport/iscsi/chap.h"
#include "transport/iscsi/text.h"

namespace stgt::functional {
namespace {

constexpr char kUser[] = "alice";
constexpr char kSecret[] = "alice-secret-0123";
constexpr char kTargetUser[] = "stgt-target";
constexpr char kTargetSecret[] = "target-secret-4567";

class ChapTest : public StgtdTest {
 protected:
  // One target with CHAP (optionally mutual), discovery with CHAP when `discovery_chap`.
  void start_daemon(bool mutual_required = false, bool discovery_chap = false) {
    config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(1 << 20)});
    c.accounts = {{kUser, kSecret}, {kTargetUser, kTargetSecret}};
    c.targets[0].chap.incoming_users = {kUser};
    c.targets[0].chap.outgoing_user = kTargetUser;
    c.targets[0].chap.mutual = mutual_required;
    if (discovery_chap) c.discovery.chap.incoming_users = {kUser};
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start());
  }

  bool log_contains(const std::string& text) const {
    return stgtd_.log().find(text) != std::string::npos;
  }
};

TEST_F(ChapTest, LibiscsiOneWayChapLogsInAndServesIo) {
  start_daemon();
  IscsiSession s;
  ASSERT_EQ(iscsi_set_initiator_username_pwd(s.get(), kUser, kSecret), 0);
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  const std::vector<uint8_t> data = make_pattern(7, 4096);
  ASSERT_TRUE(s.write(8, data));
  std::vector<uint8_t> back;
  ASSERT_TRUE(s.read(8, data.size(), back));
  EXPECT_EQ(back, data);
}

TEST_F(ChapTest, LibiscsiMutualChapVerifiesTheTarget) {
  start_daemon(/*mutual_required=*/true);
  {
    IscsiSession s;
    ASSERT_EQ(iscsi_set_initiator_username_pwd(s.get(), kUser, kSecret), 0);
    ASSERT_EQ(iscsi_set_target_username_pwd(s.get(), kTargetUser, kTargetSecret), 0);
    EXPECT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  }
  {
    // The initiator expects another target secret: libiscsi rejects our answer.
    IscsiSession s;
    ASSERT_EQ(iscsi_set_initiator_username_pwd(s.get(), kUser, kSecret), 0);
    ASSERT_EQ(iscsi_set_target_username_pwd(s.get(), kTargetUser, "not-the-target-secret"), 0);
    EXPECT_FALSE(s.login(stgtd_.portal(), kTargetIqn));
  }
  {
    // mutual_chap = true: one-way CHAP is refused.
    IscsiSession s;
    ASSERT_EQ(iscsi_set_initiator_username_pwd(s.get(), kUser, kSecret), 0);
    EXPECT_FALSE(s.login(stgtd_.portal(), kTargetIqn));
  }
}

TEST_F(ChapTest, WrongSecretUnknownUserAndNoCredentialsAreRefused) {
  start_daemon();
  {
    IscsiSession s;
    ASSERT_EQ(iscsi_set_initiator_username_pwd(s.get(), kUser, "wrong-secret-000"), 0);
    EXPECT_FALSE(s.login(stgtd_.portal(), kTargetIqn));
  }
  {
    IscsiSession s;
    ASSERT_EQ(iscsi_set_initiator_username_pwd(s.get(), "mallory", kSecret), 0);
    EXPECT_FALSE(s.login(stgtd_.portal(), kTargetIqn));
  }
  {
    IscsiSession s;  // AuthMethod=None only
    EXPECT_FALSE(s.login(stgtd_.portal(), kTargetIqn));
  }
  EXPECT_TRUE(log_contains("status 0x0201"));
  EXPECT_FALSE(log_contains(kSecret));
  EXPECT_FALSE(log_contains("wrong-secret-000"));
  // The daemon is still serving.
  IscsiSession ok;
  ASSERT_EQ(iscsi_set_initiator_username_pwd(ok.get(), kUser, kSecret), 0);
  EXPECT_TRUE(ok.login(stgtd_.portal(), kTargetIqn));
}

TEST_F(ChapTest, DiscoveryChap) {
  start_daemon(false, /*discovery_chap=*/true);
  {
    IscsiSession s;
    std::vector<std::string> targets;
    EXPECT_FALSE(s.discover(stgtd_.portal(), targets));
  }
  IscsiSession s;
  ASSERT_EQ(iscsi_set_initiator_username_pwd(s.get(), kUser, kSecret), 0);
  std::vector<std::string> targets;
  ASSERT_TRUE(s.discover(stgtd_.portal(), targets));
  EXPECT_EQ(targets, std::vector<std::string>{kTargetIqn});
}

// ---- raw login PDUs ----

// One Login Request of the security stage and its response.
testing::AssertionResult security_step(RawIscsi& raw, uint16_t itt, bool transit,
                                       const std::vector<iscsi::KeyValue>& keys, RawPdu& out) {
  std::vector<uint8_t> text;
  for (const iscsi::KeyValue& kv : keys) iscsi::append_key(text, kv.key, kv.value);
  iscsi::Bhs b;
  b.set_opcode(iscsi::Opcode::kLoginRequest, true);
  b.bytes[1] = uint8_t((transit ? 0x80 : 0) | (iscsi::kStageSecurity << 2) |
                       (transit ? iscsi::kStageOperational : 0));
  b.set_data_segment_length(uint32_t(text.size()));
  base::store_be48(&b.bytes[8], 0x800000c0ffeeull);
  b.set_itt(itt);
  b.set32(24, raw.cmd_sn());
  b.set32(28, raw.exp_stat_sn());
  auto sent = raw.send(b, text);
  if (!sent) return sent;
  return raw.expect(iscsi::Opcode::kLoginResponse, out);
}

std::string value_of(const RawPdu& pdu, std::string_view key) {
  const auto keys = iscsi::parse_text(pdu.data);
  if (!keys) return {};
  for (const iscsi::KeyValue& kv : *keys) {
    if (kv.key == key) return kv.value;
  }
  return {};
}

struct RawChap {
  std::string algorithms;   // CHAP_A offered
  std::string user = kUser;
  std::string secret = kSecret;
  bool reflect = false;     // send the target's challenge back as ours
};

// The security stage with CHAP; returns the final login status (0 = authenticated).
testing::AssertionResult raw_chap_login(uint16_t port, const RawChap& c, uint16_t& status,
                                        std::string* chosen = nullptr) {
  RawIscsi raw;
  auto ok = raw.connect(port);
  if (!ok) return ok;
  RawPdu r;
  ok = security_step(raw, 1, false,
                     {{"InitiatorName", kRawInitiatorIqn},
                      {"TargetName", kTargetIqn},
                      {"SessionType", "Normal"},
                      {"AuthMethod", "CHAP,None"}},
                     r);
  if (!ok) return ok;
  if (value_of(r, "AuthMethod") != "CHAP") {
    return testing::AssertionFailure() << "AuthMethod answer: " << r.text();
  }
  ok = security_step(raw, 1, false, {{"CHAP_A", c.algorithms}}, r);
  if (!ok) return ok;
  status = r.login_status();
  if (status != 0) return testing::AssertionSuccess();
  const std::string a = value_of(r, "CHAP_A");
  if (chosen != nullptr) *chosen = a;
  const auto challenge = iscsi::decode_binary_value(value_of(r, "CHAP_C"));
  if (!challenge) return testing::AssertionFailure() << "no CHAP_C: " << r.text();
  const auto alg = iscsi::ChapAlgorithm(std::stoi(a));
  const auto id = uint8_t(std::stoi(value_of(r, "CHAP_I")));
  std::vector<iscsi::KeyValue> answer{
      {"CHAP_N", c.user},
      {"CHAP_R", iscsi::encode_hex_value(iscsi::chap_response(alg, id, c.secret, *challenge))}};
  if (c.reflect) {
    answer.push_back({"CHAP_I", std::to_string(id)});
    answer.push_back({"CHAP_C", iscsi::encode_hex_value(*challenge)});
  }
  ok = security_step(raw, 1, true, answer, r);
  if (!ok) return ok;
  status = r.login_status();
  return testing::AssertionSuccess();
}

TEST_F(ChapTest, EveryAlgorithmInTheInitiatorsOrder) {
  start_daemon();
  for (const char* offer : {"6", "7", "8", "8,7,6,5", "99,7,5"}) {
    uint16_t status = 0xffff;
    std::string chosen;
    ASSERT_TRUE(raw_chap_login(stgtd_.port(), RawChap{offer}, status, &chosen)) << offer;
    EXPECT_EQ(status, 0) << offer;
    EXPECT_EQ(chosen, std::string(offer).substr(0, 1) == "9" ? "7" : std::string(1, offer[0]));
  }
}

TEST_F(ChapTest, HostileAnswersFailWithAuthenticationStatus) {
  start_daemon();
  uint16_t status = 0;
  ASSERT_TRUE(raw_chap_login(stgtd_.port(), RawChap{"99,100"}, status));
  EXPECT_EQ(status, 0x0201);  // no acceptable algorithm
  RawChap reflect{"7"};
  reflect.reflect = true;
  ASSERT_TRUE(raw_chap_login(stgtd_.port(), reflect, status));
  EXPECT_EQ(status, 0x0201);
  RawChap wrong{"7"};
  wrong.secret = "not-alices-secret";
  ASSERT_TRUE(raw_chap_login(stgtd_.port(), wrong, status));
  EXPECT_EQ(status, 0x0201);
}

}  // namespace
}  // namespace stgt::functional
