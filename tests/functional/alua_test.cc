// ALUA through the wire: a target with two portals in two portal groups, each its own target
// port group (1: active/optimized and preferred, 2: standby), explicit ALUA allowed. One raw
// session per portal: what each sees in INQUIRY, VPD 0x83 and REPORT TARGET PORT GROUPS, the
// standby gate, and a SET TARGET PORT GROUPS from one session seen by the other through
// ASYMMETRIC ACCESS STATE CHANGED (SPC-5 5.16).
#include <array>
#include <chrono>
#include <thread>
#include <vector>

#include "base/byte_order.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using iscsi::Opcode;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kLunSize = 16ull << 20;
constexpr std::array<uint8_t, 6> kTestUnitReady{};
constexpr std::array<uint8_t, 6> kInquiry{0x12, 0, 0, 0, 96, 0};
constexpr std::array<uint8_t, 6> kVpd83{0x12, 1, 0x83, 0, 255, 0};
constexpr std::array<uint8_t, 10> kRead1{0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0};

struct Group {
  uint16_t id = 0;
  uint8_t state = 0xff;
  bool preferred = false;
  uint8_t status_code = 0;
  std::vector<uint16_t> ports;
};

// REPORT TARGET PORT GROUPS (MAINTENANCE IN, SA 0Ah), length-only header.
testing::AssertionResult report_groups(RawIscsi& raw, std::vector<Group>& out) {
  const std::array<uint8_t, 12> cdb{0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0};
  RawScsiResult r;
  auto ok = raw.scsi(cdb, 1024, r);
  if (!ok) return ok;
  if (r.status != 0) return testing::AssertionFailure() << "RTPG status " << hex(r.status);
  const auto& d = r.data_in;
  if (d.size() < 4 || base::load_be32(d.data()) + 4 != d.size()) {
    return testing::AssertionFailure() << "RTPG length wrong: " << d.size();
  }
  out.clear();
  for (size_t at = 4; at + 8 <= d.size();) {
    Group g;
    g.state = d[at] & 0x0f;
    g.preferred = (d[at] & 0x80) != 0;
    g.id = base::load_be16(&d[at + 2]);
    g.status_code = d[at + 5];
    const size_t count = d[at + 7];
    for (size_t i = 0; i < count; ++i) g.ports.push_back(base::load_be16(&d[at + 8 + 4 * i + 2]));
    out.push_back(g);
    at += 8 + 4 * count;
  }
  return testing::AssertionSuccess();
}

const Group* find_group(const std::vector<Group>& groups, uint16_t id) {
  for (const Group& g : groups) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

// SET TARGET PORT GROUPS with one descriptor per (group, state), sent as immediate data.
testing::AssertionResult set_groups(RawIscsi& raw,
                                    const std::vector<std::pair<uint16_t, uint8_t>>& states,
                                    uint8_t& status) {
  std::vector<uint8_t> list(4 + 4 * states.size(), 0);
  for (size_t i = 0; i < states.size(); ++i) {
    list[4 + 4 * i] = states[i].second;
    base::store_be16(&list[4 + 4 * i + 2], states[i].first);
  }
  std::array<uint8_t, 12> cdb{0xa4, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  base::store_be32(&cdb[6], uint32_t(list.size()));
  const uint32_t itt = raw.next_itt();
  auto ok = raw.send(raw.scsi_command(cdb, itt, raw.take_cmd_sn(), uint32_t(list.size()), false,
                                      true, uint32_t(list.size())),
                     list);
  if (!ok) return ok;
  RawPdu r;
  for (;;) {
    ok = raw.expect(Opcode::kScsiResponse, r);
    if (!ok) return ok;
    if (r.bhs.itt() == itt) break;
  }
  status = r.scsi_status();
  return testing::AssertionSuccess();
}

// The sense key/ASC/ASCQ of a command that must fail with CHECK CONDITION.
testing::AssertionResult check_condition(RawIscsi& raw, std::span<const uint8_t> cdb,
                                         uint32_t edtl, DecodedSense& sense) {
  RawScsiResult r;
  auto ok = raw.scsi(cdb, edtl, r);
  if (!ok) return ok;
  if (r.status != 0x02) return testing::AssertionFailure() << "status " << hex(r.status);
  return decode_sense(r.sense, sense);
}

class AluaTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    second_port_ = pick_free_port();
    config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)});
    c.portals[0].group_tag = 1;
    c.portals.push_back({.address = "127.0.0.1:" + std::to_string(second_port_), .group_tag = 2});
    config::TargetConfig& t = c.targets[0];
    t.alua_explicit = true;
    t.port_groups.push_back(
        {.id = 1, .portal_groups = {1}, .state = "active/optimized", .preferred = true});
    t.port_groups.push_back({.id = 2, .portal_groups = {2}, .state = "standby"});
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start());
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline && stgtd_.log().find("stgtd ready") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(optimized_.connect(stgtd_.port()));
    ASSERT_TRUE(optimized_.login());
    ASSERT_TRUE(optimized_.clear_unit_attention());
    ASSERT_TRUE(standby_.connect(second_port_));
    ASSERT_TRUE(standby_.login());
    // The power-on UA comes first even in standby (SAM-5 5.14 before SPC-5 5.16.2.4).
    DecodedSense s;
    ASSERT_TRUE(check_condition(standby_, kTestUnitReady, 0, s));
    EXPECT_EQ(s.key, 0x6);
  }

  uint16_t second_port_ = 0;
  RawIscsi optimized_;  // through portal group 1
  RawIscsi standby_;    // through portal group 2
};

TEST_F(AluaTest, InquiryReportsImplicitAndExplicitAlua) {
  RawScsiResult r;
  ASSERT_TRUE(optimized_.scsi(kInquiry, 96, r));
  ASSERT_GE(r.data_in.size(), 6u);
  EXPECT_EQ((r.data_in[5] >> 4) & 0x3, 0x3);  // TPGS 11b
}

// VPD 0x83: each session sees its own relative target port and target port group.
TEST_F(AluaTest, DeviceIdentificationNamesTheTargetPortGroup) {
  auto group_of = [](RawIscsi& raw, uint16_t& group, uint16_t& port) -> testing::AssertionResult {
    RawScsiResult r;
    auto ok = raw.scsi(kVpd83, 255, r);
    if (!ok) return ok;
    const auto& d = r.data_in;
    for (size_t at = 4; at + 4 <= d.size(); at += 4 + d[at + 3]) {
      const uint8_t type = d[at + 1] & 0x0f;
      const uint8_t assoc = (d[at + 1] >> 4) & 0x3;
      if (assoc == 1 && type == 0x5) group = base::load_be16(&d[at + 6]);
      if (assoc == 1 && type == 0x4) port = base::load_be16(&d[at + 6]);
    }
    return testing::AssertionSuccess();
  };
  uint16_t group = 0;
  uint16_t port = 0;
  ASSERT_TRUE(group_of(optimized_, group, port));
  EXPECT_EQ(group, 1);
  EXPECT_EQ(port, 1);
  ASSERT_TRUE(group_of(standby_, group, port));  // INQUIRY runs in standby
  EXPECT_EQ(group, 2);
  EXPECT_EQ(port, 2);
}

TEST_F(AluaTest, StandbyRefusesMediumAccessButAnswersRtpg) {
  DecodedSense s;
  ASSERT_TRUE(check_condition(standby_, kRead1, 512, s));
  EXPECT_EQ(s.key, 0x2);  // NOT READY, LOGICAL UNIT NOT ACCESSIBLE, TARGET PORT IN STANDBY
  EXPECT_EQ(s.asc, 0x04);
  EXPECT_EQ(s.ascq, 0x0b);
  std::vector<Group> groups;
  ASSERT_TRUE(report_groups(standby_, groups));
  ASSERT_EQ(groups.size(), 2u);
  const Group* g1 = find_group(groups, 1);
  const Group* g2 = find_group(groups, 2);
  ASSERT_NE(g1, nullptr);
  ASSERT_NE(g2, nullptr);
  EXPECT_EQ(g1->state, 0x0);
  EXPECT_TRUE(g1->preferred);
  EXPECT_EQ(g1->ports, std::vector<uint16_t>{1});
  EXPECT_EQ(g2->state, 0x2);
  EXPECT_FALSE(g2->preferred);
  EXPECT_EQ(g2->ports, std::vector<uint16_t>{2});
  RawScsiResult r;
  ASSERT_TRUE(optimized_.scsi(kRead1, 512, r));
  EXPECT_EQ(r.status, 0x00);
}

// Explicit failover: the optimized session swaps the groups; the other session gets the
// unit attention, then reads through its now active port. The sender gets no UA.
TEST_F(AluaTest, SetTargetPortGroupsIsSeenByTheOtherSession) {
  uint8_t status = 0xff;
  ASSERT_TRUE(set_groups(optimized_, {{1, 0x2}, {2, 0x0}}, status));
  ASSERT_EQ(status, 0x00);

  DecodedSense s;
  ASSERT_TRUE(check_condition(standby_, kTestUnitReady, 0, s));
  EXPECT_EQ(s.key, 0x6);  // UNIT ATTENTION, ASYMMETRIC ACCESS STATE CHANGED
  EXPECT_EQ(s.asc, 0x2a);
  EXPECT_EQ(s.ascq, 0x06);
  RawScsiResult r;
  ASSERT_TRUE(standby_.scsi(kRead1, 512, r));
  EXPECT_EQ(r.status, 0x00);

  std::vector<Group> groups;
  ASSERT_TRUE(report_groups(standby_, groups));
  ASSERT_NE(find_group(groups, 1), nullptr);
  ASSERT_NE(find_group(groups, 2), nullptr);
  EXPECT_EQ(find_group(groups, 1)->state, 0x2);
  EXPECT_EQ(find_group(groups, 2)->state, 0x0);
  EXPECT_EQ(find_group(groups, 2)->status_code, 0x01);  // altered by SET TARGET PORT GROUPS

  // The sender: no UA; its port is standby now.
  ASSERT_TRUE(check_condition(optimized_, kRead1, 512, s));
  EXPECT_EQ(s.key, 0x2);
  EXPECT_EQ(s.ascq, 0x0b);

  // From standby, the other session sets its port unavailable: the sender sees the UA.
  ASSERT_TRUE(set_groups(optimized_, {{1, 0x3}}, status));
  EXPECT_EQ(status, 0x00);
  ASSERT_TRUE(check_condition(standby_, kTestUnitReady, 0, s));
  EXPECT_EQ(s.asc, 0x2a);
  ASSERT_TRUE(check_condition(optimized_, kRead1, 512, s));
  EXPECT_EQ(s.ascq, 0x0c);  // TARGET PORT IN UNAVAILABLE STATE
}

TEST_F(AluaTest, SetTargetPortGroupsRejectsBadDescriptors) {
  uint8_t status = 0xff;
  ASSERT_TRUE(set_groups(optimized_, {{7, 0x0}}, status));  // no group 7
  EXPECT_EQ(status, 0x02);
  ASSERT_TRUE(set_groups(optimized_, {{2, 0xf}}, status));  // transitioning is not settable
  EXPECT_EQ(status, 0x02);
  std::vector<Group> groups;
  ASSERT_TRUE(report_groups(optimized_, groups));
  ASSERT_NE(find_group(groups, 2), nullptr);
  EXPECT_EQ(find_group(groups, 2)->state, 0x2);  // unchanged
}

}  // namespace
}  // namespace stgt::functional
