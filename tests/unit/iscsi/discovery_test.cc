#include "transport/iscsi/discovery.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stgt::iscsi {
namespace {

constexpr char kDisk1[] = "iqn.2024-01.org.example:disk1";
constexpr char kDisk2[] = "iqn.2024-01.org.example:disk2";

std::vector<DiscoveredTarget> two_targets() {
  return {
      {kDisk1, {{"192.0.2.10", 3260, 1}, {"2001:db8::10", 3260, 2}}},
      {kDisk2, {{"192.0.2.11", 3261, 1}}},
  };
}

std::vector<KeyValue> parsed(const std::vector<uint8_t>& data) {
  auto r = parse_text(data);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<KeyValue>{};
}

std::vector<uint8_t> request(std::vector<KeyValue> pairs) {
  return encode_text(pairs);
}

TEST(TargetAddress, Formatting) {
  EXPECT_EQ(format_target_address({"192.0.2.1", 3260, 1}), "192.0.2.1:3260,1");
  EXPECT_EQ(format_target_address({"2001:db8::1", 3260, 12}), "[2001:db8::1]:3260,12");
  EXPECT_EQ(format_target_address({"san.example.org", 860, 3}), "san.example.org:860,3");
}

struct PortalCase {
  const char* text;
  bool ok;
  const char* host;
  uint16_t port;
};

class ParsePortal : public testing::TestWithParam<PortalCase> {};

TEST_P(ParsePortal, Reads) {
  const PortalCase& c = GetParam();
  auto p = parse_portal(c.text, 5);
  ASSERT_EQ(p.has_value(), c.ok) << c.text;
  if (!p) return;
  EXPECT_EQ(p->host, c.host);
  EXPECT_EQ(p->port, c.port);
  EXPECT_EQ(p->group_tag, 5);
}

INSTANTIATE_TEST_SUITE_P(Cases, ParsePortal,
                         testing::Values(PortalCase{"127.0.0.1:3260", true, "127.0.0.1", 3260},
                                         PortalCase{"[::1]:3261", true, "::1", 3261},
                                         PortalCase{"[::1]", true, "::1", 3260},
                                         PortalCase{"fe80::1", true, "fe80::1", 3260},
                                         PortalCase{"10.0.0.1", true, "10.0.0.1", 3260},
                                         PortalCase{"10.0.0.1:", false, "", 0},
                                         PortalCase{"10.0.0.1:99999", false, "", 0},
                                         PortalCase{"[::1", false, "", 0},
                                         PortalCase{"[]:3260", false, "", 0},
                                         PortalCase{"", false, "", 0}));

TEST(SendTargets, AllInDiscoverySessionListsEveryTarget) {
  std::vector<uint8_t> out;
  answer_send_targets(out, "All", SessionType::kDiscovery, "", two_targets());
  const std::vector<KeyValue> want = {{"TargetName", kDisk1},
                                      {"TargetAddress", "192.0.2.10:3260,1"},
                                      {"TargetAddress", "[2001:db8::10]:3260,2"},
                                      {"TargetName", kDisk2},
                                      {"TargetAddress", "192.0.2.11:3261,1"}};
  EXPECT_EQ(parsed(out), want);
}

TEST(SendTargets, NamedTargetInDiscoverySession) {
  std::vector<uint8_t> out;
  answer_send_targets(out, kDisk2, SessionType::kDiscovery, "", two_targets());
  const std::vector<KeyValue> want = {{"TargetName", kDisk2},
                                      {"TargetAddress", "192.0.2.11:3261,1"}};
  EXPECT_EQ(parsed(out), want);
}

TEST(SendTargets, InvisibleTargetYieldsNothing) {
  std::vector<uint8_t> out;
  answer_send_targets(out, "iqn.2024-01.org.example:hidden", SessionType::kDiscovery, "",
                      two_targets());
  EXPECT_TRUE(out.empty());
}

struct QueryCase {
  const char* name;
  SessionType type;
  const char* query;
  std::vector<KeyValue> want;
};

class SendTargetsQuery : public testing::TestWithParam<QueryCase> {};

TEST_P(SendTargetsQuery, Answers) {
  std::vector<uint8_t> out;
  answer_send_targets(out, GetParam().query, GetParam().type, kDisk1, two_targets());
  EXPECT_EQ(parsed(out), GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SendTargetsQuery,
    testing::Values(
        QueryCase{"DiscoveryEmpty", SessionType::kDiscovery, "", {{"SendTargets", "Reject"}}},
        QueryCase{"NormalAll", SessionType::kNormal, "All", {{"SendTargets", "Reject"}}},
        QueryCase{"NormalOther", SessionType::kNormal, kDisk2, {{"SendTargets", "Reject"}}},
        QueryCase{"NormalEmpty",
                  SessionType::kNormal,
                  "",
                  {{"TargetName", kDisk1},
                   {"TargetAddress", "192.0.2.10:3260,1"},
                   {"TargetAddress", "[2001:db8::10]:3260,2"}}},
        QueryCase{"NormalOwnName",
                  SessionType::kNormal,
                  kDisk1,
                  {{"TargetName", kDisk1},
                   {"TargetAddress", "192.0.2.10:3260,1"},
                   {"TargetAddress", "[2001:db8::10]:3260,2"}}}),
    [](const testing::TestParamInfo<QueryCase>& i) { return std::string(i.param.name); });

TEST(TextRequest, DiscoverySendTargetsAll) {
  TextSession session;
  session.type = SessionType::kDiscovery;
  int calls = 0;
  auto r = handle_text_request(request({{"SendTargets", "All"}}), session, [&] {
    ++calls;
    return two_targets();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(parsed(r->data).size(), 5u);
}

TEST(TextRequest, NoSendTargetsDoesNotListTargets) {
  TextSession session;
  session.connection.max_recv_data_segment_length = 262144;
  int calls = 0;
  auto r = handle_text_request(
      request({{"MaxRecvDataSegmentLength", "65536"}, {"MaxBurstLength", "512"}, {"X-foo", "1"}}),
      session, [&] {
        ++calls;
        return two_targets();
      });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(calls, 0);
  const std::vector<KeyValue> want = {{"MaxBurstLength", "Reject"}, {"X-foo", "NotUnderstood"}};
  EXPECT_EQ(parsed(r->data), want);
  EXPECT_EQ(r->connection.max_xmit_data_segment_length, 65536u);
  EXPECT_EQ(r->connection.max_recv_data_segment_length, 262144u);
}

TEST(TextRequest, DuplicateSendTargetsIsAnError) {
  auto r = handle_text_request(request({{"SendTargets", "All"}, {"SendTargets", "All"}}),
                               TextSession{}, two_targets);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TextRequestError::kDuplicateKey);
}

TEST(TextRequest, DuplicateNegotiatedKeyIsAnError) {
  auto r = handle_text_request(
      request({{"MaxRecvDataSegmentLength", "65536"}, {"MaxRecvDataSegmentLength", "8192"}}),
      TextSession{}, two_targets);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TextRequestError::kDuplicateKey);
}

TEST(TextRequest, MalformedTextIsAnError) {
  const std::string junk("SendTargets\0", 12);
  auto r = handle_text_request(std::vector<uint8_t>(junk.begin(), junk.end()), TextSession{},
                               two_targets);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TextRequestError::kMalformed);
}

}  // namespace
}  // namespace stgt::iscsi
