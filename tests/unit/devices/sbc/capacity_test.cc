#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes rc16(uint32_t alloc) {
  Bytes c(16, 0);
  c[0] = 0x9e;
  c[1] = 0x10;
  base::store_be32(&c[10], alloc);
  return c;
}

TEST(ReadCapacity, Ten) {
  Harness h(4096);
  auto c = h.run(Bytes{0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 8);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  EXPECT_EQ(base::load_be32(&d[0]), Harness::kBlocks - 1);
  EXPECT_EQ(base::load_be32(&d[4]), 4096u);
  auto bad = h.run(Bytes{0x25, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 8);
  EXPECT_EQ(test::sense_of(*bad).asc, 0x24);
}

TEST(ReadCapacity, Sixteen) {
  Harness h;
  auto c = h.run(rc16(32), 32);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  ASSERT_EQ(d.size(), 32u);
  EXPECT_EQ(base::load_be64(&d[0]), Harness::kBlocks - 1);
  EXPECT_EQ(base::load_be32(&d[8]), 512u);
  EXPECT_EQ(d[12], 0);  // no protection
  EXPECT_EQ(d[13], 0);  // LBPPBE 0
  EXPECT_EQ(d[14] & 0x80, 0);  // LBPME clear
  auto trunc = h.run(rc16(8), 8);
  EXPECT_EQ(trunc->in_length, 8u);
  auto zero = h.run(rc16(0), 0);
  EXPECT_EQ(zero->status, scsi::Status::kGood);
}

TEST(ReadCapacity, ThinLuReportsLbpmeAndLbprz) {
  Harness thin(512, scsi::LuSettings{.thin = true});
  const Bytes d = test::data_in(*thin.run(rc16(32), 32));
  EXPECT_EQ(d[13], 0);  // LBPPBE 0
  EXPECT_EQ(d[14], 0xc0);
  EXPECT_EQ(d[15], 0);
  Harness cannot(512, scsi::LuSettings{.thin = true}, /*store_can_unmap=*/false);
  EXPECT_EQ(test::data_in(*cannot.run(rc16(32), 32))[14], 0);
}

TEST(ReadCapacity, PhysicalBlockSizeGivesTheExponent) {
  Harness h(512, scsi::LuSettings{.physical_block_size = 4096});
  EXPECT_EQ(test::data_in(*h.run(rc16(32), 32))[13], 3);  // 8 logical blocks per physical
  Harness same(4096, scsi::LuSettings{.block_size = 4096, .physical_block_size = 4096});
  EXPECT_EQ(test::data_in(*same.run(rc16(32), 32))[13], 0);
  Harness odd(512, scsi::LuSettings{.physical_block_size = 1536});  // not a power of two
  EXPECT_EQ(test::data_in(*odd.run(rc16(32), 32))[13], 0);
}

// With no physical_block_size configured, the LU reports its medium's (a 4 KiB-sector
// device under a 512-byte LU); a configured one wins.
TEST(ReadCapacity, PhysicalBlockSizeDefaultsToTheMediums) {
  for (const uint32_t configured : {0u, 512u, 8192u}) {
    auto store = std::make_unique<test::MemoryStore>(Harness::kBlocks * 512);
    store->physical_block = 4096;
    scsi::LuSettings settings;
    settings.physical_block_size = configured;
    auto disk = make_disk(std::move(store), identity_for("iqn.test:t", 1), settings);
    EXPECT_EQ(disk->physical_block_exponent(), configured == 0 ? 3 : configured == 512 ? 0 : 4)
        << configured;
  }
}

TEST(ReadCapacity, UnknownServiceAction) {
  Harness h;
  Bytes c = rc16(32);
  c[1] = 0x11;
  auto r = h.run(c, 32);
  EXPECT_EQ(test::sense_of(*r).asc, 0x24);
  EXPECT_EQ(base::load_be16(&r->sense[16]), 1);
}

}  // namespace
}  // namespace stgt::devices
