#include "devices/sbc/block_range.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices::sbc {
namespace {

scsi::Command with_cdb(const test::Bytes& cdb) {
  scsi::Command c;
  std::copy(cdb.begin(), cdb.end(), c.cdb.begin());
  return c;
}

TEST(DecodeRange, EveryCdbSize) {
  EXPECT_EQ(decode_range(with_cdb(test::cdb6(0x08, 0x12345, 0)), true).blocks, 256u);
  EXPECT_EQ(decode_range(with_cdb(test::cdb6(0x08, 0x12345, 0)), false).blocks, 0u);
  EXPECT_EQ(decode_range(with_cdb(test::cdb6(0x08, 0x1fffff, 3)), true).lba, 0x1fffffu);
  const BlockRange r10 = decode_range(with_cdb(test::cdb10(0x28, 0xdeadbeef, 7)), false);
  EXPECT_EQ(r10.lba, 0xdeadbeefu);
  EXPECT_EQ(r10.blocks, 7u);
  EXPECT_EQ(r10.length_byte, 7);
  const BlockRange r12 = decode_range(with_cdb(test::cdb12(0xa8, 5, 70000)), false);
  EXPECT_EQ(r12.blocks, 70000u);
  EXPECT_EQ(r12.length_byte, 6);
  const BlockRange r16 = decode_range(with_cdb(test::cdb16(0x88, 1ull << 40, 9)), false);
  EXPECT_EQ(r16.lba, 1ull << 40);
  EXPECT_EQ(r16.length_byte, 10);
}

TEST(InCapacity, Edges) {
  test::Harness h;
  scsi::Command c;
  c.lu = h.disk.get();
  EXPECT_TRUE(in_capacity(c, 0, test::Harness::kBlocks));
  EXPECT_TRUE(in_capacity(c, test::Harness::kBlocks, 0));
  EXPECT_FALSE(in_capacity(c, test::Harness::kBlocks + 1, 0));
  EXPECT_FALSE(in_capacity(c, test::Harness::kBlocks - 1, 2));
  EXPECT_FALSE(in_capacity(c, ~0ull, 1));
}

}  // namespace
}  // namespace stgt::devices::sbc
