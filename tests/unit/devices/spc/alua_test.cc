// REPORT TARGET PORT GROUPS, SET TARGET PORT GROUPS and INQUIRY TPGS through the disk's
// opcode table (SPC-5 6.36, 6.44, 6.7.2).
#include <gtest/gtest.h>

#include "harness.h"
#include "scsi/alua.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes rtpg(uint8_t format, uint32_t allocation_length) {
  Bytes c(12, 0);
  c[0] = 0xa3;
  c[1] = uint8_t(format << 5 | 0x0a);
  base::store_be32(&c[6], allocation_length);
  return c;
}

Bytes stpg(uint32_t length) {
  Bytes c(12, 0);
  c[0] = 0xa4;
  c[1] = 0x0a;
  base::store_be32(&c[6], length);
  return c;
}

// Two groups: 1 (port 1, active/optimized, preferred), 2 (ports 2 and 3, standby); the
// harness nexus comes in through port 1.
void two_groups(Harness& h, bool explicit_allowed) {
  std::vector<scsi::TargetPortGroupSpec> groups{
      {.id = 1, .relative_port_ids = {1}, .preferred = true},
      {.id = 2, .relative_port_ids = {3, 2}, .state = scsi::AluaState::kStandby}};
  h.target->set_alua(std::make_shared<scsi::AluaGroups>(std::move(groups),
                                                        std::vector<uint16_t>{1, 2, 3},
                                                        explicit_allowed));
  h.nexus = std::make_unique<scsi::ItNexus>(h.target, "iqn.init", "iqn.init,i,0x1",
                                            scsi::TargetPort{1, 1, 1});
  while (h.nexus->pop_unit_attention(0) != scsi::SenseReason::kNone) {
  }
}

TEST(ReportTargetPortGroups, DescribesEveryGroupAndItsPorts) {
  Harness h;
  two_groups(h, false);
  auto c = h.run(rtpg(0, 1024), 1024);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  ASSERT_EQ(d.size(), 4u + 12 + 16);
  EXPECT_EQ(base::load_be32(d.data()), d.size() - 4);
  EXPECT_EQ(d[4], 0x80);  // PREF, active/optimized
  EXPECT_EQ(d[5], 0x8f);  // T_SUP U_SUP S_SUP AN_SUP AO_SUP
  EXPECT_EQ(base::load_be16(&d[6]), 1);
  EXPECT_EQ(d[11], 1);  // one port
  EXPECT_EQ(base::load_be16(&d[14]), 1);
  EXPECT_EQ(d[16], 0x02);  // standby
  EXPECT_EQ(base::load_be16(&d[18]), 2);
  EXPECT_EQ(d[23], 2);
  EXPECT_EQ(base::load_be16(&d[26]), 2);  // ascending
  EXPECT_EQ(base::load_be16(&d[30]), 3);
}

TEST(ReportTargetPortGroups, ExtendedHeaderAndTruncation) {
  Harness h;
  auto c = h.run(rtpg(1, 1024), 1024);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  ASSERT_EQ(d.size(), 8u + 12);  // the default group 1 with port 1
  EXPECT_EQ(d[4], 0x10);         // FORMAT TYPE 001b
  EXPECT_EQ(base::load_be32(d.data()), d.size() - 4);
  EXPECT_EQ(test::data_in(*h.run(rtpg(0, 6), 6)).size(), 6u);
  EXPECT_EQ(h.run(rtpg(2, 1024), 1024)->status, scsi::Status::kCheckCondition);
}

TEST(SetTargetPortGroups, RefusedWithoutExplicitAlua) {
  Harness h;
  two_groups(h, false);
  const Bytes list{0, 0, 0, 0, 0x00, 0, 0, 2};
  auto c = h.run(stpg(uint32_t(list.size())), 0, list);
  EXPECT_EQ(c->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
  EXPECT_EQ(h.target->alua().find(2)->state(), scsi::AluaState::kStandby);
}

TEST(SetTargetPortGroups, ChangesStatesAndChecksEveryDescriptorFirst) {
  Harness h;
  two_groups(h, true);
  const Bytes bad{0, 0, 0, 0, 0x01, 0, 0, 2, 0x00, 0, 0, 9};  // group 9 does not exist
  auto c = h.run(stpg(uint32_t(bad.size())), 0, bad);
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  EXPECT_EQ(h.target->alua().find(2)->state(), scsi::AluaState::kStandby);  // nothing applied
  const Bytes odd{0, 0, 0, 0, 0x01, 0};
  EXPECT_EQ(test::sense_of(*h.run(stpg(uint32_t(odd.size())), 0, odd)).asc, 0x1a);
  const Bytes good{0, 0, 0, 0, 0x01, 0, 0, 2, 0x03, 0, 0, 1};
  EXPECT_EQ(h.run(stpg(uint32_t(good.size())), 0, good)->status, scsi::Status::kGood);
  EXPECT_EQ(h.target->alua().find(2)->state(), scsi::AluaState::kActiveNonOptimized);
  EXPECT_EQ(h.target->alua().find(1)->state(), scsi::AluaState::kUnavailable);
  EXPECT_EQ(h.run(stpg(0), 0)->status, scsi::Status::kGood);  // empty list: no-op
}

TEST(Inquiry, TpgsSaysImplicitOrBoth) {
  Harness h;
  EXPECT_EQ(test::data_in(*h.run({0x12, 0, 0, 0, 96, 0}, 96))[5] >> 4, 0x1);
  two_groups(h, true);
  EXPECT_EQ(test::data_in(*h.run({0x12, 0, 0, 0, 96, 0}, 96))[5] >> 4, 0x3);
}

}  // namespace
}  // namespace stgt::devices
