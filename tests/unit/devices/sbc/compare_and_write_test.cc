#include <gtest/gtest.h>

#include "devices/sbc/provisioning.h"
#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint64_t kN = Harness::kBlocks;

Bytes caw(uint64_t lba, uint8_t blocks, uint8_t byte1 = 0) {
  Bytes c = test::cdb16(0x89, lba, 0, byte1);
  c[13] = blocks;
  return c;
}

// Data-out of 2n blocks: the verify half, then the write half.
Bytes caw_data(const Bytes& verify, const Bytes& write) {
  Bytes d = verify;
  d.insert(d.end(), write.begin(), write.end());
  return d;
}

Bytes medium(const Harness& h, uint64_t lba, uint64_t blocks, uint32_t bs = 512) {
  return Bytes(h.store->bytes.begin() + ptrdiff_t(lba * bs),
               h.store->bytes.begin() + ptrdiff_t((lba + blocks) * bs));
}

void fill(Harness& h, uint64_t lba, const Bytes& data, uint32_t bs = 512) {
  std::copy(data.begin(), data.end(), h.store->bytes.begin() + ptrdiff_t(lba * bs));
}

TEST(CompareAndWrite, MatchWritesTheWriteHalf) {
  for (const uint32_t bs : {512u, 4096u}) {
    SCOPED_TRACE(bs);
    Harness h(bs);
    fill(h, 7, Bytes(2 * bs, 'A'), bs);
    auto c = h.run(caw(7, 2), 0, caw_data(Bytes(2 * bs, 'A'), Bytes(2 * bs, 'B')));
    ASSERT_EQ(c->status, scsi::Status::kGood);
    EXPECT_EQ(c->out_length, 4 * bs);
    EXPECT_EQ(medium(h, 7, 2, bs), Bytes(2 * bs, 'B'));
    EXPECT_EQ(medium(h, 9, 1, bs), Bytes(bs, 0));
    EXPECT_EQ(h.completions, 1);
  }
}

TEST(CompareAndWrite, MiscompareReportsTheOffsetAndWritesNothing) {
  Harness h;
  fill(h, 3, Bytes(1024, 'A'));
  Bytes verify(1024, 'A');
  verify[1024 - 27] = 'C';  // libiscsi CompareAndWrite.Miscompare: 27 bytes from the end
  auto c = h.run(caw(3, 2), 0, caw_data(verify, Bytes(1024, 'B')));
  EXPECT_EQ(c->status, scsi::Status::kCheckCondition);
  const auto s = test::sense_of(*c);
  EXPECT_EQ(s.key, 0xe);  // MISCOMPARE
  EXPECT_EQ(s.asc, 0x1d);
  EXPECT_EQ(s.ascq, 0x00);
  EXPECT_EQ(c->sense[0], 0xf0);  // VALID, fixed format
  EXPECT_EQ(base::load_be32(&c->sense[3]), 1024u - 27);
  EXPECT_EQ(medium(h, 3, 2), Bytes(1024, 'A'));
  EXPECT_EQ(h.store->writes, 0);
}

TEST(CompareAndWrite, MiscompareInDescriptorFormat) {
  Harness h;
  h.disk->set_d_sense(true);
  Bytes verify(512, 0);
  verify[0] = 1;
  auto c = h.run(caw(0, 1), 0, caw_data(verify, Bytes(512, 'B')));
  ASSERT_EQ(c->sense[0], 0x72);
  EXPECT_EQ(test::sense_of(*c).key, 0xe);
  EXPECT_EQ(c->sense[8], 0x00);   // information descriptor
  EXPECT_EQ(c->sense[10], 0x80);  // VALID
  EXPECT_EQ(base::load_be64(&c->sense[12]), 0u);
}

TEST(CompareAndWrite, ZeroBlocksIsANoOp) {
  Harness h;
  auto c = h.run(caw(0, 0, 0x18));
  EXPECT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(c->out_length, 0u);
  EXPECT_EQ(h.run(caw(kN, 0))->status, scsi::Status::kGood);
  // ... but not with data-out: 256 blocks wrap the one-byte field to 0 (libiscsi
  // CompareAndWrite.Simple expects INVALID FIELD IN CDB there).
  c = h.run(caw(0, 0), 0, Bytes(512 * 512, 'x'));
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 13);
  EXPECT_EQ(h.store->reads, 0);
  EXPECT_EQ(h.store->writes, 0);
}

TEST(CompareAndWrite, FuaMakesTheWriteDurable) {
  Harness h;
  h.run(caw(0, 1, 0x08), 0, Bytes(1024, 0));
  EXPECT_TRUE(h.store->last_fua);
  h.run(caw(0, 1), 0, Bytes(1024, 0));
  EXPECT_FALSE(h.store->last_fua);
  h.disk->set_wce(false);
  h.run(caw(0, 1), 0, Bytes(1024, 0));
  EXPECT_TRUE(h.store->last_fua);
}

struct Case {
  const char* name;
  Bytes cdb;
  size_t data_blocks;
  uint8_t key;
  uint8_t asc;
  int field_byte;  // -1: no field pointer checked
};

TEST(CompareAndWriteCdb, TableDriven) {
  const auto max = uint8_t(sbc::kMaxCompareAndWriteBlocks);
  const std::vector<Case> cases = {
      {"one block", caw(0, 1), 2, 0, 0, -1},
      {"max blocks", caw(0, max), 2u * max, 0, 0, -1},
      {"last block", caw(kN - 1, 1), 2, 0, 0, -1},
      {"dpo fua fua_nv", caw(0, 1, 0x1a), 2, 0, 0, -1},
      {"above max", caw(0, uint8_t(max + 1)), 2u * (max + 1), 0x5, 0x24, 13},
      {"beyond eol", caw(kN - 1, 2), 4, 0x5, 0x21, -1},
      {"at eol", caw(kN, 1), 2, 0x5, 0x21, -1},
      {"lba 2^63", caw(1ull << 63, 1), 2, 0x5, 0x21, -1},
      {"zero blocks past end", caw(kN + 1, 0), 0, 0x5, 0x21, -1},
      {"wrprotect", caw(0, 1, 0x20), 2, 0x5, 0x24, 1},
      // Data-out must be exactly 2n blocks (libiscsi CompareAndWrite.InvalidDataOutSize).
      {"data-out too short", caw(0, 3), 4, 0x5, 0x24, 13},
      {"data-out too long", caw(0, 1), 4, 0x5, 0x24, 13},
      {"no data-out", caw(0, 1), 0, 0x5, 0x24, 13},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Harness h;
    auto cmd = h.run(c.cdb, 0, Bytes(c.data_blocks * 512, 0));
    if (c.key == 0) {
      EXPECT_EQ(cmd->status, scsi::Status::kGood);
      continue;
    }
    EXPECT_EQ(test::sense_of(*cmd).key, c.key);
    EXPECT_EQ(test::sense_of(*cmd).asc, c.asc);
    if (c.field_byte >= 0) {
      EXPECT_EQ(base::load_be16(&cmd->sense[16]), c.field_byte);
    }
    EXPECT_EQ(h.store->reads + h.store->writes, 0);  // checked before any I/O
  }
}

TEST(CompareAndWrite, WriteProtectedIsDataProtect) {
  Harness h;
  h.disk->set_swp(true);
  auto c = h.run(caw(0, 1), 0, Bytes(1024, 0));
  EXPECT_EQ(test::sense_of(*c).key, 0x7);
  EXPECT_EQ(test::sense_of(*c).asc, 0x27);
  scsi::LuSettings ro;
  ro.read_only = true;
  Harness r(512, ro);
  EXPECT_EQ(test::sense_of(*r.run(caw(0, 1), 0, Bytes(1024, 0))).key, 0x7);
}

TEST(CompareAndWrite, NoMediumIsNotReady) {
  scsi::LuSettings s;
  s.removable = true;
  Harness h(512, s);
  h.disk->set_medium_present(false);
  auto c = h.run(caw(0, 1), 0, Bytes(1024, 0));
  EXPECT_EQ(test::sense_of(*c).key, 0x2);
  EXPECT_EQ(test::sense_of(*c).asc, 0x3a);
}

// Atomicity: a COMPARE AND WRITE waits for a write of its blocks already in flight, and
// compares against what that write put there.
TEST(CompareAndWrite, WaitsForAnInFlightWrite) {
  Harness h;
  h.store->hold_writes = true;
  auto w = h.run(test::cdb10(0x2a, 5, 1), 0, Bytes(512, 'W'));
  ASSERT_FALSE(w->completed());
  auto c = h.run(caw(5, 1), 0, caw_data(Bytes(512, 'W'), Bytes(512, 'C')));
  EXPECT_FALSE(c->completed());
  EXPECT_EQ(h.store->reads, 0);  // not even read while the write is in flight
  h.store->release_writes();
  EXPECT_TRUE(w->completed());
  ASSERT_TRUE(c->completed());
  EXPECT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(medium(h, 5, 1), Bytes(512, 'C'));
}

// ... and a write of its blocks waits until it has finished; other blocks are not held up.
TEST(CompareAndWrite, BlocksOverlappingWritesUntilDone) {
  Harness h;
  h.run(test::cdb10(0x2a, 0, 1), 0, Bytes(512, 0));  // registers the (null) reactor
  h.store->hold_writes = true;
  auto c = h.run(caw(5, 2), 0, caw_data(Bytes(1024, 0), Bytes(1024, 'C')));
  ASSERT_FALSE(c->completed());
  ASSERT_EQ(h.store->held.size(), 1u);  // CAW's write is in flight
  auto w = h.run(test::cdb16(0x8a, 6, 1), 0, Bytes(512, 'W'));
  auto ws = h.run(test::cdb10(0x41, 4, 3), 0, Bytes(512, 'S'));  // WRITE SAME 4..6
  auto other = h.run(test::cdb10(0x2a, 7, 1), 0, Bytes(512, 'O'));
  EXPECT_EQ(h.store->held.size(), 2u);  // only the non-overlapping write went ahead
  EXPECT_FALSE(w->completed());
  EXPECT_FALSE(ws->completed());
  h.store->release_writes();
  EXPECT_TRUE(c->completed());
  EXPECT_TRUE(w->completed());
  EXPECT_TRUE(ws->completed());
  EXPECT_TRUE(other->completed());
  // Both blocked writes ran after the CAW, in arrival order.
  EXPECT_EQ(medium(h, 5, 1), Bytes(512, 'S'));
  EXPECT_EQ(medium(h, 6, 1), Bytes(512, 'S'));
  EXPECT_EQ(medium(h, 7, 1), Bytes(512, 'O'));
  EXPECT_FALSE(h.disk->extents().tracking());
}

TEST(CompareAndWrite, BlockLimitsReportsTheMaximum) {
  Harness h;
  auto c = h.run(Bytes{0x12, 0x01, 0xb0, 0x00, 0x40, 0x00}, 0x40);
  const Bytes page = test::data_in(*c);
  ASSERT_GE(page.size(), 6u);
  EXPECT_EQ(page[5], sbc::kMaxCompareAndWriteBlocks);
}

}  // namespace
}  // namespace stgt::devices
