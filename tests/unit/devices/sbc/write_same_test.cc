#include <gtest/gtest.h>

#include "devices/sbc/provisioning.h"
#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint64_t kN = Harness::kBlocks;
constexpr scsi::LuSettings kThin{.thin = true};

Bytes ws10(uint32_t lba, uint16_t blocks, uint8_t flags = 0) {
  return test::cdb10(0x41, lba, blocks, flags);
}
Bytes ws16(uint64_t lba, uint32_t blocks, uint8_t flags = 0) {
  return test::cdb16(0x93, lba, blocks, flags);
}

struct Case {
  const char* name;
  Bytes cdb;
  size_t data_out;
  uint8_t key;  // 0: GOOD
  uint8_t asc;
  int field_byte = -1;
  int field_bit = -1;
};

// CDB checks before any I/O (libiscsi WriteSame10/16 BeyondEol, ZeroBlocks, WriteProtect,
// Unmap anchor cases, InvalidDataOutSize), on a thin LU.
std::vector<Case> cases() {
  const uint32_t max = sbc::kMaxWriteSameBlocks;
  return {
      {"ws10 one block", ws10(0, 1), 512, 0, 0},
      {"ws10 last block", ws10(kN - 1, 1), 512, 0, 0},
      {"ws10 beyond eol", ws10(kN - 1, 2), 512, 0x5, 0x21},
      {"ws10 lba 2^31", ws10(0x80000000, 1), 512, 0x5, 0x21},
      {"ws10 lba -1", ws10(0xffffffff, 1), 512, 0x5, 0x21},
      {"ws10 zero blocks to the end", ws10(kN - 10, 0), 512, 0, 0},
      {"ws10 zero blocks at end", ws10(kN, 0), 512, 0, 0},
      {"ws10 zero blocks past end", ws10(kN + 1, 0), 512, 0x5, 0x21},
      {"ws16 zero blocks lba 2^63", ws16(1ull << 63, 0), 512, 0x5, 0x21},
      {"ws16 above max write same length", ws16(0, max + 1), 512, 0x5, 0x24, 10},
      {"ws10 wrprotect", ws10(0, 1, 0x20), 512, 0x5, 0x24, 1, 7},
      {"ws10 anchor", ws10(0, 1, 0x10), 512, 0x5, 0x24, 1, 4},
      {"ws16 anchor and unmap", ws16(0, 1, 0x18), 512, 0x5, 0x24, 1, 4},
      {"ws10 lbdata", ws10(0, 1, 0x02), 512, 0x5, 0x24, 1, 1},
      {"ws16 pbdata", ws16(0, 1, 0x04), 512, 0x5, 0x24, 1, 2},
      {"ws10 bit 0 reserved", ws10(0, 1, 0x01), 512, 0x5, 0x24, 1, 0},
      {"ws10 unmap half block", ws10(0, 1, 0x08), 256, 0x5, 0x24},
      {"ws10 unmap two blocks", ws10(0, 1, 0x08), 1024, 0x5, 0x24},
      {"ws16 no data-out", ws16(0, 1), 0, 0x5, 0x24},
      {"ws16 ndob", ws16(0, 1, 0x01), 0, 0, 0},
  };
}

TEST(WriteSameCdb, TableDriven) {
  Harness h(512, kThin);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const int writes = h.store->writes;
    auto cmd = h.run(c.cdb, 0, Bytes(c.data_out, 0x11));
    EXPECT_EQ(h.completions, 1);
    if (c.key == 0) {
      EXPECT_EQ(cmd->status, scsi::Status::kGood);
      continue;
    }
    EXPECT_EQ(h.store->writes, writes);
    ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*cmd).key, c.key);
    EXPECT_EQ(test::sense_of(*cmd).asc, c.asc);
    if (c.field_byte >= 0) {
      EXPECT_EQ(cmd->sense[15] & 0xc0, 0xc0);  // SKSV, C/D
      EXPECT_EQ(base::load_be16(&cmd->sense[16]), c.field_byte);
      if (c.field_bit >= 0) {
        EXPECT_EQ(cmd->sense[15] & 0x0f, 0x08 | c.field_bit);
      }
    }
  }
}

TEST(WriteSame, PatternReachesEveryBlock) {
  for (const uint32_t bs : {512u, 4096u}) {
    Harness h(bs);
    Bytes block(bs);
    for (size_t i = 0; i < block.size(); ++i)
      block[i] = uint8_t(i * 3 + 1);
    auto c = h.run(ws10(5, 7), 0, block);
    ASSERT_EQ(c->status, scsi::Status::kGood);
    EXPECT_EQ(c->out_length, bs);
    for (uint64_t b = 5; b < 12; ++b) {
      EXPECT_TRUE(std::equal(block.begin(), block.end(), h.store->bytes.begin() + b * bs)) << b;
    }
    EXPECT_EQ(h.store->bytes[4 * bs + bs - 1], 0);
    EXPECT_EQ(h.store->bytes[12 * bs], 0);
  }
}

// The whole range goes through a bounded pattern buffer: 1 MiB per store call, the last
// call shorter.
TEST(WriteSame, ChunkedThroughOneBuffer) {
  Harness h(4096);
  auto c = h.run(ws16(0, 300), 0, Bytes(4096, 0xa6));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->writes, 2);
  EXPECT_EQ(h.store->written_bytes, 300u * 4096);
  EXPECT_EQ(h.store->last_write_bytes, 44u * 4096);
  EXPECT_EQ(h.store->bytes[300 * 4096 - 1], 0xa6);
  EXPECT_EQ(h.store->bytes[300 * 4096], 0);
  c.reset();
  EXPECT_EQ(h.pool.stats().in_use_bytes, 0u);  // the pattern buffer went back to the pool

  auto all = h.run(ws16(0, 0), 0, Bytes(4096, 0x5a));  // WSNZ 0: to the last LBA
  ASSERT_EQ(all->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->bytes.back(), 0x5a);
  EXPECT_EQ(h.store->bytes.front(), 0x5a);
}

TEST(WriteSame, NdobWritesZeros) {
  Harness h;
  std::fill(h.store->bytes.begin(), h.store->bytes.end(), 0xff);
  auto c = h.run(ws16(2, 3, 0x01));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(c->out_length, 0u);
  EXPECT_EQ(Bytes(h.store->bytes.begin() + 2 * 512, h.store->bytes.begin() + 5 * 512),
            Bytes(3 * 512, 0));
  EXPECT_EQ(h.store->bytes[5 * 512], 0xff);
  EXPECT_EQ(h.store->unmaps, 0);
}

// Zeros on a fully provisioned LU whose store can zero in place: one write_zeroes call for
// the whole range (durable when WCE is off), no data written, blocks still mapped. Any other
// pattern is written; a thin LU writes its zeros (they stay mapped for GET LBA STATUS); a
// store that refuses after all (EOPNOTSUPP) gets the zeros written; other errors fail.
TEST(WriteSame, ZerosOnAFullyProvisionedLuAreZeroedInPlace) {
  Harness h;
  h.store->zero_capable = true;
  std::fill(h.store->bytes.begin(), h.store->bytes.end(), 0xff);
  auto c = h.run(ws16(100, 900), 0, Bytes(512, 0));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->zeroes, 1);
  EXPECT_EQ(h.store->zeroed_bytes, 900u * 512);
  EXPECT_EQ(h.store->last_zero_fua, !h.disk->wce());
  EXPECT_EQ(h.store->writes, 0);
  EXPECT_EQ(h.store->bytes[100 * 512 - 1], 0xff);
  EXPECT_EQ(h.store->bytes[100 * 512], 0);
  EXPECT_EQ(h.store->bytes[1000 * 512 - 1], 0);
  EXPECT_EQ(h.store->bytes[1000 * 512], 0xff);
  EXPECT_TRUE(h.store->mapped[100]);

  auto ndob = h.run(ws16(0, 2, 0x01));
  ASSERT_EQ(ndob->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->zeroes, 2);

  auto pattern = h.run(ws10(0, 2), 0, Bytes(512, 0x01));
  ASSERT_EQ(pattern->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->zeroes, 2);
  EXPECT_EQ(h.store->writes, 1);

  h.store->zero_result = -EOPNOTSUPP;
  auto fallback = h.run(ws10(0, 2), 0, Bytes(512, 0));
  ASSERT_EQ(fallback->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->zeroes, 3);
  EXPECT_EQ(h.store->writes, 2);
  EXPECT_EQ(Bytes(h.store->bytes.begin(), h.store->bytes.begin() + 2 * 512), Bytes(2 * 512, 0));

  h.store->zero_result = -EIO;
  auto failed = h.run(ws10(0, 2), 0, Bytes(512, 0));
  EXPECT_EQ(test::sense_of(*failed).key, 0x3);  // MEDIUM ERROR, WRITE ERROR

  Harness thin(512, kThin);
  thin.store->zero_capable = true;
  auto t = thin.run(ws10(0, 8), 0, Bytes(512, 0));
  ASSERT_EQ(t->status, scsi::Status::kGood);
  EXPECT_EQ(thin.store->zeroes, 0);
  EXPECT_EQ(thin.store->writes, 1);
}

TEST(WriteSame, UnmapOnThinLuDeallocatesZeroPattern) {
  Harness h(512, kThin);
  h.run(test::cdb10(0x2a, 0, 16), 0, Bytes(16 * 512, 0xff));
  auto c = h.run(ws10(4, 8, 0x08), 0, Bytes(512, 0));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->unmaps, 1);
  EXPECT_EQ(h.store->unmapped_bytes, 8u * 512);
  EXPECT_FALSE(h.store->mapped[4]);
  EXPECT_TRUE(h.store->mapped[12]);
  EXPECT_EQ(h.store->bytes[4 * 512], 0);
  EXPECT_EQ(h.store->bytes[12 * 512], 0xff);

  auto ndob = h.run(ws16(0, 2, 0x09));  // NDOB + UNMAP
  ASSERT_EQ(ndob->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->unmaps, 2);
}

// SBC-4 5.49 (UNMAP 1, ANCHOR 0: unmap): UNMAP=1 deallocates whatever the pattern; the blocks then read back
// as zeros (LBPRZ), as libiscsi WriteSame10.UnmapUntilEnd expects after sending 0xff.
TEST(WriteSame, UnmapWithNonZeroPatternDeallocates) {
  Harness h(512, kThin);
  h.run(test::cdb10(0x2a, 0, 8), 0, Bytes(8 * 512, 0xff));
  auto c = h.run(ws10(1, 7, 0x08), 0, Bytes(512, 0xa6));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->unmaps, 1);
  EXPECT_EQ(h.store->bytes[0], 0xff);
  EXPECT_EQ(Bytes(h.store->bytes.begin() + 512, h.store->bytes.begin() + 8 * 512),
            Bytes(7 * 512, 0));
}

// A read-only LU is fully provisioned, yet WRITE SAME with UNMAP is WRITE PROTECTED there,
// not an invalid field (libiscsi ReadOnly.ReadOnlySBC).
TEST(WriteSame, UnmapOnReadOnlyLuIsWriteProtected) {
  Harness h(512, scsi::LuSettings{.read_only = true}, /*store_can_unmap=*/false);
  for (const Bytes& cdb : {ws10(0, 1, 0x08), ws16(0, 1, 0x08), ws10(0, 1, 0)}) {
    auto c = h.run(cdb, 0, Bytes(512, 0));
    EXPECT_EQ(test::sense_of(*c).key, 0x7);
    EXPECT_EQ(test::sense_of(*c).asc, 0x27);
  }
  EXPECT_EQ(h.store->writes + h.store->unmaps, 0);
}

// Without a volatile write cache, a WRITE SAME that deallocates is durable when it completes:
// the store is flushed after the unmap (with the cache on, SYNCHRONIZE CACHE does it).
TEST(WriteSame, UnmapWithoutWriteCacheIsFlushedBeforeGood) {
  for (const bool wce : {true, false}) {
    Harness h(512, scsi::LuSettings{.write_cache = wce, .thin = true});
    auto c = h.run(ws16(0, 8, 0x08), 0, Bytes(512, 0));
    ASSERT_EQ(c->status, scsi::Status::kGood);
    EXPECT_EQ(h.store->unmaps, 1);
    EXPECT_EQ(h.store->flushes, wce ? 0 : 1) << wce;
  }
}

TEST(WriteSame, UnmapFallsBackToWritingZeros) {
  Harness h(512, kThin);
  h.store->unmap_result = -EOPNOTSUPP;
  h.run(test::cdb10(0x2a, 0, 4), 0, Bytes(4 * 512, 0xff));
  auto c = h.run(ws10(0, 4, 0x08), 0, Bytes(512, 0));
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(Bytes(h.store->bytes.begin(), h.store->bytes.begin() + 4 * 512), Bytes(4 * 512, 0));

  h.store->unmap_result = -EIO;
  auto failed = h.run(ws10(0, 4, 0x08), 0, Bytes(512, 0));
  EXPECT_EQ(test::sense_of(*failed).key, 0x3);
}

// A fully provisioned LU has no unmap (LBPWS = 0): UNMAP=1 is an invalid field, so libiscsi
// WriteSame10.UnmapVPD sees consistent VPD data; plain WRITE SAME still works. Thin asked
// for over a store that cannot unmap is fully provisioned.
TEST(WriteSame, FullLuRefusesUnmapBit) {
  for (const bool thin_asked : {false, true}) {
    Harness h(512, scsi::LuSettings{.thin = thin_asked}, /*store_can_unmap=*/false);
    EXPECT_FALSE(h.disk->thin());
    auto c = h.run(ws16(0, 1, 0x08), 0, Bytes(512, 0));
    EXPECT_EQ(test::sense_of(*c).asc, 0x24);
    EXPECT_EQ(base::load_be16(&c->sense[16]), 1);
    EXPECT_EQ(c->sense[15] & 0x0f, 0x08 | 3);
    EXPECT_EQ(h.run(ws16(0, 1), 0, Bytes(512, 0))->status, scsi::Status::kGood);
  }
}

TEST(WriteSame, WriteProtected) {
  Harness h(512, scsi::LuSettings{.read_only = true, .thin = true});
  for (const uint8_t flags : {0x00, 0x08}) {
    auto c = h.run(ws10(0, 1, flags), 0, Bytes(512, 0));
    EXPECT_EQ(test::sense_of(*c).key, 0x7);
    EXPECT_EQ(test::sense_of(*c).asc, 0x27);
  }
  EXPECT_EQ(h.store->writes + h.store->unmaps, 0);
}

}  // namespace
}  // namespace stgt::devices
