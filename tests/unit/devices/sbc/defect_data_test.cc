#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes rdd10(uint8_t byte2, uint16_t alloc) {
  Bytes c(10, 0);
  c[0] = 0x37;
  c[2] = byte2;
  base::store_be16(&c[7], alloc);
  return c;
}

Bytes rdd12(uint8_t byte1, uint32_t index, uint32_t alloc) {
  Bytes c(12, 0);
  c[0] = 0xb7;
  c[1] = byte1;
  base::store_be32(&c[2], index);
  base::store_be32(&c[6], alloc);
  return c;
}

struct Case {
  uint8_t request;  // REQ_PLIST | REQ_GLIST | DEFECT LIST FORMAT
  uint8_t flags;    // expected PLISTV | GLISTV | format
};

constexpr Case kCases[] = {
    {0x00, 0x00},  // neither list, short block format
    {0x10, 0x10},  // primary list only
    {0x08, 0x08},  // grown list only
    {0x1b, 0x1b},  // both, long block format
    {0x1d, 0x1d},  // both, physical sector format
};

TEST(ReadDefectData, TenReturnsAnEmptyListInTheRequestedFormat) {
  Harness h;
  for (const Case& k : kCases) {
    auto c = h.run(rdd10(k.request, 32), 32);
    ASSERT_EQ(c->status, scsi::Status::kGood) << int(k.request);
    const Bytes d = test::data_in(*c);
    ASSERT_EQ(d.size(), 4u);
    EXPECT_EQ(d[1], k.flags);
    EXPECT_EQ(base::load_be16(&d[2]), 0u);  // DEFECT LIST LENGTH
  }
}

TEST(ReadDefectData, TwelveReturnsAnEmptyListInTheRequestedFormat) {
  Harness h;
  for (const Case& k : kCases) {
    auto c = h.run(rdd12(k.request, 0, 32), 32);
    ASSERT_EQ(c->status, scsi::Status::kGood) << int(k.request);
    const Bytes d = test::data_in(*c);
    ASSERT_EQ(d.size(), 8u);
    EXPECT_EQ(d[1], k.flags);
    EXPECT_EQ(base::load_be32(&d[4]), 0u);
  }
  EXPECT_EQ(h.run(rdd12(0x18, 100, 32), 32)->status, scsi::Status::kGood);  // index past end
}

TEST(ReadDefectData, AllocationLengthTruncates) {
  Harness h;
  EXPECT_EQ(h.run(rdd10(0x18, 2), 2)->in_length, 2u);
  EXPECT_EQ(h.run(rdd12(0x18, 0, 0), 0)->status, scsi::Status::kGood);
}

TEST(ReadDefectData, ReservedFormatIsAnInvalidField) {
  Harness h;
  auto ten = h.run(rdd10(0x07, 32), 32);
  EXPECT_EQ(test::sense_of(*ten).asc, 0x24);
  auto twelve = h.run(rdd12(0x1f, 0, 32), 32);
  EXPECT_EQ(test::sense_of(*twelve).asc, 0x24);
}

}  // namespace
}  // namespace stgt::devices
