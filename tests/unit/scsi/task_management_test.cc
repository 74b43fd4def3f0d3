#include "scsi/task_management.h"

#include <gtest/gtest.h>

#include <memory>

#include "fakes.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/target.h"

namespace stgt::scsi {
namespace {

// Two nexuses on a target with LUs at 1 and 2; no reactors, so the abort fan-out has nobody
// to message and the continuation runs inline.
class ResetTest : public ::testing::Test {
 protected:
  ResetTest() {
    settings_.write_cache = true;
    lu1_ = std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, settings_);
    lu2_ = std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, settings_);
    target_->add_lun(1, lu1_);
    target_->add_lun(2, lu2_);
    a_ = std::make_shared<ItNexus>(target_, "iqn.a", "iqn.a,i,0x1", TargetPort{});
    b_ = std::make_shared<ItNexus>(target_, "iqn.b", "iqn.b,i,0x1", TargetPort{});
    for (ItNexus* n : {a_.get(), b_.get()}) {
      for (const uint32_t lun : {1u, 2u}) {
        while (n->pop_unit_attention(lun) != SenseReason::kNone) {
        }
      }
    }
    target_->registry().add(a_);
    target_->registry().add(b_);
  }

  LuSettings settings_;
  std::shared_ptr<Target> target_ = std::make_shared<Target>("iqn.t", "");
  std::shared_ptr<LogicalUnit> lu1_, lu2_;
  std::shared_ptr<ItNexus> a_, b_;
};

TEST_F(ResetTest, LogicalUnitResetReachesEveryNexusOfThatLuOnly) {
  b_->queue_unit_attention(1, SenseReason::kCapacityDataChanged);
  lu1_->set_wce(false);
  lu1_->set_d_sense(true);
  lu1_->set_tas(false);
  lu1_->set_removal_prevented(1, true);  // some nexus prevents removal
  bool done = false;
  logical_unit_reset(*a_, *lu1_, nullptr, [&] { done = true; });
  ASSERT_TRUE(done);
  // SAM-5 6.3.3: BUS DEVICE RESET FUNCTION OCCURRED (29/03), replacing what was pending.
  EXPECT_EQ(sense_code(SenseReason::kLunReset).ascq, 0x03);
  EXPECT_EQ(a_->pop_unit_attention(1), SenseReason::kLunReset);
  EXPECT_EQ(b_->pop_unit_attention(1), SenseReason::kLunReset);
  EXPECT_EQ(b_->pop_unit_attention(1), SenseReason::kNone);
  EXPECT_FALSE(a_->has_unit_attention(2));
  EXPECT_FALSE(b_->has_unit_attention(2));
  // Mode parameters back to their defaults.
  EXPECT_TRUE(lu1_->wce());
  EXPECT_FALSE(lu1_->d_sense());
  EXPECT_TRUE(lu1_->tas());
  EXPECT_FALSE(lu1_->removal_prevented());
}

TEST_F(ResetTest, TargetResetReachesEveryLunOfEveryNexus) {
  lu2_->set_swp(true);
  bool done = false;
  target_reset(*b_, false, nullptr, [&] { done = true; });
  ASSERT_TRUE(done);
  for (ItNexus* n : {a_.get(), b_.get()}) {
    for (const uint32_t lun : {1u, 2u}) {
      EXPECT_EQ(n->pop_unit_attention(lun), SenseReason::kPowerOnReset);
      EXPECT_EQ(n->pop_unit_attention(lun), SenseReason::kNone);
    }
  }
  EXPECT_FALSE(lu2_->swp());
}

TEST_F(ResetTest, QueryAsyncEventPeekDoesNotClear) {
  b_->queue_unit_attention(2, SenseReason::kModeParametersChanged);
  EXPECT_EQ(b_->peek_unit_attention(2), SenseReason::kModeParametersChanged);
  EXPECT_EQ(b_->peek_unit_attention(2), SenseReason::kModeParametersChanged);
  EXPECT_EQ(b_->peek_unit_attention(1), SenseReason::kNone);
}

}  // namespace
}  // namespace stgt::scsi
