#include "scsi/target.h"

#include <gtest/gtest.h>

#include "fakes.h"
#include "scsi/lun.h"

namespace stgt::scsi {
namespace {

std::shared_ptr<LogicalUnit> lu() {
  return std::make_shared<LogicalUnit>(test::kFakeType, nullptr, LuIdentity{}, LuSettings{});
}

TEST(Target, LookupAndController) {
  Target t("iqn.x", "");
  auto a = lu();
  auto ctl = lu();
  t.add_lun(3, a);
  EXPECT_EQ(t.lookup(3), a.get());
  EXPECT_EQ(t.lookup(0), nullptr);
  t.set_controller(ctl);
  EXPECT_EQ(t.lookup(0), ctl.get());
  EXPECT_EQ(t.lun_numbers(), std::vector<uint32_t>{3});
  EXPECT_EQ(t.lun_numbers(true), (std::vector<uint32_t>{0, 3}));
  auto zero = lu();
  t.add_lun(0, zero);
  EXPECT_EQ(t.lookup(0), zero.get());
  EXPECT_EQ(t.lun_numbers(true), (std::vector<uint32_t>{0, 3}));
  t.add_lun(kMaxLun + 1, lu());
  EXPECT_EQ(t.lookup(kMaxLun + 1), nullptr);
}

TEST(Target, Admits) {
  Target t("iqn.x", "");
  EXPECT_FALSE(t.admits("iqn.a"));
  t.allow_initiator("iqn.a");
  EXPECT_TRUE(t.admits("iqn.a"));
  EXPECT_FALSE(t.admits("iqn.b"));
  t.allow_initiator("ALL");
  EXPECT_TRUE(t.admits("iqn.b"));
}

}  // namespace
}  // namespace stgt::scsi
