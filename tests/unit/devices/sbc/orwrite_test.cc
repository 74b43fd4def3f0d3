#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint64_t kN = Harness::kBlocks;

Bytes orwrite(uint64_t lba, uint32_t blocks, uint8_t byte1 = 0) {
  return test::cdb16(0x8b, lba, blocks, byte1);
}

// libiscsi OrWrite.Verify: 0 | a5 = a5, then a5 | 5a = ff.
TEST(OrWrite, OrsDataOutIntoTheMedium) {
  for (const uint32_t bs : {512u, 4096u}) {
    Harness h(bs);
    ASSERT_EQ(h.run(orwrite(3, 2), 0, Bytes(2 * bs, 0xa5))->status, scsi::Status::kGood);
    ASSERT_EQ(h.run(orwrite(3, 2), 0, Bytes(2 * bs, 0x5a))->status, scsi::Status::kGood);
    EXPECT_EQ(Bytes(h.store->bytes.begin() + 3 * bs, h.store->bytes.begin() + 5 * bs),
              Bytes(2 * bs, 0xff));
    EXPECT_EQ(h.store->bytes[5 * bs], 0);
    EXPECT_EQ(h.store->bytes[3 * bs - 1], 0);
  }
}

TEST(OrWrite, MixedBits) {
  Harness h;
  Bytes medium(512), data(512);
  for (size_t i = 0; i < 512; ++i) {
    medium[i] = uint8_t(i);
    data[i] = uint8_t(i * 7);
  }
  std::copy(medium.begin(), medium.end(), h.store->bytes.begin());
  auto c = h.run(orwrite(0, 1), 0, data);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(c->out_length, 512u);
  for (size_t i = 0; i < 512; ++i)
    EXPECT_EQ(h.store->bytes[i], uint8_t(medium[i] | data[i]));
}

struct Case {
  const char* name;
  Bytes cdb;
  uint8_t key;
  uint8_t asc;
};

TEST(OrWriteCdb, TableDriven) {
  Harness h;
  const std::vector<Case> cases = {
      {"zero blocks", orwrite(0, 0), 0, 0},
      {"zero blocks at end", orwrite(kN, 0), 0, 0},
      {"zero blocks past end", orwrite(kN + 1, 0), 0x5, 0x21},
      {"beyond eol", orwrite(kN - 1, 2), 0x5, 0x21},
      {"lba 2^63", orwrite(1ull << 63, 1), 0x5, 0x21},
      {"orprotect", orwrite(0, 1, 0x20), 0x5, 0x24},
      {"dpo fua", orwrite(0, 1, 0x18), 0, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto cmd = h.run(c.cdb, 0, Bytes(512, 1));
    if (c.key == 0) {
      EXPECT_EQ(cmd->status, scsi::Status::kGood);
      continue;
    }
    EXPECT_EQ(test::sense_of(*cmd).key, c.key);
    EXPECT_EQ(test::sense_of(*cmd).asc, c.asc);
  }
}

TEST(OrWrite, FuaAndWriteProtect) {
  Harness h;
  h.run(orwrite(0, 1, 0x08), 0, Bytes(512, 1));
  EXPECT_TRUE(h.store->last_fua);
  h.run(orwrite(0, 1), 0, Bytes(512, 1));
  EXPECT_FALSE(h.store->last_fua);
  h.disk->set_swp(true);
  auto c = h.run(orwrite(0, 1), 0, Bytes(512, 1));
  EXPECT_EQ(test::sense_of(*c).key, 0x7);
}

// The read-modify-write is atomic: a WRITE of the same block waits until the ORWRITE has
// written its result, so the WRITE is never lost under the ORed data.
TEST(OrWrite, OverlappingWriteWaitsForTheReadModifyWrite) {
  Harness h;
  h.store->hold_writes = true;
  auto o = h.run(orwrite(2, 2), 0, Bytes(1024, 0x0f));
  ASSERT_EQ(h.store->held.size(), 1u);
  auto w = h.run(test::cdb10(0x2a, 3, 1), 0, Bytes(512, 0xf0));
  auto other = h.run(test::cdb10(0x2a, 9, 1), 0, Bytes(512, 0xaa));
  EXPECT_EQ(h.store->held.size(), 2u);  // the write of block 9 went ahead
  EXPECT_FALSE(w->completed());
  h.store->release_writes();
  ASSERT_TRUE(o->completed());
  ASSERT_TRUE(w->completed());
  EXPECT_EQ(h.store->bytes[2 * 512], 0x0f);
  EXPECT_EQ(h.store->bytes[3 * 512], 0xf0);
  EXPECT_EQ(h.store->bytes[9 * 512], 0xaa);
  EXPECT_TRUE(other->completed());
}

// Two ORWRITEs of the same block: the second reads what the first wrote.
TEST(OrWrite, OverlappingOrWritesDoNotLoseBits) {
  Harness h;
  h.store->hold_writes = true;
  auto a = h.run(orwrite(0, 1), 0, Bytes(512, 0x01));
  auto b = h.run(orwrite(0, 1), 0, Bytes(512, 0x02));
  EXPECT_EQ(h.store->reads, 1);  // b waits before reading
  h.store->release_writes();
  ASSERT_TRUE(a->completed());
  ASSERT_TRUE(b->completed());
  EXPECT_EQ(h.store->bytes[0], 0x03);
}

}  // namespace
}  // namespace stgt::devices
