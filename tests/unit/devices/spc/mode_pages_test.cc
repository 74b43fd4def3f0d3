#include "devices/spc/mode_pages.h"

#include <gtest/gtest.h>

#include <array>

#include "harness.h"

namespace stgt::devices::spc {
namespace {

TEST(ModePages, LengthsAndCodes) {
  test::Harness h;
  uint8_t prev = 0;
  for (const ModePage& p : mode_pages()) {
    for (const PageControl pc : {PageControl::kCurrent, PageControl::kChangeable,
                                 PageControl::kDefault}) {
      std::array<uint8_t, 64> buf{};
      EXPECT_EQ(p.build(*h.disk, pc, buf.data()), p.length);
      EXPECT_EQ(buf[0], p.code);
      EXPECT_EQ(buf[1], p.length - 2);
    }
    EXPECT_GT(p.code, prev);
    prev = p.code;
  }
  EXPECT_EQ(find_mode_page(0x0a)->code, 0x0a);
  EXPECT_EQ(find_mode_page(0x02), nullptr);
}

TEST(ModePages, ApplyChangeableFields) {
  test::Harness h;
  std::array<uint8_t, 64> control{};
  control_page(*h.disk, PageControl::kCurrent, control.data());
  control[2] |= 0x04;
  control[4] |= 0x08;
  apply_mode_page(*h.disk, control.data());
  EXPECT_TRUE(h.disk->d_sense());
  EXPECT_TRUE(h.disk->swp());
  std::array<uint8_t, 64> caching{};
  caching_page(*h.disk, PageControl::kCurrent, caching.data());
  EXPECT_EQ(caching[2] & 0x04, 0x04);
  caching[2] = 0;
  apply_mode_page(*h.disk, caching.data());
  EXPECT_FALSE(h.disk->wce());
}

// SPC-5 7.5.10: one task set per I_T nexus (TST 001b), unrestricted reordering of SIMPLE
// commands (QAM 1), QERR 00b fixed, TAS 1 by default and changeable.
TEST(ModePages, ControlPageTaskSetFields) {
  test::Harness h;
  std::array<uint8_t, 64> current{};
  control_page(*h.disk, PageControl::kCurrent, current.data());
  EXPECT_EQ(current[2] >> 5, 0x1);
  EXPECT_EQ(current[3] >> 4, 0x1);
  EXPECT_EQ(current[3] & 0x06, 0x00);
  EXPECT_EQ(current[5] & 0x40, 0x40);
  std::array<uint8_t, 64> changeable{};
  control_page(*h.disk, PageControl::kChangeable, changeable.data());
  EXPECT_EQ(changeable[2] & 0xe0, 0x00);
  EXPECT_EQ(changeable[3], 0x00);
  EXPECT_EQ(changeable[5], 0x40);
  current[5] &= uint8_t(~0x40);
  apply_mode_page(*h.disk, current.data());
  EXPECT_FALSE(h.disk->tas());
  std::array<uint8_t, 64> defaults{};
  control_page(*h.disk, PageControl::kDefault, defaults.data());
  EXPECT_EQ(defaults[5] & 0x40, 0x40);
}

}  // namespace
}  // namespace stgt::devices::spc
