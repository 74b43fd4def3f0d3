#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Harness;

TEST(SynchronizeCache, FlushesStore) {
  Harness h;
  auto c = h.run(test::cdb10(0x35, 0, 0));
  EXPECT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->flushes, 1);
  auto immed = h.run(test::cdb16(0x91, 5, 10, 0x02));
  EXPECT_EQ(immed->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->flushes, 2);
}

TEST(SynchronizeCache, RangeChecked) {
  Harness h;
  auto c = h.run(test::cdb10(0x35, Harness::kBlocks - 1, 2));
  EXPECT_EQ(test::sense_of(*c).asc, 0x21);
  auto past = h.run(test::cdb16(0x91, Harness::kBlocks + 1, 0));
  EXPECT_EQ(test::sense_of(*past).asc, 0x21);
  EXPECT_EQ(h.store->flushes, 0);
}

TEST(PreFetch, GoodOrOutOfRange) {
  Harness h;
  EXPECT_EQ(h.run(test::cdb10(0x34, 0, 8))->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(test::cdb16(0x90, 0, 0))->status, scsi::Status::kGood);
  EXPECT_EQ(test::sense_of(*h.run(test::cdb16(0x90, Harness::kBlocks, 1))).asc, 0x21);
}

}  // namespace
}  // namespace stgt::devices
