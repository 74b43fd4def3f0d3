#include "scsi/lun.h"

#include <gtest/gtest.h>

namespace stgt::scsi {
namespace {

TEST(Lun, EncodeDecode) {
  EXPECT_EQ(encode_lun(0), 0u);
  EXPECT_EQ(encode_lun(5), 0x0005000000000000ull);
  EXPECT_EQ(encode_lun(256), 0x4100000000000000ull);
  EXPECT_EQ(encode_lun(kMaxLun), 0x7fff000000000000ull);
  for (const uint32_t l : {0u, 1u, 255u, 256u, 1000u, kMaxLun}) EXPECT_EQ(decode_lun(encode_lun(l)), l);
}

TEST(Lun, RejectsOtherMethodsAndLevels) {
  EXPECT_FALSE(decode_lun(0x0100000000000000ull));  // bus 1
  EXPECT_FALSE(decode_lun(0x8000000000000000ull));  // logical unit addressing
  EXPECT_FALSE(decode_lun(0xc000000000000000ull));  // extended
  EXPECT_FALSE(decode_lun(0x0001000100000000ull));  // second level
}

}  // namespace
}  // namespace stgt::scsi
