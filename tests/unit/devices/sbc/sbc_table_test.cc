#include <gtest/gtest.h>

#include "devices/device_type.h"
#include "table_check.h"

namespace stgt::devices {
namespace {

TEST(SbcTable, Consistent) { test::check_table(*sbc_device_type().opcodes); }

TEST(SbcTable, UaExemptionsPerSpc) {
  const auto& t = *sbc_device_type().opcodes;
  for (int op = 0; op < 256; ++op) {
    const bool exempt = op == 0x12 || op == 0xa0 || op == 0x03;
    EXPECT_EQ(t[op].allowed_with_ua, exempt) << op;
  }
}

TEST(SbcTable, MediumCommandsNeedMedium) {
  const auto& t = *sbc_device_type().opcodes;
  for (const int op :
       {0x00, 0x25, 0x28, 0x2a, 0x2f, 0x35, 0x41, 0x42, 0x88, 0x89, 0x8b, 0x93, 0x9e}) {
    EXPECT_FALSE(t[op].allowed_without_medium) << op;
  }
  for (const int op : {0x12, 0x1b, 0x1a, 0xa0}) EXPECT_TRUE(t[op].allowed_without_medium) << op;
}

}  // namespace
}  // namespace stgt::devices
