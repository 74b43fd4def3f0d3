#include "scsi/sense.h"

#include <gtest/gtest.h>

#include <array>

#include "base/byte_order.h"

namespace stgt::scsi {
namespace {

TEST(SenseTable, KnownCodes) {
  struct Row {
    SenseReason reason;
    SenseKey key;
    uint8_t asc, ascq;
  };
  const Row rows[] = {
      {SenseReason::kInvalidFieldInCdb, SenseKey::kIllegalRequest, 0x24, 0x00},
      {SenseReason::kLbaOutOfRange, SenseKey::kIllegalRequest, 0x21, 0x00},
      {SenseReason::kLunNotSupported, SenseKey::kIllegalRequest, 0x25, 0x00},
      {SenseReason::kInvalidCommandOperationCode, SenseKey::kIllegalRequest, 0x20, 0x00},
      {SenseReason::kMediumNotPresent, SenseKey::kNotReady, 0x3a, 0x00},
      {SenseReason::kPowerOnReset, SenseKey::kUnitAttention, 0x29, 0x00},
      {SenseReason::kItNexusLoss, SenseKey::kUnitAttention, 0x29, 0x07},
      {SenseReason::kReportedLunsDataChanged, SenseKey::kUnitAttention, 0x3f, 0x0e},
      {SenseReason::kWriteProtected, SenseKey::kDataProtect, 0x27, 0x00},
      {SenseReason::kMiscompareDuringVerify, SenseKey::kMiscompare, 0x1d, 0x00},
      {SenseReason::kMediumRemovalPrevented, SenseKey::kIllegalRequest, 0x53, 0x02},
  };
  for (const Row& r : rows) {
    const SenseCode c = sense_code(r.reason);
    EXPECT_EQ(c.key, r.key);
    EXPECT_EQ(c.asc, r.asc);
    EXPECT_EQ(c.ascq, r.ascq);
  }
}

TEST(SenseEncoding, FixedWithFieldPointer) {
  std::array<uint8_t, 96> out{};
  const SenseDetail d{.field = FieldPointer{.cdb = true, .byte = 7, .bit = 3}};
  ASSERT_EQ(encode_sense(SenseFormat::kFixed, SenseReason::kInvalidFieldInCdb, d, out), 18u);
  EXPECT_EQ(out[0], 0x70);
  EXPECT_EQ(out[2], 0x05);
  EXPECT_EQ(out[7], 10);
  EXPECT_EQ(out[12], 0x24);
  EXPECT_EQ(out[15], 0x80 | 0x40 | 0x08 | 3);
  EXPECT_EQ(base::load_be16(&out[16]), 7);
}

TEST(SenseEncoding, FixedWithInformation) {
  std::array<uint8_t, 96> out{};
  encode_sense(SenseFormat::kFixed, SenseReason::kMiscompareDuringVerify,
               {.information = 0x1234}, out);
  EXPECT_EQ(out[0], 0xf0);  // VALID
  EXPECT_EQ(base::load_be32(&out[3]), 0x1234u);
  EXPECT_EQ(out[15], 0);  // no SKSV
  encode_sense(SenseFormat::kFixed, SenseReason::kReadError, {.information = 1ull << 40}, out);
  EXPECT_EQ(out[0], 0x70);  // does not fit: VALID clear
}

TEST(SenseEncoding, ParameterListPointerWithoutBit) {
  std::array<uint8_t, 96> out{};
  encode_sense(SenseFormat::kFixed, SenseReason::kInvalidFieldInParameterList,
               {.field = FieldPointer{.cdb = false, .byte = 300}}, out);
  EXPECT_EQ(out[15], 0x80);
  EXPECT_EQ(base::load_be16(&out[16]), 300);
}

TEST(SenseEncoding, Descriptor) {
  std::array<uint8_t, 96> out{};
  const SenseDetail d{.field = FieldPointer{.cdb = true, .byte = 2, .bit = std::nullopt},
                      .information = 0x1122334455ull};
  const size_t n = encode_sense(SenseFormat::kDescriptor, SenseReason::kInvalidFieldInCdb, d, out);
  ASSERT_EQ(n, 8u + 12 + 8);
  EXPECT_EQ(out[0], 0x72);
  EXPECT_EQ(out[1], 0x05);
  EXPECT_EQ(out[2], 0x24);
  EXPECT_EQ(out[7], n - 8);
  EXPECT_EQ(out[8], 0x00);
  EXPECT_EQ(out[9], 0x0a);
  EXPECT_EQ(out[10], 0x80);
  EXPECT_EQ(base::load_be64(&out[12]), 0x1122334455ull);
  EXPECT_EQ(out[20], 0x02);
  EXPECT_EQ(out[21], 0x06);
  EXPECT_EQ(out[24], 0xc0);
  EXPECT_EQ(base::load_be16(&out[25]), 2);
}

TEST(SenseEncoding, DescriptorBare) {
  std::array<uint8_t, 96> out{};
  EXPECT_EQ(encode_sense(SenseFormat::kDescriptor, SenseReason::kPowerOnReset, {}, out), 8u);
  EXPECT_EQ(out[7], 0);
}

TEST(SenseEncoding, TooSmallBuffer) {
  std::array<uint8_t, 10> out{};
  EXPECT_EQ(encode_sense(SenseFormat::kFixed, SenseReason::kInvalidOpcode, {}, out), 0u);
}

}  // namespace
}  // namespace stgt::scsi
