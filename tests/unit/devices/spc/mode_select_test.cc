#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

// MODE SENSE (6) of one page without block descriptor, then turn it into a MODE SELECT (6)
// parameter list, as libiscsi's set_swp() does.
Bytes current_page(Harness& h, uint8_t page) {
  Bytes d = test::data_in(*h.run(Bytes{0x1a, 0x08, page, 0, 255, 0}, 255));
  d[0] = 0;  // MODE DATA LENGTH is reserved in MODE SELECT
  d[2] = 0;
  return d;
}

Bytes select6(uint8_t byte1, uint8_t length) { return Bytes{0x15, byte1, 0, 0, length, 0}; }

TEST(ModeSelect, RoundTripSwpAndDSense) {
  Harness h;
  Bytes list = current_page(h, 0x0a);
  list[4 + 4] |= 0x08;  // SWP
  list[4 + 2] |= 0x04;  // D_SENSE
  auto c = h.run(select6(0x10, uint8_t(list.size())), 0, list);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_TRUE(h.disk->swp());
  EXPECT_TRUE(h.disk->d_sense());
  // Writes now fail with WRITE PROTECTED, in descriptor format.
  auto w = h.run(test::cdb10(0x2a, 0, 1), 0, Bytes(512));
  EXPECT_EQ(w->sense[0], 0x72);
  EXPECT_EQ(test::sense_of(*w).asc, 0x27);
  const Bytes back = current_page(h, 0x0a);
  EXPECT_EQ(back[4 + 4] & 0x08, 0x08);
}

TEST(ModeSelect, CachingWce) {
  Harness h;
  Bytes list = current_page(h, 0x08);
  list[4 + 2] &= uint8_t(~0x04);
  Bytes c{0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0};
  Bytes list10(8, 0);  // MODE SELECT (10) header, no block descriptor
  list10.insert(list10.end(), list.begin() + 4, list.end());
  base::store_be16(&c[7], uint16_t(list10.size()));
  EXPECT_EQ(h.run(c, 0, list10)->status, scsi::Status::kGood);
  EXPECT_FALSE(h.disk->wce());
}

TEST(ModeSelect, UnchangeableFieldRejectedWithPointer) {
  Harness h;
  Bytes list = current_page(h, 0x0a);
  list[4 + 3] ^= 0x10;  // QUEUE ALGORITHM MODIFIER is not changeable
  auto c = h.run(select6(0x10, uint8_t(list.size())), 0, list);
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
  EXPECT_EQ(c->sense[15] & 0x40, 0);  // C/D = parameter list
  EXPECT_EQ(base::load_be16(&c->sense[16]), 7);
  EXPECT_EQ(c->sense[15] & 0x0f, 0x08 | 4);  // BPV, bit 4
  EXPECT_FALSE(h.disk->d_sense());
}

TEST(ModeSelect, CdbChecks) {
  Harness h;
  Bytes list = current_page(h, 0x0a);
  EXPECT_EQ(base::load_be16(&h.run(select6(0x00, uint8_t(list.size())), 0, list)->sense[16]), 1);
  EXPECT_EQ(test::sense_of(*h.run(select6(0x11, uint8_t(list.size())), 0, list)).asc, 0x24);
  EXPECT_EQ(h.run(select6(0x10, 0))->status, scsi::Status::kGood);
  EXPECT_EQ(test::sense_of(*h.run(select6(0x10, 2), 0, Bytes(2))).asc, 0x1a);
}

TEST(ModeSelect, BlockDescriptorMustKeepBlockSize) {
  Harness h;
  Bytes list = test::data_in(*h.run(Bytes{0x1a, 0x00, 0x0a, 0, 255, 0}, 255));
  list[0] = 0;
  list[2] = 0;
  EXPECT_EQ(h.run(select6(0x10, uint8_t(list.size())), 0, list)->status, scsi::Status::kGood);
  base::store_be24(&list[4 + 5], 4096);
  auto c = h.run(select6(0x10, uint8_t(list.size())), 0, list);
  EXPECT_EQ(test::sense_of(*c).asc, 0x26);
}

}  // namespace
}  // namespace stgt::devices
