#include "base/byte_order.h"

#include <array>

#include <gtest/gtest.h>

namespace stgt::base {
namespace {

TEST(ByteOrderTest, LoadsAreBigEndian) {
  const std::array<uint8_t, 8> b = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  EXPECT_EQ(load_be16(b.data()), 0x0102);
  EXPECT_EQ(load_be24(b.data()), 0x010203u);
  EXPECT_EQ(load_be32(b.data()), 0x01020304u);
  EXPECT_EQ(load_be48(b.data()), 0x010203040506ull);
  EXPECT_EQ(load_be64(b.data()), 0x0102030405060708ull);
}

TEST(ByteOrderTest, StoresAreBigEndianAndTouchOnlyTheirBytes) {
  std::array<uint8_t, 10> b{};
  b.fill(0xee);
  store_be16(b.data() + 1, 0xa1b2);
  EXPECT_EQ(b,
            (std::array<uint8_t, 10>{0xee, 0xa1, 0xb2, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee}));
  b.fill(0xee);
  store_be24(b.data() + 1, 0x00c1d2e3);
  EXPECT_EQ(b,
            (std::array<uint8_t, 10>{0xee, 0xc1, 0xd2, 0xe3, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee}));
  b.fill(0xee);
  store_be32(b.data() + 1, 0x11223344);
  EXPECT_EQ(b,
            (std::array<uint8_t, 10>{0xee, 0x11, 0x22, 0x33, 0x44, 0xee, 0xee, 0xee, 0xee, 0xee}));
  b.fill(0xee);
  store_be48(b.data() + 1, 0x0000aabbccddeeffull);
  EXPECT_EQ(b,
            (std::array<uint8_t, 10>{0xee, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0xee, 0xee, 0xee}));
  b.fill(0xee);
  store_be64(b.data() + 1, 0x0102030405060708ull);
  EXPECT_EQ(b, (std::array<uint8_t, 10>{0xee, 1, 2, 3, 4, 5, 6, 7, 8, 0xee}));
}

TEST(ByteOrderTest, RoundTripsExtremes) {
  std::array<uint8_t, 8> b{};
  for (const uint64_t v : {uint64_t{0}, uint64_t{1}, ~uint64_t{0}, uint64_t{0x8000000000000000}}) {
    store_be64(b.data(), v);
    EXPECT_EQ(load_be64(b.data()), v);
    store_be48(b.data(), v & 0xffffffffffffull);
    EXPECT_EQ(load_be48(b.data()), v & 0xffffffffffffull);
    store_be32(b.data(), uint32_t(v));
    EXPECT_EQ(load_be32(b.data()), uint32_t(v));
    store_be24(b.data(), uint32_t(v) & 0xffffff);
    EXPECT_EQ(load_be24(b.data()), uint32_t(v) & 0xffffff);
    store_be16(b.data(), uint16_t(v));
    EXPECT_EQ(load_be16(b.data()), uint16_t(v));
  }
}

}  // namespace
}  // namespace stgt::base
