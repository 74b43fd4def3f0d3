#include "scsi/command.h"

#include <gtest/gtest.h>

#include "base/byte_order.h"
#include "fakes.h"
#include "scsi/logical_unit.h"

namespace stgt::scsi {
namespace {

TEST(Command, AllocateInClampsToExpected) {
  base::BufferPool pool;
  Command c;
  c.pool = &pool;
  c.expected_in_length = 100;
  ASSERT_TRUE(c.allocate_in(4096));
  EXPECT_EQ(c.in_length, 4096u);
  EXPECT_EQ(c.data.size(), 100u);
  c.expected_in_length = 0;
  ASSERT_TRUE(c.allocate_in(10));
  EXPECT_TRUE(c.data.empty());
}

TEST(Command, CompleteDataTruncatesToAllocationLength) {
  base::BufferPool pool;
  test::CountingOwner owner;
  Command c;
  c.pool = &pool;
  c.owner = &owner;
  c.expected_in_length = 255;
  const uint8_t bytes[] = {1, 2, 3, 4, 5, 6};
  c.complete_data(bytes, 4);
  EXPECT_EQ(c.in_length, 4u);
  EXPECT_EQ(c.status, Status::kGood);
  EXPECT_EQ(owner.calls, 1);
}

TEST(Command, FinishesExactlyOnce) {
  test::CountingOwner owner;
  Command c;
  c.owner = &owner;
  c.complete_good();
  c.complete_sense(SenseReason::kInvalidOpcode);
  EXPECT_EQ(owner.calls, 1);
  EXPECT_TRUE(c.completed());
  c.reset();
  EXPECT_FALSE(c.completed());
  EXPECT_EQ(c.owner, nullptr);
}

TEST(Command, FailCdbFieldUsesLuFormat) {
  test::CountingOwner owner;
  LogicalUnit lu(test::kFakeType, nullptr, {}, {});
  Command c;
  c.owner = &owner;
  c.fail_cdb_field(4, 1);
  EXPECT_EQ(c.status, Status::kCheckCondition);
  EXPECT_EQ(c.sense_length, 18);
  EXPECT_EQ(c.sense[15], 0xc8 | 1);
  EXPECT_EQ(base::load_be16(&c.sense[16]), 4);

  Command d;
  d.owner = &owner;
  d.lu = &lu;
  lu.set_d_sense(true);
  d.fail_cdb_field(4);
  EXPECT_EQ(d.sense[0], 0x72);
  EXPECT_EQ(d.sense[8], 0x02);  // sense-key specific descriptor
  EXPECT_EQ(d.sense[12], 0xc0);
}

}  // namespace
}  // namespace stgt::scsi
