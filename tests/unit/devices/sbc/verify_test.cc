#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (size_t i = 0; i < 4 * 512; ++i) h.store->bytes[i] = uint8_t(i);
  }
  Bytes medium(size_t from, size_t n) {
    return Bytes(h.store->bytes.begin() + from, h.store->bytes.begin() + from + n);
  }
  Harness h;
};

TEST_F(VerifyTest, NoByteCheckReadsRange) {
  auto c = h.run(test::cdb10(0x2f, 0, 4));
  EXPECT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->reads, 1);
}

TEST_F(VerifyTest, CompareMatches) {
  for (const uint8_t op : {0x2f, 0xaf, 0x8f}) {
    const Bytes cdb = op == 0x2f ? test::cdb10(op, 0, 2, 0x02)
                      : op == 0xaf ? test::cdb12(op, 0, 2, 0x02)
                                   : test::cdb16(op, 0, 2, 0x02);
    auto c = h.run(cdb, 0, medium(0, 1024));
    EXPECT_EQ(c->status, scsi::Status::kGood) << int(op);
    EXPECT_EQ(c->out_length, 1024u);
  }
}

TEST_F(VerifyTest, MismatchReportsOffset) {
  Bytes out = medium(0, 1024);
  out[700] ^= 0xff;
  auto c = h.run(test::cdb10(0x2f, 0, 2, 0x02), 0, out);
  ASSERT_EQ(c->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*c).key, 0xe);
  EXPECT_EQ(test::sense_of(*c).asc, 0x1d);
  EXPECT_EQ(c->sense[0] & 0x80, 0x80);  // VALID
  EXPECT_EQ(base::load_be32(&c->sense[3]), 700u);
}

TEST_F(VerifyTest, MismatchWithoutCompareIsGood) {
  auto c = h.run(test::cdb10(0x2f, 0, 2), 0, Bytes(1024, 0xee));
  EXPECT_EQ(c->status, scsi::Status::kGood);
}

TEST_F(VerifyTest, OneBlockRepeated) {
  std::fill(h.store->bytes.begin(), h.store->bytes.begin() + 1536, 0x11);
  auto ok = h.run(test::cdb10(0x2f, 0, 3, 0x06), 0, Bytes(512, 0x11));
  EXPECT_EQ(ok->status, scsi::Status::kGood);
  EXPECT_EQ(ok->out_length, 512u);
  h.store->bytes[1024 + 5] = 0;
  auto bad = h.run(test::cdb10(0x2f, 0, 3, 0x06), 0, Bytes(512, 0x11));
  EXPECT_EQ(test::sense_of(*bad).key, 0xe);
  EXPECT_EQ(base::load_be32(&bad->sense[3]), 1029u);
}

TEST_F(VerifyTest, FieldAndRangeChecks) {
  auto reserved = h.run(test::cdb10(0x2f, 0, 1, 0x04), 0, Bytes(512));
  EXPECT_EQ(test::sense_of(*reserved).asc, 0x24);
  auto protect = h.run(test::cdb16(0x8f, 0, 1, 0x20), 0, Bytes(512));
  EXPECT_EQ(test::sense_of(*protect).asc, 0x24);
  auto eol = h.run(test::cdb12(0xaf, Harness::kBlocks, 1, 0x02), 0, Bytes(512));
  EXPECT_EQ(test::sense_of(*eol).asc, 0x21);
  EXPECT_EQ(h.store->reads, 0);
}

TEST_F(VerifyTest, WriteAndVerifyWritesDurably) {
  auto c = h.run(test::cdb10(0x2e, 8, 1, 0x02), 0, Bytes(512, 0x77));
  EXPECT_EQ(c->status, scsi::Status::kGood);
  EXPECT_TRUE(h.store->last_fua);
  EXPECT_EQ(medium(8 * 512, 512), Bytes(512, 0x77));
  auto prot = h.run(test::cdb16(0x8e, 8, 1, 0x40), 0, Bytes(512, 0x77));
  EXPECT_EQ(test::sense_of(*prot).asc, 0x24);
  h.disk->set_swp(true);
  auto wp = h.run(test::cdb12(0xae, 8, 1), 0, Bytes(512, 0x77));
  EXPECT_EQ(test::sense_of(*wp).key, 0x7);
}

}  // namespace
}  // namespace stgt::devices
