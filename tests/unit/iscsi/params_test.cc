#include "transport/iscsi/params.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stgt::iscsi {
namespace {

// One key offered alone in the operational stage of a leading connection.
std::vector<KeyValue> answer_one(const std::string& key, const std::string& value,
                                 const TargetLimits& limits = {}) {
  Negotiator n(limits);
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {{key, value}};
  EXPECT_TRUE(n.negotiate(offer, NegotiationStage::kOperational, response).ok());
  return response;
}

struct KeyCase {
  const char* key;
  const char* offer;
  const char* answer;  // nullptr: no answer expected
};

class KeyAnswer : public testing::TestWithParam<KeyCase> {};

TEST_P(KeyAnswer, MatchesResultFunction) {
  const KeyCase& c = GetParam();
  const auto response = answer_one(c.key, c.offer);
  if (c.answer == nullptr) {
    EXPECT_TRUE(response.empty());
    return;
  }
  ASSERT_EQ(response.size(), 1u);
  EXPECT_EQ(response[0].key, c.key);
  EXPECT_EQ(response[0].value, c.answer);
}

// Target defaults (TargetLimits{}): MaxBurstLength 1048576, FirstBurstLength 262144,
// MaxOutstandingR2T 16, InitialR2T No, ImmediateData Yes, CRC32C allowed, MaxConnections 1,
// DefaultTime2Wait 2, DefaultTime2Retain 20.
INSTANTIATE_TEST_SUITE_P(
    Rfc7143, KeyAnswer,
    testing::Values(
        KeyCase{"HeaderDigest", "None", "None"}, KeyCase{"HeaderDigest", "CRC32C,None", "CRC32C"},
        KeyCase{"HeaderDigest", "None,CRC32C", "None"},
        KeyCase{"DataDigest", "MD5,CRC32C", "CRC32C"}, KeyCase{"DataDigest", "MD5", "Reject"},
        KeyCase{"DataDigest", "", "Reject"}, KeyCase{"MaxConnections", "4", "1"},
        KeyCase{"MaxConnections", "0", "Reject"}, KeyCase{"MaxConnections", "65536", "Reject"},
        KeyCase{"InitialR2T", "Yes", "Yes"}, KeyCase{"InitialR2T", "No", "No"},
        KeyCase{"InitialR2T", "maybe", "Reject"}, KeyCase{"ImmediateData", "Yes", "Yes"},
        KeyCase{"ImmediateData", "No", "No"}, KeyCase{"MaxRecvDataSegmentLength", "65536", nullptr},
        KeyCase{"MaxRecvDataSegmentLength", "511", "Reject"},
        KeyCase{"MaxRecvDataSegmentLength", "16777216", "Reject"},
        KeyCase{"MaxBurstLength", "262144", "262144"},
        KeyCase{"MaxBurstLength", "16777215", "1048576"},
        KeyCase{"MaxBurstLength", "511", "Reject"}, KeyCase{"MaxBurstLength", "abc", "Reject"},
        KeyCase{"FirstBurstLength", "65536", "65536"},
        KeyCase{"FirstBurstLength", "1048576", "262144"},
        KeyCase{"FirstBurstLength", "16777216", "Reject"}, KeyCase{"DefaultTime2Wait", "0", "2"},
        KeyCase{"DefaultTime2Wait", "10", "10"}, KeyCase{"DefaultTime2Wait", "3601", "Reject"},
        KeyCase{"DefaultTime2Retain", "0", "0"}, KeyCase{"DefaultTime2Retain", "3600", "20"},
        KeyCase{"DefaultTime2Retain", "3601", "Reject"}, KeyCase{"MaxOutstandingR2T", "1", "1"},
        KeyCase{"MaxOutstandingR2T", "100", "16"}, KeyCase{"MaxOutstandingR2T", "0", "Reject"},
        KeyCase{"DataPDUInOrder", "No", "Yes"}, KeyCase{"DataPDUInOrder", "Yes", "Yes"},
        KeyCase{"DataSequenceInOrder", "No", "Yes"}, KeyCase{"ErrorRecoveryLevel", "2", "0"},
        KeyCase{"ErrorRecoveryLevel", "0", "0"}, KeyCase{"ErrorRecoveryLevel", "3", "Reject"},
        KeyCase{"TaskReporting", "ResponseFence,RFC3720", "RFC3720"},
        KeyCase{"TaskReporting", "FastAbort", "Reject"}, KeyCase{"iSCSIProtocolLevel", "2", "1"},
        KeyCase{"IFMarker", "No", "No"}, KeyCase{"OFMarker", "Yes", "No"},
        KeyCase{"IFMarkInt", "2048~8192", "Reject"}, KeyCase{"OFMarkInt", "2048", "Reject"},
        KeyCase{"SendTargets", "All", "Reject"}, KeyCase{"TargetAlias", "x", "Reject"},
        KeyCase{"TargetAddress", "1.2.3.4:3260,1", "Reject"},
        KeyCase{"TargetPortalGroupTag", "1", "Reject"},
        KeyCase{"X-com.example.Foo", "1", "NotUnderstood"},
        KeyCase{"X#NodeArchitecture", "ExampleOS/1.0", "NotUnderstood"},
        KeyCase{"NoSuchKey", "1", "NotUnderstood"},
        KeyCase{"MaxBurstLength", "0x40000", "262144"}));

TEST(KeyTable, EveryRfc7143OperationalKeyIsKnown) {
  for (const char* key : {"HeaderDigest",
                          "DataDigest",
                          "MaxConnections",
                          "SendTargets",
                          "TargetName",
                          "InitiatorName",
                          "TargetAlias",
                          "InitiatorAlias",
                          "TargetAddress",
                          "TargetPortalGroupTag",
                          "InitialR2T",
                          "ImmediateData",
                          "MaxRecvDataSegmentLength",
                          "MaxBurstLength",
                          "FirstBurstLength",
                          "DefaultTime2Wait",
                          "DefaultTime2Retain",
                          "MaxOutstandingR2T",
                          "DataPDUInOrder",
                          "DataSequenceInOrder",
                          "ErrorRecoveryLevel",
                          "SessionType",
                          "AuthMethod",
                          "TaskReporting"}) {
    EXPECT_NE(find_key(key), nullptr) << key;
  }
  EXPECT_EQ(find_key("X-anything"), nullptr);
}

TEST(Negotiator, ResultsBecomeParams) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {
      {"HeaderDigest", "CRC32C"},   {"DataDigest", "CRC32C"},
      {"InitialR2T", "No"},         {"ImmediateData", "Yes"},
      {"MaxBurstLength", "524288"}, {"FirstBurstLength", "131072"},
      {"MaxOutstandingR2T", "8"},   {"DefaultTime2Wait", "5"},
      {"DefaultTime2Retain", "10"}, {"MaxRecvDataSegmentLength", "131072"}};
  ASSERT_TRUE(n.negotiate(offer, NegotiationStage::kOperational, response).ok());
  n.declare(response);
  const SessionParams s = n.session_params();
  EXPECT_FALSE(s.initial_r2t);
  EXPECT_TRUE(s.immediate_data);
  EXPECT_EQ(s.max_burst_length, 524288u);
  EXPECT_EQ(s.first_burst_length, 131072u);
  EXPECT_EQ(s.max_outstanding_r2t, 8u);
  EXPECT_EQ(s.default_time2wait, 5u);
  EXPECT_EQ(s.default_time2retain, 10u);
  const ConnectionParams& c = n.connection_params();
  EXPECT_TRUE(c.header_digest);
  EXPECT_TRUE(c.data_digest);
  EXPECT_EQ(c.max_xmit_data_segment_length, 131072u);
  EXPECT_EQ(c.max_recv_data_segment_length, 262144u);
  EXPECT_EQ(response.back(), (KeyValue{"MaxRecvDataSegmentLength", "262144"}));
}

TEST(Negotiator, DeclaresOnlyOnce) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  n.declare(response);
  n.declare(response);
  EXPECT_EQ(response.size(), 1u);
}

TEST(Negotiator, Crc32cNotOfferedWhenDisabled) {
  TargetLimits limits;
  limits.allow_crc32c = false;
  EXPECT_EQ(answer_one("HeaderDigest", "CRC32C,None", limits)[0].value, "None");
  EXPECT_EQ(answer_one("HeaderDigest", "CRC32C", limits)[0].value, "Reject");
}

TEST(Negotiator, FirstBurstNeverExceedsMaxBurst) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {{"FirstBurstLength", "262144"}, {"MaxBurstLength", "8192"}};
  ASSERT_TRUE(n.negotiate(offer, NegotiationStage::kOperational, response).ok());
  ASSERT_EQ(response.size(), 2u);
  EXPECT_EQ(response[0], (KeyValue{"FirstBurstLength", "8192"}));
  EXPECT_EQ(n.session_params().first_burst_length, 8192u);
}

TEST(Negotiator, FirstBurstIrrelevantWithInitialR2tAndNoImmediateData) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {
      {"FirstBurstLength", "65536"}, {"InitialR2T", "Yes"}, {"ImmediateData", "No"}};
  ASSERT_TRUE(n.negotiate(offer, NegotiationStage::kOperational, response).ok());
  EXPECT_EQ(response[0], (KeyValue{"FirstBurstLength", "Irrelevant"}));
}

TEST(Negotiator, DuplicateKeyFails) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  const std::vector<KeyValue> first = {{"MaxBurstLength", "65536"}};
  ASSERT_TRUE(n.negotiate(first, NegotiationStage::kOperational, response).ok());
  auto r = n.negotiate(first, NegotiationStage::kOperational, response);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, NegotiationError::kDuplicateKey);
  EXPECT_EQ(r.error().key, "MaxBurstLength");
}

TEST(Negotiator, DuplicateUnknownKeyFails) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {{"X-foo", "1"}, {"X-foo", "2"}};
  EXPECT_FALSE(n.negotiate(offer, NegotiationStage::kOperational, response).ok());
}

TEST(Negotiator, OperationalKeyInSecurityStageFails) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {{"MaxBurstLength", "65536"}};
  auto r = n.negotiate(offer, NegotiationStage::kSecurity, response);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().error, NegotiationError::kWrongStage);
}

TEST(Negotiator, LeadingOnlyKeysIrrelevantOnNonLeadingConnection) {
  Negotiator n(TargetLimits{}, /*leading=*/false);
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {{"MaxBurstLength", "65536"}, {"HeaderDigest", "None"}};
  ASSERT_TRUE(n.negotiate(offer, NegotiationStage::kOperational, response).ok());
  EXPECT_EQ(response[0].value, "Irrelevant");
  EXPECT_EQ(response[1].value, "None");
  EXPECT_EQ(n.session_params().max_burst_length, SessionParams{}.max_burst_length);
}

TEST(Negotiator, FullFeaturePhaseRules) {
  SessionParams session;
  session.max_burst_length = 65536;
  ConnectionParams conn;
  conn.max_recv_data_segment_length = 262144;
  Negotiator n(TargetLimits{}, session, conn);
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {{"MaxRecvDataSegmentLength", "16384"},
                                       {"MaxBurstLength", "512"},
                                       {"HeaderDigest", "CRC32C"},
                                       {"InitiatorAlias", "host2"}};
  ASSERT_TRUE(n.negotiate(offer, NegotiationStage::kFullFeature, response).ok());
  n.declare(response);  // no declaration in FFP: it was made at login
  const std::vector<KeyValue> want = {{"MaxBurstLength", "Reject"}, {"HeaderDigest", "Reject"}};
  EXPECT_EQ(response, want);
  EXPECT_EQ(n.connection_params().max_xmit_data_segment_length, 16384u);
  EXPECT_EQ(n.connection_params().max_recv_data_segment_length, 262144u);
  EXPECT_EQ(n.session_params().max_burst_length, 65536u);
  EXPECT_EQ(n.initiator_alias(), "host2");
}

TEST(Negotiator, ReservedAnswersAreNotOffers) {
  Negotiator n(TargetLimits{});
  std::vector<KeyValue> response;
  const std::vector<KeyValue> offer = {{"MaxRecvDataSegmentLength", "NotUnderstood"}};
  ASSERT_TRUE(n.negotiate(offer, NegotiationStage::kOperational, response).ok());
  EXPECT_TRUE(response.empty());
}

TEST(Limits, SanitizeClampsIntoRfcRanges) {
  TargetLimits l;
  l.max_recv_data_segment_length = 100;
  l.max_burst_length = 1u << 30;
  l.first_burst_length = 1u << 30;
  l.max_outstanding_r2t = 0;
  l.default_time2wait = 9999;
  const TargetLimits s = sanitize(l);
  EXPECT_EQ(s.max_recv_data_segment_length, kMinDataLength);
  EXPECT_EQ(s.max_burst_length, kMaxDataLength);
  EXPECT_EQ(s.first_burst_length, kMaxDataLength);
  EXPECT_EQ(s.max_outstanding_r2t, 1u);
  EXPECT_EQ(s.default_time2wait, 3600u);
}

}  // namespace
}  // namespace stgt::iscsi
