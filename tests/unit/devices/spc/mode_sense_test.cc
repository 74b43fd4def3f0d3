#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes sense6(uint8_t pc_page, uint8_t subpage, uint8_t alloc, bool dbd = false) {
  return Bytes{0x1a, uint8_t(dbd ? 0x08 : 0), pc_page, subpage, alloc, 0};
}
Bytes sense10(uint8_t byte1, uint8_t pc_page, uint16_t alloc) {
  Bytes c{0x5a, byte1, pc_page, 0, 0, 0, 0, 0, 0, 0};
  base::store_be16(&c[7], alloc);
  return c;
}

TEST(ModeSense, AllPages6) {
  Harness h;
  auto c = h.run(sense6(0x3f, 0, 255), 255);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  EXPECT_EQ(d[0] + 1u, d.size());
  EXPECT_EQ(d[2], 0x10);  // DPOFUA, not WP
  EXPECT_EQ(d[3], 8);
  EXPECT_EQ(base::load_be32(&d[4]), Harness::kBlocks);
  EXPECT_EQ(base::load_be24(&d[9]), 512u);
  std::vector<uint8_t> pages;
  for (size_t at = 12; at < d.size(); at += 2 + d[at + 1]) pages.push_back(d[at]);
  EXPECT_EQ(pages, (std::vector<uint8_t>{0x01, 0x08, 0x0a, 0x1c}));
}

TEST(ModeSense, ResidualsTruncateWithoutOverflow) {
  Harness h;
  auto c = h.run(sense6(0x3f, 0, 4), 4);
  EXPECT_EQ(c->in_length, 4u);
  EXPECT_EQ(test::data_in(*c).size(), 4u);
}

TEST(ModeSense, SinglePageAndSubpages) {
  Harness h;
  auto c = h.run(sense6(0x0a, 0, 255, true), 255);
  const Bytes d = test::data_in(*c);
  ASSERT_EQ(d.size(), 4u + 12);
  EXPECT_EQ(d[3], 0);  // DBD: no block descriptor
  EXPECT_EQ(d[4], 0x0a);
  EXPECT_EQ(h.run(sense6(0x3f, 0xff, 255), 255)->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(sense6(0x08, 0xff, 255), 255)->status, scsi::Status::kGood);
  EXPECT_EQ(test::sense_of(*h.run(sense6(0x08, 0x01, 255), 255)).asc, 0x24);
  EXPECT_EQ(test::sense_of(*h.run(sense6(0x02, 0, 255), 255)).asc, 0x24);
}

TEST(ModeSense, PageControl) {
  Harness h;
  const Bytes ch = test::data_in(*h.run(sense6(0x40 | 0x0a, 0, 255, true), 255));
  EXPECT_EQ(ch[4 + 2], 0x04);  // D_SENSE changeable
  EXPECT_EQ(ch[4 + 4], 0x08);  // SWP changeable
  const Bytes cache = test::data_in(*h.run(sense6(0x40 | 0x08, 0, 255, true), 255));
  EXPECT_EQ(cache[4 + 2], 0x04);  // WCE changeable
  EXPECT_EQ(h.run(sense6(0x80 | 0x0a, 0, 255), 255)->status, scsi::Status::kGood);
  auto saved = h.run(sense6(0xc0 | 0x0a, 0, 255), 255);
  EXPECT_EQ(test::sense_of(*saved).asc, 0x39);
}

TEST(ModeSense, TenWithLongLba) {
  Harness h;
  const Bytes d = test::data_in(*h.run(sense10(0x10, 0x08, 512), 512));
  EXPECT_EQ(base::load_be16(&d[0]) + 2u, d.size());
  EXPECT_EQ(d[4], 0x01);  // LONGLBA
  EXPECT_EQ(base::load_be16(&d[6]), 16);
  EXPECT_EQ(base::load_be64(&d[8]), Harness::kBlocks);
  EXPECT_EQ(base::load_be32(&d[20]), 512u);
  EXPECT_EQ(d[24], 0x08);
}

TEST(ModeSense, WriteProtectBit) {
  Harness h;
  h.disk->set_swp(true);
  EXPECT_EQ(test::data_in(*h.run(sense6(0x3f, 0, 255), 255))[2], 0x90);
}

}  // namespace
}  // namespace stgt::devices
