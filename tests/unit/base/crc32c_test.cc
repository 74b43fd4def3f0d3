#include "base/crc32c.h"

#include <array>
#include <cstring>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

namespace stgt::base {
namespace {

struct Vector {
  const char* name;
  std::vector<uint8_t> data;
  uint32_t crc;
};

// RFC 3720 B.4 (carried into RFC 7143): the digest values there are the bytes as sent,
// least significant byte first; the numbers below are those bytes read little-endian.
std::vector<Vector> rfc_vectors() {
  std::vector<uint8_t> inc(32), dec(32);
  std::iota(inc.begin(), inc.end(), uint8_t(0));
  for (size_t i = 0; i < 32; ++i)
    dec[i] = uint8_t(31 - i);
  const std::vector<uint8_t> read_pdu = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                         0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00,
                                         0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00,
                                         0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                         0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  return {
      {"32 zeros", std::vector<uint8_t>(32, 0x00), 0x8a9136aa},
      {"32 ones", std::vector<uint8_t>(32, 0xff), 0x62a8ab43},
      {"32 incrementing", inc, 0x46dd794e},
      {"32 decrementing", dec, 0x113fdb5c},
      {"iSCSI read PDU", read_pdu, 0xd9963a56},
  };
}

TEST(Crc32cTest, Rfc3720AppendixB4Vectors) {
  for (const Vector& v : rfc_vectors()) {
    EXPECT_EQ(crc32c(v.data.data(), v.data.size()), v.crc) << v.name;
  }
}

TEST(Crc32cTest, CheckValueAndEmptyInput) {
  const char* check = "123456789";  // the catalogued CRC-32C check value
  EXPECT_EQ(crc32c(check, 9), 0xe3069283u);
  EXPECT_EQ(crc32c(nullptr, 0), 0u);
}

TEST(Crc32cTest, IncrementalEqualsOneShotForEverySplit) {
  for (const Vector& v : rfc_vectors()) {
    for (size_t split = 0; split <= v.data.size(); ++split) {
      uint32_t s = crc32c_begin();
      s = crc32c_update(s, v.data.data(), split);
      s = crc32c_update(s, v.data.data() + split, v.data.size() - split);
      EXPECT_EQ(crc32c_finish(s), v.crc) << v.name << " split " << split;
    }
  }
}

TEST(Crc32cTest, DetectsASingleBitFlip) {
  std::vector<uint8_t> buf(8192);
  std::iota(buf.begin(), buf.end(), uint8_t(3));
  const uint32_t good = crc32c(buf.data(), buf.size());
  buf[4000] ^= 0x10;
  EXPECT_NE(crc32c(buf.data(), buf.size()), good);
}

}  // namespace
}  // namespace stgt::base
