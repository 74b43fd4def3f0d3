#include "scsi/it_nexus.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace stgt::scsi {
namespace {

TEST(ItNexus, PowerOnUnitAttentionForEveryLun) {
  auto t = std::make_shared<Target>("iqn.x", "");
  t->add_lun(1, std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, LuSettings{}));
  t->set_controller(std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, LuSettings{}));
  ItNexus n(t, "iqn.i", "iqn.i,i,0x1", TargetPort{});
  EXPECT_TRUE(n.has_unit_attention(0));
  EXPECT_TRUE(n.has_unit_attention(1));
  EXPECT_FALSE(n.has_unit_attention(2));
  EXPECT_EQ(n.pop_unit_attention(1), SenseReason::kPowerOnReset);
  EXPECT_FALSE(n.has_unit_attention(1));
  EXPECT_EQ(n.pop_unit_attention(1), SenseReason::kNone);
}

TEST(ItNexus, QueueIsOrderedAndDeduplicated) {
  auto t = std::make_shared<Target>("iqn.x", "");
  ItNexus n(t, "iqn.i", "p", TargetPort{});
  n.queue_unit_attention(4, SenseReason::kCapacityDataChanged);
  n.queue_unit_attention(4, SenseReason::kReportedLunsDataChanged);
  n.queue_unit_attention(4, SenseReason::kCapacityDataChanged);
  EXPECT_EQ(n.pop_unit_attention(4), SenseReason::kCapacityDataChanged);
  EXPECT_EQ(n.pop_unit_attention(4), SenseReason::kReportedLunsDataChanged);
  EXPECT_FALSE(n.has_unit_attention(4));
}

TEST(ItNexus, PowerOnIsReportedBeforeLaterUnitAttentions) {
  auto t = std::make_shared<Target>("iqn.x", "");
  t->add_lun(3,
             std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, LuSettings{}));
  ItNexus n(t, "iqn.i", "p", TargetPort{});
  n.queue_unit_attention(3, SenseReason::kCapacityDataChanged);
  n.queue_unit_attention(3, SenseReason::kPowerOnReset);  // already owed: reported once
  EXPECT_EQ(n.pop_unit_attention(3), SenseReason::kPowerOnReset);
  EXPECT_EQ(n.pop_unit_attention(3), SenseReason::kCapacityDataChanged);
  EXPECT_FALSE(n.has_unit_attention(3));
  // Once reported, a new power-on (e.g. after a reset) queues again.
  n.queue_unit_attention(3, SenseReason::kPowerOnReset);
  EXPECT_TRUE(n.has_unit_attention(3));
  EXPECT_EQ(n.pop_unit_attention(3), SenseReason::kPowerOnReset);
  EXPECT_EQ(n.pop_unit_attention(3), SenseReason::kNone);
}

TEST(ItNexus, IdsAreUniqueAndInitiatorNamesThePorts) {
  auto t = std::make_shared<Target>("iqn.t", "");
  TargetPort tp;
  tp.relative_port_id = 3;
  ItNexus a(t, "iqn.i", "iqn.i,i,0x000000000001", tp);
  ItNexus b(t, "iqn.i", "iqn.i,i,0x000000000001", tp);
  EXPECT_NE(a.id(), b.id());
  const Initiator who = a.initiator();
  EXPECT_EQ(who.nexus_id, a.id());
  EXPECT_EQ(who.port, "iqn.i,i,0x000000000001");
  EXPECT_EQ(who.name, "iqn.i");
  EXPECT_EQ(who.relative_port_id, 3);
}

}  // namespace
}  // namespace stgt::scsi
