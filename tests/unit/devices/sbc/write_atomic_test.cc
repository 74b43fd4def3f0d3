#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes wa16(uint64_t lba, uint16_t blocks, uint8_t byte1 = 0, uint16_t boundary = 0) {
  Bytes c(16, 0);
  c[0] = 0x9c;
  c[1] = byte1;
  base::store_be64(&c[2], lba);
  base::store_be16(&c[10], boundary);
  base::store_be16(&c[12], blocks);
  return c;
}

Bytes medium(const Harness& h, uint64_t lba, uint64_t blocks) {
  return Bytes(h.store->bytes.begin() + lba * 512, h.store->bytes.begin() + (lba + blocks) * 512);
}

Bytes block_limits(Harness& h) {
  return test::data_in(*h.run(Bytes{0x12, 0x01, 0xb0, 0x00, 0xff, 0x00}, 255));
}

// A store without an atomic limit (every file store today): the command does not exist and
// the Block Limits page says so (libiscsi WriteAtomic16.VPD).
TEST(WriteAtomic, NotOfferedWithoutAStoreGuarantee) {
  Harness h;
  auto c = h.run(wa16(0, 1), 0, Bytes(512, 'A'));
  EXPECT_EQ(test::sense_of(*c).key, 0x5);
  EXPECT_EQ(test::sense_of(*c).asc, 0x20);
  EXPECT_EQ(h.store->writes, 0);
  EXPECT_EQ(base::load_be32(&block_limits(h)[44]), 0u);
  auto rsoc = h.run(Bytes{0xa3, 0x0c, 0x01, 0x9c, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 65535);
  EXPECT_EQ(test::data_in(*rsoc)[1] & 0x07, 0x01);  // not supported
}

TEST(WriteAtomic, WritesEveryBlockDurablyWithFua) {
  Harness h;
  h.store->atomic_bytes = 1 << 20;
  EXPECT_EQ(base::load_be32(&block_limits(h)[44]), 2048u);  // MAXIMUM ATOMIC TRANSFER LENGTH
  auto c = h.run(wa16(10, 4, 0x08), 0, Bytes(4 * 512, 'A'));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(medium(h, 10, 4), Bytes(4 * 512, 'A'));
  EXPECT_TRUE(h.store->last_fua);
  EXPECT_EQ(h.store->writes, 1);  // one store write: what the store makes atomic
  auto rsoc = h.run(Bytes{0xa3, 0x0c, 0x01, 0x9c, 0, 0, 0, 0, 0xff, 0xff, 0, 0}, 65535);
  EXPECT_EQ(test::data_in(*rsoc)[1] & 0x07, 0x03);
}

struct Bad {
  const char* name;
  Bytes cdb;
  size_t data_bytes;
  uint8_t key;
  uint8_t asc;
};

TEST(WriteAtomic, RefusesBeforeWritingAnything) {
  Harness h;
  h.store->atomic_bytes = 8 * 512;  // 8 blocks at most
  const Bad cases[] = {
      {"wrprotect", wa16(0, 1, 0x20), 512, 0x5, 0x24},
      {"reserved bit", wa16(0, 1, 0x01), 512, 0x5, 0x24},
      {"atomic boundary", wa16(0, 1, 0, 1), 512, 0x5, 0x24},
      {"over the atomic maximum", wa16(0, 9), 9 * 512, 0x5, 0x24},
      {"beyond the end", wa16(Harness::kBlocks - 1, 2), 1024, 0x5, 0x21},
      {"lba past the end", wa16(Harness::kBlocks + 1, 0), 0, 0x5, 0x21},
      {"less data than blocks", wa16(0, 4), 2 * 512, 0x5, 0x24},
  };
  for (const Bad& b : cases) {
    auto c = h.run(b.cdb, 0, Bytes(b.data_bytes, 'X'));
    EXPECT_EQ(test::sense_of(*c).key, b.key) << b.name;
    EXPECT_EQ(test::sense_of(*c).asc, b.asc) << b.name;
  }
  EXPECT_EQ(h.store->writes, 0);
  EXPECT_EQ(h.run(wa16(Harness::kBlocks, 0))->status, scsi::Status::kGood);  // zero blocks
  EXPECT_EQ(h.store->writes, 0);
}

TEST(WriteAtomic, WriteProtected) {
  Harness h(512, scsi::LuSettings{.read_only = true});
  h.store->atomic_bytes = 1 << 20;
  auto c = h.run(wa16(0, 1), 0, Bytes(512, 'A'));
  EXPECT_EQ(test::sense_of(*c).key, 0x7);
  EXPECT_EQ(test::sense_of(*c).asc, 0x27);
}

// Other writes of the same blocks wait for the atomic write and run after it; the atomic
// write itself waits for writes already in flight. Never a mix of the two.
TEST(WriteAtomic, ExclusiveAgainstOverlappingWrites) {
  Harness h;
  h.store->atomic_bytes = 1 << 20;
  h.run(test::cdb10(0x2a, 0, 1), 0, Bytes(512, 0));  // registers the (null) reactor
  h.store->hold_writes = true;
  auto before = h.run(test::cdb10(0x2a, 6, 1), 0, Bytes(512, 'W'));
  auto atomic = h.run(wa16(4, 4), 0, Bytes(4 * 512, 'A'));
  EXPECT_FALSE(atomic->completed());
  EXPECT_EQ(h.store->held.size(), 1u);  // only the earlier write is in flight
  auto after = h.run(test::cdb16(0x8a, 5, 2), 0, Bytes(2 * 512, 'B'));
  h.store->release_writes();
  ASSERT_TRUE(atomic->completed());
  EXPECT_EQ(atomic->status, scsi::Status::kGood);
  EXPECT_TRUE(before->completed());
  EXPECT_TRUE(after->completed());
  EXPECT_EQ(medium(h, 4, 1), Bytes(512, 'A'));
  EXPECT_EQ(medium(h, 5, 2), Bytes(2 * 512, 'B'));
  EXPECT_EQ(medium(h, 7, 1), Bytes(512, 'A'));
  EXPECT_FALSE(h.disk->extents().tracking());
}

}  // namespace
}  // namespace stgt::devices
