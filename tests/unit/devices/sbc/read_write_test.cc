#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

constexpr uint64_t kN = Harness::kBlocks;

struct Case {
  const char* name;
  Bytes cdb;
  uint8_t key;  // 0: GOOD
  uint8_t asc;
  int field_byte = -1;
};

// CDB decoding and range checks, before any I/O (libiscsi Read*/Write* beyond-EOL,
// 0-blocks, RDPROTECT/WRPROTECT and flags suites).
std::vector<Case> cases() {
  return {
      {"read10 ok", test::cdb10(0x28, 0, 1), 0, 0},
      {"read10 zero blocks", test::cdb10(0x28, 0, 0), 0, 0},
      {"read10 zero blocks at end", test::cdb10(0x28, kN, 0), 0, 0},
      {"read10 zero blocks past end", test::cdb10(0x28, kN + 1, 0), 0x5, 0x21},
      {"read10 last block", test::cdb10(0x28, kN - 1, 1), 0, 0},
      {"read10 beyond eol", test::cdb10(0x28, kN - 1, 2), 0x5, 0x21},
      {"read10 lba -1", test::cdb10(0x28, 0xffffffff, 1), 0x5, 0x21},
      {"read10 rdprotect", test::cdb10(0x28, 0, 1, 0x20), 0x5, 0x24, 1},
      {"read10 dpo fua fua_nv", test::cdb10(0x28, 0, 1, 0x1a), 0, 0},
      {"read12 beyond eol", test::cdb12(0xa8, kN, 1), 0x5, 0x21},
      {"read16 lba 2^63", test::cdb16(0x88, 1ull << 63, 1), 0x5, 0x21},
      {"read16 too long", test::cdb16(0x88, 0, 1u << 20), 0x5, 0x24, 10},
      {"read6 zero means 256", test::cdb6(0x08, kN - 255, 0), 0x5, 0x21},
      {"read6 256 fits", test::cdb6(0x08, kN - 256, 0), 0, 0},
      {"write10 wrprotect", test::cdb10(0x2a, 0, 1, 0xe0), 0x5, 0x24, 1},
      {"write16 beyond eol", test::cdb16(0x8a, kN, 1), 0x5, 0x21},
      {"write12 zero blocks", test::cdb12(0xaa, 0, 0), 0, 0},
      {"read10 naca", [] { auto c = test::cdb10(0x28, 0, 1); c[9] = 0x04; return c; }(), 0x5, 0x24, 9},
  };
}

TEST(ReadWriteCdb, TableDriven) {
  Harness h;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const bool write = c.cdb[0] == 0x2a || c.cdb[0] == 0x8a || c.cdb[0] == 0xaa;
    auto cmd = h.run(c.cdb, write ? 0 : 1 << 20, write ? Bytes(512, 1) : Bytes{});
    EXPECT_EQ(h.completions, 1);
    if (c.key == 0) {
      EXPECT_EQ(cmd->status, scsi::Status::kGood);
      continue;
    }
    ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*cmd).key, c.key);
    EXPECT_EQ(test::sense_of(*cmd).asc, c.asc);
    if (c.field_byte >= 0) {
      EXPECT_EQ(cmd->sense[15] & 0xc0, 0xc0);  // SKSV, C/D
      EXPECT_EQ(base::load_be16(&cmd->sense[16]), c.field_byte);
    }
  }
  EXPECT_EQ(h.store->writes, 0);
}

TEST(ReadWrite, DataRoundTrip) {
  for (const uint32_t bs : {512u, 4096u}) {
    Harness h(bs);
    Bytes out(3 * bs);
    for (size_t i = 0; i < out.size(); ++i) out[i] = uint8_t(i * 7 + 3);
    auto w = h.run(test::cdb16(0x8a, 10, 3), 0, out);
    ASSERT_EQ(w->status, scsi::Status::kGood);
    EXPECT_EQ(w->out_length, 3 * bs);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), h.store->bytes.begin() + 10 * bs));
    auto r = h.run(test::cdb12(0xa8, 10, 3), 3 * bs);
    ASSERT_EQ(r->status, scsi::Status::kGood);
    EXPECT_EQ(r->in_length, 3 * bs);
    EXPECT_EQ(test::data_in(*r), out);
  }
}

// A store out of space (a full file system under a thin or sparse image, a full thin
// device) fails writes with DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT, with the
// LBA; other errors stay MEDIUM ERROR, WRITE ERROR. SYNCHRONIZE CACHE maps the same way.
TEST(ReadWrite, OutOfSpaceIsSpaceAllocationFailed) {
  struct Want {
    int error;
    uint8_t key;
    uint8_t asc;
    uint8_t ascq;
  };
  for (const Want w : {Want{-ENOSPC, 0x7, 0x27, 0x07}, Want{-EDQUOT, 0x7, 0x27, 0x07},
                       Want{-EIO, 0x3, 0x0c, 0x00}}) {
    Harness h;
    h.store->write_result = w.error;
    auto c = h.run(test::cdb10(0x2a, 7, 2), 0, Bytes(2 * 512, 0x11));
    ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
    const auto s = test::sense_of(*c);
    EXPECT_EQ(s.key, w.key) << w.error;
    EXPECT_EQ(s.asc, w.asc) << w.error;
    EXPECT_EQ(s.ascq, w.ascq) << w.error;
    // Fixed format: VALID and INFORMATION (bytes 3..6) carry the LBA.
    ASSERT_EQ(c->sense[0] & 0x7f, 0x70);
    EXPECT_NE(c->sense[0] & 0x80, 0);
    EXPECT_EQ(base::load_be32(&c->sense[3]), 7u) << w.error;
  }
}

TEST(ReadWrite, Read6AndWrite6) {
  Harness h;
  auto w = h.run(test::cdb6(0x0a, 4, 1), 0, Bytes(512, 0xab));
  ASSERT_EQ(w->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->bytes[4 * 512], 0xab);
  auto r = h.run(test::cdb6(0x08, 4, 1), 512);
  EXPECT_EQ(test::data_in(*r), Bytes(512, 0xab));
}

// libiscsi iSCSIResiduals: reads deliver what EDTL allows, in_length is the CDB's transfer.
TEST(ReadWrite, ReadResiduals) {
  Harness h;
  std::fill(h.store->bytes.begin(), h.store->bytes.begin() + 1024, 0x5a);
  auto none = h.run(test::cdb10(0x28, 0, 1), 0);
  EXPECT_EQ(none->status, scsi::Status::kGood);
  EXPECT_EQ(none->in_length, 512u);
  auto partial = h.run(test::cdb10(0x28, 0, 1), 200);
  EXPECT_EQ(partial->in_length, 512u);
  EXPECT_EQ(test::data_in(*partial), Bytes(200, 0x5a));
  auto half = h.run(test::cdb10(0x28, 0, 2), 512);
  EXPECT_EQ(half->in_length, 1024u);
  EXPECT_EQ(test::data_in(*half), Bytes(512, 0x5a));
  auto more = h.run(test::cdb10(0x28, 0, 1), 10000);
  EXPECT_EQ(more->in_length, 512u);
}

// libiscsi Write10Residuals: only whole blocks actually sent are written, never more than TL.
TEST(ReadWrite, WriteResiduals) {
  Harness h;
  auto none = h.run(test::cdb10(0x2a, 0, 1), 0, {});
  EXPECT_EQ(none->status, scsi::Status::kGood);
  EXPECT_EQ(none->out_length, 512u);
  EXPECT_EQ(h.store->writes, 0);

  auto extra = h.run(test::cdb10(0x2a, 0, 1), 0, Bytes(1024, 'b'));
  EXPECT_EQ(extra->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->last_write_bytes, 512u);
  EXPECT_EQ(h.store->bytes[512], 0);

  auto shortfall = h.run(test::cdb10(0x2a, 2, 2), 0, Bytes(512, 'c'));
  EXPECT_EQ(shortfall->out_length, 1024u);
  EXPECT_EQ(h.store->last_write_bytes, 512u);
  EXPECT_EQ(h.store->bytes[2 * 512], 'c');
  EXPECT_EQ(h.store->bytes[3 * 512], 0);
}

TEST(ReadWrite, FuaAndWriteCache) {
  Harness h;
  h.run(test::cdb10(0x2a, 0, 1), 0, Bytes(512, 1));
  EXPECT_FALSE(h.store->last_fua);
  h.run(test::cdb10(0x2a, 0, 1, 0x08), 0, Bytes(512, 1));
  EXPECT_TRUE(h.store->last_fua);
  h.disk->set_wce(false);
  h.run(test::cdb10(0x2a, 0, 1), 0, Bytes(512, 1));
  EXPECT_TRUE(h.store->last_fua);
}

TEST(ReadWrite, WriteProtected) {
  Harness h(512, scsi::LuSettings{.read_only = true});
  auto w = h.run(test::cdb10(0x2a, 0, 1), 0, Bytes(512, 1));
  EXPECT_EQ(test::sense_of(*w).key, 0x7);
  EXPECT_EQ(test::sense_of(*w).asc, 0x27);
  EXPECT_EQ(h.store->writes, 0);
  auto r = h.run(test::cdb10(0x28, 0, 1), 512);
  EXPECT_EQ(r->status, scsi::Status::kGood);
}

}  // namespace
}  // namespace stgt::devices
