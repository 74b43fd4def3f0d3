#include <gtest/gtest.h>

#include "devices/device_type.h"
#include "table_check.h"

namespace stgt::devices {
namespace {

TEST(ControllerTable, Consistent) { test::check_table(*controller_device_type().opcodes); }

TEST(ControllerTable, OnlyDiscoveryCommands) {
  const auto& t = *controller_device_type().opcodes;
  EXPECT_NE(t[0x12].handler, nullptr);
  EXPECT_NE(t[0xa0].handler, nullptr);
  EXPECT_NE(t[0x00].handler, nullptr);
  EXPECT_NE(t[0x03].handler, nullptr);
  EXPECT_FALSE(t[0xa3].service_actions.empty());
  EXPECT_EQ(t[0x28].handler, nullptr);
  EXPECT_TRUE(t[0x12].allowed_with_ua);
  EXPECT_FALSE(t[0x00].allowed_with_ua);
}

}  // namespace
}  // namespace stgt::devices
