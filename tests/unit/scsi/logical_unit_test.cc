#include "scsi/logical_unit.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace stgt::scsi {
namespace {

TEST(LogicalUnit, Geometry) {
  LogicalUnit lu(test::kFakeType, std::make_unique<test::FakeStore>(4096 * 3 + 7), {},
                 LuSettings{.block_size = 4096});
  EXPECT_EQ(lu.num_blocks(), 3u);
  LogicalUnit none(test::kFakeType, nullptr, {}, {});
  EXPECT_EQ(none.num_blocks(), 0u);
}

TEST(LogicalUnit, ModeParameters) {
  LogicalUnit lu(test::kFakeType, nullptr, {}, LuSettings{.write_cache = false});
  EXPECT_FALSE(lu.wce());
  EXPECT_EQ(lu.sense_format(), SenseFormat::kFixed);
  lu.set_d_sense(true);
  EXPECT_EQ(lu.sense_format(), SenseFormat::kDescriptor);
  EXPECT_FALSE(lu.write_protected());
  lu.set_swp(true);
  EXPECT_TRUE(lu.write_protected());
  EXPECT_TRUE(lu.medium_present());
}

// Thin only when asked for and the store can unmap (the fake cannot); never without a store.
TEST(LogicalUnit, ThinNeedsAStoreThatCanUnmap) {
  LogicalUnit asked(test::kFakeType, std::make_unique<test::FakeStore>(4096), {},
                    LuSettings{.thin = true});
  EXPECT_FALSE(asked.thin());
  LogicalUnit none(test::kFakeType, nullptr, {}, LuSettings{.thin = true});
  EXPECT_FALSE(none.thin());
  LogicalUnit capable(test::kFakeType, std::make_unique<test::FakeStore>(4096, true), {},
                      LuSettings{.thin = true});
  EXPECT_TRUE(capable.thin());
  LogicalUnit full(test::kFakeType, std::make_unique<test::FakeStore>(4096, true), {},
                   LuSettings{});
  EXPECT_FALSE(full.thin());
}

}  // namespace
}  // namespace stgt::scsi
