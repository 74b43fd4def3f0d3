#include "transport/iscsi/login.h"

#include <fmt/format.h>

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "transport/iscsi/chap.h"

namespace stgt::iscsi {
namespace {

constexpr char kTarget[] = "iqn.2024-01.org.example:disk1";
constexpr char kInitiator[] = "iqn.2024-01.org.example:host1";

class FakeContext : public LoginContext {
 public:
  LoginStatus admit(const LoginIdentity& who) override {
    admitted.push_back(who);
    if (who.type == SessionType::kNormal && who.target_name != kTarget) {
      return LoginStatus::kNotFound;
    }
    return verdict;
  }
  std::string target_alias(const std::string&) override { return alias; }
  uint16_t portal_group_tag() override { return 7; }
  TargetLimits limits() override { return TargetLimits{}; }
  bool conceal_targets() override { return conceal; }

  bool conceal = false;
  LoginStatus verdict = LoginStatus::kSuccess;
  std::string alias;
  std::vector<LoginIdentity> admitted;
};

// Builds Login Requests the way an initiator does: keys, stage, flags.
class RequestBuilder {
 public:
  RequestBuilder& stage(uint8_t csg, uint8_t nsg, bool transit) {
    req_.csg = csg;
    req_.nsg = nsg;
    req_.transit = transit;
    return *this;
  }
  RequestBuilder& key(std::string_view k, std::string_view v) {
    append_key(data_, k, v);
    return *this;
  }
  RequestBuilder& cont() {
    req_.cont = true;
    return *this;
  }
  RequestBuilder& version_min(uint8_t v) {
    req_.version_min = v;
    return *this;
  }
  RequestBuilder& raw(std::vector<uint8_t> data) {
    data_ = std::move(data);
    return *this;
  }
  LoginRequest build() {
    req_.isid = 0x23d000000001ull;
    req_.cid = 1;
    req_.data = data_;
    return req_;
  }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  LoginRequest req_;
  std::vector<uint8_t> data_;
};

std::map<std::string, std::string> pairs_of(const LoginResponse& r) {
  std::map<std::string, std::string> out;
  auto parsed = parse_text(r.data);
  EXPECT_TRUE(parsed.ok());
  if (!parsed) return out;
  for (auto& kv : *parsed)
    out[kv.key] = kv.value;
  return out;
}

RequestBuilder libiscsi_operational() {
  RequestBuilder b;
  b.stage(kStageOperational, kStageFullFeature, true)
      .key("InitiatorName", kInitiator)
      .key("InitiatorAlias", "host1")
      .key("TargetName", kTarget)
      .key("SessionType", "Normal")
      .key("HeaderDigest", "None,CRC32C")
      .key("DataDigest", "None")
      .key("InitialR2T", "Yes")
      .key("ImmediateData", "Yes")
      .key("MaxBurstLength", "262144")
      .key("FirstBurstLength", "262144")
      .key("DefaultTime2Wait", "2")
      .key("DefaultTime2Retain", "0")
      .key("MaxOutstandingR2T", "1")
      .key("ErrorRecoveryLevel", "0")
      .key("IFMarker", "No")
      .key("OFMarker", "No")
      .key("MaxConnections", "1")
      .key("MaxRecvDataSegmentLength", "262144")
      .key("DataPDUInOrder", "Yes")
      .key("DataSequenceInOrder", "Yes");
  return b;
}

TEST(Login, LibiscsiSecurityThenOperational) {
  FakeContext ctx;
  ctx.alias = "disk one";
  LoginMachine m(ctx);
  RequestBuilder sec;
  sec.stage(kStageSecurity, kStageOperational, true)
      .key("InitiatorName", kInitiator)
      .key("InitiatorAlias", "host1")
      .key("TargetName", kTarget)
      .key("SessionType", "Normal")
      .key("AuthMethod", "CHAP,None");
  LoginResponse r1 = m.step(sec.build());
  EXPECT_EQ(r1.status, LoginStatus::kSuccess);
  EXPECT_TRUE(r1.transit);
  EXPECT_EQ(r1.csg, kStageSecurity);
  EXPECT_EQ(r1.nsg, kStageOperational);
  EXPECT_FALSE(r1.complete);
  EXPECT_EQ(r1.version_max, 0);
  EXPECT_EQ(r1.version_active, 0);
  const std::map<std::string, std::string> want1 = {
      {"AuthMethod", "None"}, {"TargetPortalGroupTag", "7"}, {"TargetAlias", "disk one"}};
  EXPECT_EQ(pairs_of(r1), want1);
  ASSERT_EQ(ctx.admitted.size(), 1u);
  EXPECT_EQ(ctx.admitted[0].initiator_name, kInitiator);
  EXPECT_EQ(ctx.admitted[0].isid, 0x23d000000001ull);

  // libiscsi repeats its identity keys at the start of the operational stage.
  auto op = libiscsi_operational();
  LoginResponse r2 = m.step(op.build());
  EXPECT_EQ(r2.status, LoginStatus::kSuccess);
  EXPECT_TRUE(r2.transit);
  EXPECT_TRUE(r2.complete);
  EXPECT_EQ(r2.csg, kStageOperational);
  EXPECT_EQ(r2.nsg, kStageFullFeature);
  const std::map<std::string, std::string> want2 = {{"HeaderDigest", "None"},
                                                    {"DataDigest", "None"},
                                                    {"InitialR2T", "Yes"},
                                                    {"ImmediateData", "Yes"},
                                                    {"MaxBurstLength", "262144"},
                                                    {"FirstBurstLength", "262144"},
                                                    {"DefaultTime2Wait", "2"},
                                                    {"DefaultTime2Retain", "0"},
                                                    {"MaxOutstandingR2T", "1"},
                                                    {"ErrorRecoveryLevel", "0"},
                                                    {"IFMarker", "No"},
                                                    {"OFMarker", "No"},
                                                    {"MaxConnections", "1"},
                                                    {"DataPDUInOrder", "Yes"},
                                                    {"DataSequenceInOrder", "Yes"},
                                                    {"MaxRecvDataSegmentLength", "262144"}};
  EXPECT_EQ(pairs_of(r2), want2);
  EXPECT_FALSE(m.failed());

  const SessionParams& s = m.session_params();
  EXPECT_TRUE(s.initial_r2t);
  EXPECT_TRUE(s.immediate_data);
  EXPECT_EQ(s.max_burst_length, 262144u);
  EXPECT_EQ(s.first_burst_length, 262144u);
  EXPECT_EQ(s.default_time2retain, 0u);
  EXPECT_EQ(s.max_outstanding_r2t, 1u);
  const ConnectionParams& c = m.connection_params();
  EXPECT_FALSE(c.header_digest);
  EXPECT_EQ(c.max_recv_data_segment_length, 262144u);
  EXPECT_EQ(c.max_xmit_data_segment_length, 262144u);
  EXPECT_EQ(m.identity().initiator_alias, "host1");
  EXPECT_EQ(m.identity().type, SessionType::kNormal);
}

TEST(Login, LibiscsiOperationalOnly) {
  FakeContext ctx;
  LoginMachine m(ctx);
  LoginResponse r = m.step(libiscsi_operational().build());
  EXPECT_EQ(r.status, LoginStatus::kSuccess);
  EXPECT_TRUE(r.complete);
  auto p = pairs_of(r);
  EXPECT_EQ(p["TargetPortalGroupTag"], "7");
  EXPECT_EQ(p["MaxRecvDataSegmentLength"], "262144");
  EXPECT_EQ(p.count("TargetAlias"), 0u);  // no alias configured
}

TEST(Login, SecurityStraightToFullFeatureKeepsDefaults) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b;
  b.stage(kStageSecurity, kStageFullFeature, true)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("AuthMethod", "None");
  LoginResponse r = m.step(b.build());
  EXPECT_EQ(r.status, LoginStatus::kSuccess);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(pairs_of(r).count("MaxRecvDataSegmentLength"), 0u);
  EXPECT_EQ(m.connection_params().max_recv_data_segment_length, 8192u);
  EXPECT_EQ(m.session_params().max_burst_length, SessionParams{}.max_burst_length);
}

TEST(Login, DiscoverySession) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b;
  b.stage(kStageSecurity, kStageOperational, true)
      .key("InitiatorName", kInitiator)
      .key("SessionType", "Discovery")
      .key("AuthMethod", "None");
  LoginResponse r1 = m.step(b.build());
  EXPECT_EQ(r1.status, LoginStatus::kSuccess);
  EXPECT_EQ(pairs_of(r1), (std::map<std::string, std::string>{{"AuthMethod", "None"}}));
  RequestBuilder op;
  op.stage(kStageOperational, kStageFullFeature, true)
      .key("HeaderDigest", "None")
      .key("MaxRecvDataSegmentLength", "32768");
  LoginResponse r2 = m.step(op.build());
  EXPECT_TRUE(r2.complete);
  EXPECT_EQ(m.identity().type, SessionType::kDiscovery);
  EXPECT_TRUE(m.identity().target_name.empty());
  EXPECT_EQ(m.connection_params().max_xmit_data_segment_length, 32768u);
  ASSERT_EQ(ctx.admitted.size(), 1u);
  EXPECT_EQ(ctx.admitted[0].type, SessionType::kDiscovery);
}

struct FailureCase {
  const char* name;
  std::vector<KeyValue> keys;
  LoginStatus status;
};

class LoginFirstRequestFailure : public testing::TestWithParam<FailureCase> {};

TEST_P(LoginFirstRequestFailure, Fails) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b;
  b.stage(kStageSecurity, kStageOperational, true);
  for (const auto& kv : GetParam().keys)
    b.key(kv.key, kv.value);
  LoginResponse r = m.step(b.build());
  EXPECT_EQ(r.status, GetParam().status) << describe(r.status);
  EXPECT_FALSE(r.transit);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.data.empty());
  EXPECT_TRUE(m.failed());
  // Nothing is accepted after a failure.
  EXPECT_EQ(m.step(b.build()).status, LoginStatus::kInitiatorError);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LoginFirstRequestFailure,
    testing::Values(
        FailureCase{"MissingInitiatorName",
                    {{"TargetName", kTarget}, {"AuthMethod", "None"}},
                    LoginStatus::kMissingParameter},
        FailureCase{"MissingTargetName",
                    {{"InitiatorName", kInitiator}, {"AuthMethod", "None"}},
                    LoginStatus::kMissingParameter},
        FailureCase{"UnknownTarget",
                    {{"InitiatorName", kInitiator}, {"TargetName", "iqn.2024-01.org.example:nope"}},
                    LoginStatus::kNotFound},
        FailureCase{"BadSessionType",
                    {{"InitiatorName", kInitiator}, {"SessionType", "Weird"}},
                    LoginStatus::kSessionTypeNotSupported},
        FailureCase{
            "DiscoveryWithTargetName",
            {{"InitiatorName", kInitiator}, {"SessionType", "Discovery"}, {"TargetName", kTarget}},
            LoginStatus::kInitiatorError},
        FailureCase{
            "OperationalKeyInSecurityStage",
            {{"InitiatorName", kInitiator}, {"TargetName", kTarget}, {"MaxBurstLength", "65536"}},
            LoginStatus::kInitiatorError},
        FailureCase{
            "OnlyChapOffered",
            {{"InitiatorName", kInitiator}, {"TargetName", kTarget}, {"AuthMethod", "CHAP"}},
            LoginStatus::kAuthenticationFailure},
        FailureCase{"AuthMethodTwice",
                    {{"InitiatorName", kInitiator},
                     {"TargetName", kTarget},
                     {"AuthMethod", "None"},
                     {"AuthMethod", "None"}},
                    LoginStatus::kInitiatorError},
        FailureCase{"NameTooLong",
                    {{"InitiatorName", "iqn." + std::string(220, 'a')}, {"TargetName", kTarget}},
                    LoginStatus::kInitiatorError}),
    [](const testing::TestParamInfo<FailureCase>& i) { return std::string(i.param.name); });

TEST(Login, AdmitVerdictIsReturned) {
  FakeContext ctx;
  ctx.verdict = LoginStatus::kAuthorizationFailure;
  LoginMachine m(ctx);
  LoginResponse r = m.step(libiscsi_operational().build());
  EXPECT_EQ(r.status, LoginStatus::kAuthorizationFailure);
  EXPECT_TRUE(m.failed());
}

TEST(Login, UnsupportedVersion) {
  FakeContext ctx;
  LoginMachine m(ctx);
  LoginResponse r = m.step(libiscsi_operational().version_min(1).build());
  EXPECT_EQ(r.status, LoginStatus::kUnsupportedVersion);
  EXPECT_EQ(r.version_max, 0);
  EXPECT_TRUE(ctx.admitted.empty());
}

TEST(Login, MalformedTextIsInitiatorError) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b;
  const std::string junk("InitiatorName\0", 14);
  b.stage(kStageSecurity, kStageOperational, true).raw({junk.begin(), junk.end()});
  EXPECT_EQ(m.step(b.build()).status, LoginStatus::kInitiatorError);
}

TEST(Login, DuplicateKeyAcrossRequestsFails) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b1;
  b1.stage(kStageOperational, kStageFullFeature, false)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("MaxBurstLength", "65536");
  LoginResponse r1 = m.step(b1.build());
  EXPECT_EQ(r1.status, LoginStatus::kSuccess);
  EXPECT_FALSE(r1.transit);  // the initiator did not ask
  RequestBuilder b2;
  b2.stage(kStageOperational, kStageFullFeature, true).key("MaxBurstLength", "65536");
  EXPECT_EQ(m.step(b2.build()).status, LoginStatus::kInitiatorError);
}

TEST(Login, IdentityMayNotChange) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b1;
  b1.stage(kStageSecurity, kStageOperational, true)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("AuthMethod", "None");
  ASSERT_EQ(m.step(b1.build()).status, LoginStatus::kSuccess);
  RequestBuilder b2;
  b2.stage(kStageOperational, kStageFullFeature, true).key("TargetName", "iqn.other:x");
  EXPECT_EQ(m.step(b2.build()).status, LoginStatus::kInitiatorError);
}

TEST(Login, StageMustFollowTransit) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b1;
  b1.stage(kStageSecurity, kStageOperational, false)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("AuthMethod", "None");
  LoginResponse r1 = m.step(b1.build());
  ASSERT_EQ(r1.status, LoginStatus::kSuccess);
  EXPECT_FALSE(r1.transit);
  RequestBuilder b2;  // jumps to the operational stage without a transit
  b2.stage(kStageOperational, kStageFullFeature, true);
  EXPECT_EQ(m.step(b2.build()).status, LoginStatus::kInitiatorError);
}

TEST(Login, InvalidStageFlags) {
  for (auto [csg, nsg, transit, cont] :
       {std::tuple{3, 3, true, false}, std::tuple{1, 1, true, false}, std::tuple{0, 2, true, false},
        std::tuple{0, 1, true, true}}) {
    FakeContext ctx;
    LoginMachine m(ctx);
    auto b = libiscsi_operational();
    b.stage(uint8_t(csg), uint8_t(nsg), transit);
    if (cont) b.cont();
    EXPECT_EQ(m.step(b.build()).status, LoginStatus::kInitiatorError) << csg << nsg;
  }
}

TEST(Login, ContinuedTextIsAccumulated) {
  FakeContext ctx;
  LoginMachine m(ctx);
  auto whole = libiscsi_operational();
  const std::vector<uint8_t>& text = whole.data();
  const size_t cut = 37;  // splits a key=value pair in the middle
  RequestBuilder part1;
  part1.stage(kStageOperational, kStageFullFeature, false)
      .cont()
      .raw({text.begin(), text.begin() + cut});
  LoginResponse r1 = m.step(part1.build());
  EXPECT_EQ(r1.status, LoginStatus::kSuccess);
  EXPECT_FALSE(r1.transit);
  EXPECT_FALSE(r1.cont);
  EXPECT_TRUE(r1.data.empty());
  EXPECT_TRUE(ctx.admitted.empty());
  RequestBuilder part2;
  part2.stage(kStageOperational, kStageFullFeature, true).raw({text.begin() + cut, text.end()});
  LoginResponse r2 = m.step(part2.build());
  EXPECT_EQ(r2.status, LoginStatus::kSuccess);
  EXPECT_TRUE(r2.complete);
  EXPECT_EQ(pairs_of(r2)["MaxBurstLength"], "262144");
  EXPECT_EQ(ctx.admitted.size(), 1u);
}

TEST(Login, ContinuedTextIsBounded) {
  FakeContext ctx;
  LoginMachine m(ctx);
  std::vector<uint8_t> chunk(8192, 'a');
  LoginResponse r;
  for (int i = 0; i < 9 && !m.failed(); ++i) {
    RequestBuilder b;
    b.stage(kStageSecurity, kStageOperational, false).cont().raw(chunk);
    r = m.step(b.build());
  }
  EXPECT_TRUE(m.failed());
  EXPECT_EQ(r.status, LoginStatus::kInitiatorError);
}

class RequireChap final : public Authenticator {
 public:
  std::vector<std::string> methods(const LoginIdentity&) override { return {"CHAP"}; }
  AuthResult step(std::string_view method, std::span<const KeyValue> keys,
                  std::vector<KeyValue>& reply) override {
    EXPECT_EQ(method, "CHAP");
    ++rounds;
    if (keys.empty()) return AuthResult::kContinue;  // AuthMethod just chosen
    for (const auto& kv : keys) {
      if (kv.key == "CHAP_A") {
        reply.push_back({"CHAP_A", "5"});
        return AuthResult::kContinue;
      }
      if (kv.key == "CHAP_R")
        return kv.value == "0xgood" ? AuthResult::kSuccess : AuthResult::kFailure;
    }
    return AuthResult::kFailure;
  }
  void conceal() override { concealed = true; }
  int rounds = 0;
  bool concealed = false;
};

TEST(Login, AuthenticatorHookDrivesChapRounds) {
  FakeContext ctx;
  RequireChap chap;
  LoginMachine m(ctx, &chap);
  RequestBuilder b1;
  b1.stage(kStageSecurity, kStageOperational, true)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("AuthMethod", "None,CHAP");
  LoginResponse r1 = m.step(b1.build());
  EXPECT_EQ(r1.status, LoginStatus::kSuccess);
  EXPECT_FALSE(r1.transit);  // authentication not done yet
  EXPECT_EQ(pairs_of(r1)["AuthMethod"], "CHAP");
  RequestBuilder b2;
  b2.stage(kStageSecurity, kStageOperational, false).key("CHAP_A", "5");
  LoginResponse r2 = m.step(b2.build());
  EXPECT_EQ(pairs_of(r2)["CHAP_A"], "5");
  RequestBuilder b3;
  b3.stage(kStageSecurity, kStageOperational, true).key("CHAP_N", "user").key("CHAP_R", "0xgood");
  LoginResponse r3 = m.step(b3.build());
  EXPECT_EQ(r3.status, LoginStatus::kSuccess);
  EXPECT_TRUE(r3.transit);
  EXPECT_EQ(chap.rounds, 3);
}

TEST(Login, RequiredAuthenticationCannotBeSkipped) {
  FakeContext ctx;
  RequireChap chap;
  LoginMachine m(ctx, &chap);
  EXPECT_EQ(m.step(libiscsi_operational().build()).status, LoginStatus::kAuthenticationFailure);
}

TEST(Login, ChapKeysWithoutChapFail) {
  FakeContext ctx;
  LoginMachine m(ctx);
  RequestBuilder b;
  b.stage(kStageSecurity, kStageOperational, false)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("AuthMethod", "None")
      .key("CHAP_A", "5");
  EXPECT_EQ(m.step(b.build()).status, LoginStatus::kInitiatorError);
}

TEST(Login, SendTargetsInLoginIsRejected) {
  FakeContext ctx;
  LoginMachine m(ctx);
  auto b = libiscsi_operational();
  b.key("SendTargets", "All").key("X-com.example.Foo", "1");
  LoginResponse r = m.step(b.build());
  EXPECT_EQ(r.status, LoginStatus::kSuccess);
  auto p = pairs_of(r);
  EXPECT_EQ(p["SendTargets"], "Reject");
  EXPECT_EQ(p["X-com.example.Foo"], "NotUnderstood");
}

// ---- refusals a stranger must not be able to tell apart ----

constexpr char kChapTarget[] = "iqn.2024-01.org.example:chap";
constexpr char kOtherTarget[] = "iqn.2024-01.org.example:nope";

// kTarget and kChapTarget exist; kChapTarget requires CHAP (account alice).
class ProbeContext : public FakeContext {
 public:
  LoginStatus admit(const LoginIdentity& who) override {
    admitted.push_back(who);
    if (who.target_name != kTarget && who.target_name != kChapTarget) {
      return LoginStatus::kNotFound;
    }
    return acl_denies ? LoginStatus::kAuthorizationFailure : LoginStatus::kSuccess;
  }
  bool acl_denies = false;
};

std::optional<ChapPolicy> chap_target_policy(const LoginIdentity& who) {
  if (who.target_name != kChapTarget) return std::nullopt;
  ChapPolicy p;
  p.incoming = {{"alice", "alice-secret-1"}};
  return p;
}

// What a stranger sees of one login: every response's status, flags and key names, and
// the challenge's length; the CHAP_I and CHAP_C values differ from login to login.
struct Transcript {
  std::vector<std::string> steps;
  LoginStatus last;
  bool operator==(const Transcript&) const = default;
};

// AuthMethod=CHAP,None, CHAP_A=7,5, then a response computed with `secret`.
Transcript chap_attempt(ProbeContext& ctx, const std::string& target, const std::string& secret) {
  ChapAuthenticator chap(chap_target_policy);
  LoginMachine m(ctx, &chap);
  Transcript t;
  auto note = [&t](const LoginResponse& r) {
    std::string s = fmt::format("{:#06x} T={} {}->{}", r.status.code(), r.transit, r.csg, r.nsg);
    for (const auto& [k, v] : pairs_of(r)) {
      s += " " + k;
      if (k == "CHAP_C") s += fmt::format("[{}]", v.size());
      if (k != "CHAP_I" && k != "CHAP_C") s += "=" + v;
    }
    t.steps.push_back(std::move(s));
    t.last = r.status;
  };
  RequestBuilder b1;
  b1.stage(kStageSecurity, kStageOperational, false)
      .key("InitiatorName", kInitiator)
      .key("TargetName", target)
      .key("SessionType", "Normal")
      .key("AuthMethod", "CHAP,None");
  const LoginResponse r1 = m.step(b1.build());
  note(r1);
  if (m.failed()) return t;
  RequestBuilder b2;
  b2.stage(kStageSecurity, kStageOperational, false).key("CHAP_A", "7,5");
  const LoginResponse r2 = m.step(b2.build());
  note(r2);
  if (m.failed()) return t;
  const auto keys = pairs_of(r2);
  if (!keys.contains("CHAP_C")) return t;
  const auto challenge = decode_binary_value(keys.at("CHAP_C"));
  const auto response =
      chap_response(ChapAlgorithm(std::stoi(keys.at("CHAP_A"))),
                    uint8_t(std::stoi(keys.at("CHAP_I"))), secret, *challenge);
  RequestBuilder b3;
  b3.stage(kStageSecurity, kStageOperational, true)
      .key("CHAP_N", "alice")
      .key("CHAP_R", encode_hex_value(response));
  note(m.step(b3.build()));
  return t;
}

// A stranger without the secret: an unknown name, a target whose ACL denies it, and a
// CHAP target, all give the same exchange and end in 0x0201.
TEST(LoginConcealment, UnknownForbiddenAndChapTargetsLookTheSame) {
  ProbeContext ctx;
  ctx.conceal = true;
  const Transcript chap = chap_attempt(ctx, kChapTarget, "guess");
  EXPECT_EQ(chap.last, LoginStatus::kAuthenticationFailure);
  ASSERT_EQ(chap.steps.size(), 3u);
  EXPECT_EQ(chap_attempt(ctx, kOtherTarget, "guess"), chap);
  ctx.acl_denies = true;
  EXPECT_EQ(chap_attempt(ctx, kTarget, "guess"), chap);  // no CHAP policy: a decoy
  EXPECT_EQ(chap_attempt(ctx, kChapTarget, "guess"), chap);
}

// The same with AuthMethod=None only: the answer is 0x0201, as from a CHAP target.
TEST(LoginConcealment, NoneOnlyIsAnAuthenticationFailureForEveryRefusal) {
  for (const bool acl_denies : {false, true}) {
    for (const char* target : {kChapTarget, kOtherTarget, kTarget}) {
      if (!acl_denies && std::string_view(target) == kTarget) continue;  // an open target
      ProbeContext ctx;
      ctx.conceal = true;
      ctx.acl_denies = acl_denies;
      ctx.alias = "the alias names the target";
      ChapAuthenticator chap(chap_target_policy);
      LoginMachine m(ctx, &chap);
      RequestBuilder b;
      b.stage(kStageSecurity, kStageOperational, true)
          .key("InitiatorName", kInitiator)
          .key("TargetName", target)
          .key("AuthMethod", "None");
      const LoginResponse r = m.step(b.build());
      EXPECT_EQ(r.status, LoginStatus::kAuthenticationFailure) << target << " " << acl_denies;
      EXPECT_FALSE(pairs_of(r).contains("TargetAlias"));
      EXPECT_TRUE(m.failed());
    }
  }
}

// An initiator that authenticates is told the truth: its ACL denies it.
TEST(LoginConcealment, AnAuthenticatedInitiatorLearnsItIsNotAuthorized) {
  ProbeContext ctx;
  ctx.conceal = true;
  ctx.acl_denies = true;
  const Transcript t = chap_attempt(ctx, kChapTarget, "alice-secret-1");
  EXPECT_EQ(t.last, LoginStatus::kAuthorizationFailure);
  ctx.acl_denies = false;
  EXPECT_EQ(chap_attempt(ctx, kChapTarget, "alice-secret-1").last, LoginStatus::kSuccess);
}

// Concealment off: the refusal comes at once, with its own code.
TEST(LoginConcealment, OffAnswersNotFoundAndAuthorizationFailureAtOnce) {
  ProbeContext ctx;
  EXPECT_EQ(chap_attempt(ctx, kOtherTarget, "guess").steps,
            std::vector<std::string>{"0x0203 T=false 0->1"});
  ctx.acl_denies = true;
  EXPECT_EQ(chap_attempt(ctx, kChapTarget, "guess").steps,
            std::vector<std::string>{"0x0202 T=false 0->1"});
}

// Whether the session a TSIH names exists is told only after authentication, where the
// target requires it; an open target answers at once.
TEST(LoginConcealment, SessionRefusalsWaitForAuthentication) {
  FakeContext ctx;
  ctx.verdict = LoginStatus::kSessionDoesNotExist;
  RequireChap chap;
  LoginMachine m(ctx, &chap);
  RequestBuilder b1;
  b1.stage(kStageSecurity, kStageOperational, false)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("AuthMethod", "CHAP");
  EXPECT_EQ(m.step(b1.build()).status, LoginStatus::kSuccess);
  EXPECT_FALSE(chap.concealed);  // the target exists: its own policy applies
  RequestBuilder b2;
  b2.stage(kStageSecurity, kStageOperational, false).key("CHAP_A", "5");
  EXPECT_EQ(m.step(b2.build()).status, LoginStatus::kSuccess);
  RequestBuilder b3;
  b3.stage(kStageSecurity, kStageOperational, true).key("CHAP_N", "u").key("CHAP_R", "0xgood");
  EXPECT_EQ(m.step(b3.build()).status, LoginStatus::kSessionDoesNotExist);

  FakeContext open;
  open.verdict = LoginStatus::kSessionDoesNotExist;
  LoginMachine o(open);
  EXPECT_EQ(o.step(libiscsi_operational().build()).status, LoginStatus::kSessionDoesNotExist);
}

// TargetAlias names the target: it comes with the response that ends authentication.
TEST(LoginConcealment, AliasOnlyAfterAuthentication) {
  FakeContext ctx;
  ctx.alias = "disk one";
  RequireChap chap;
  LoginMachine m(ctx, &chap);
  RequestBuilder b1;
  b1.stage(kStageSecurity, kStageOperational, false)
      .key("InitiatorName", kInitiator)
      .key("TargetName", kTarget)
      .key("AuthMethod", "CHAP");
  EXPECT_FALSE(pairs_of(m.step(b1.build())).contains("TargetAlias"));
  RequestBuilder b2;
  b2.stage(kStageSecurity, kStageOperational, false).key("CHAP_A", "5");
  EXPECT_FALSE(pairs_of(m.step(b2.build())).contains("TargetAlias"));
  RequestBuilder b3;
  b3.stage(kStageSecurity, kStageOperational, true).key("CHAP_N", "u").key("CHAP_R", "0xgood");
  const LoginResponse r3 = m.step(b3.build());
  EXPECT_EQ(r3.status, LoginStatus::kSuccess);
  EXPECT_EQ(pairs_of(r3)["TargetAlias"], "disk one");
}

}  // namespace
}  // namespace stgt::iscsi
