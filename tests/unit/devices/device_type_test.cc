#include "devices/device_type.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

TEST(IdentityFor, IsStableAndDistinct) {
  const scsi::LuIdentity a = identity_for("iqn.x:t", 1);
  const scsi::LuIdentity b = identity_for("iqn.x:t", 1);
  const scsi::LuIdentity c = identity_for("iqn.x:t", 2);
  const scsi::LuIdentity d = identity_for("iqn.x:u", 1);
  EXPECT_EQ(a.serial, b.serial);
  EXPECT_EQ(a.naa, b.naa);
  EXPECT_NE(a.serial, c.serial);
  EXPECT_NE(a.naa, d.naa);
  EXPECT_EQ(a.naa >> 60, 0x3u);  // NAA locally assigned
  EXPECT_EQ(a.serial.size(), 16u);
}

TEST(MakeDisk, GeometryFromStore) {
  auto lu = make_disk(std::make_unique<test::MemoryStore>(4096 * 10 + 100), identity_for("t", 0),
                      scsi::LuSettings{.block_size = 4096});
  EXPECT_EQ(lu->block_size(), 4096u);
  EXPECT_EQ(lu->num_blocks(), 10u);
  EXPECT_EQ(lu->type().peripheral_device_type, 0x00);
}

TEST(MakeDisk, OddBlockSizeFallsBackTo512) {
  auto lu = make_disk(std::make_unique<test::MemoryStore>(4096), identity_for("t", 0),
                      scsi::LuSettings{.block_size = 1000});
  EXPECT_EQ(lu->block_size(), 512u);
}

TEST(MakeController, HasNoStore) {
  auto lu = make_controller(identity_for("t", 0));
  EXPECT_EQ(lu->store(), nullptr);
  EXPECT_EQ(lu->num_blocks(), 0u);
  EXPECT_EQ(lu->type().peripheral_device_type, 0x0c);
}

}  // namespace
}  // namespace stgt::devices
