#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes inquiry(bool evpd, uint8_t page, uint16_t alloc) {
  Bytes c{0x12, uint8_t(evpd ? 1 : 0), page, 0, 0, 0};
  base::store_be16(&c[3], alloc);
  return c;
}

TEST(Inquiry, StandardData) {
  Harness h(512, scsi::LuSettings{.removable = true});
  auto c = h.run(inquiry(false, 0, 260), 260);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  ASSERT_EQ(d.size(), 96u);
  EXPECT_EQ(d[0], 0x00);
  EXPECT_EQ(d[1], 0x80);  // RMB
  EXPECT_EQ(d[2], 0x06);
  EXPECT_EQ(d[3] & 0x0f, 2);
  EXPECT_EQ(d[3] & 0x10, 0x10);  // HISUP
  EXPECT_EQ(d[4], d.size() - 5);
  EXPECT_EQ(d[7] & 0x02, 0x02);  // CMDQUE
  EXPECT_EQ(std::string(d.begin() + 8, d.begin() + 16), "STGT    ");
  EXPECT_EQ(base::load_be16(&d[64]), 0x04c0);  // SBC-3 version descriptor
}

TEST(Inquiry, AllocationLengthTruncatesWithoutOverflow) {
  Harness h;
  for (const uint16_t alloc : {0, 1, 5, 36, 95}) {
    auto c = h.run(inquiry(false, 0, alloc), alloc);
    EXPECT_EQ(c->status, scsi::Status::kGood);
    EXPECT_EQ(c->in_length, alloc);
  }
}

TEST(Inquiry, PageCodeWithoutEvpd) {
  Harness h;
  auto c = h.run(inquiry(false, 0x80, 255), 255);
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 2);
}

TEST(Inquiry, UnknownVpdPage) {
  Harness h;
  EXPECT_EQ(test::sense_of(*h.run(inquiry(true, 0x99, 255), 255)).asc, 0x24);
}

TEST(Inquiry, ControllerType) {
  Harness h;
  auto t = std::make_shared<scsi::Target>("iqn.x:empty", "");
  t->set_controller(make_controller(identity_for("iqn.x:empty", 0)));
  h.target = t;
  h.nexus = std::make_unique<scsi::ItNexus>(t, "i", "i,i,0x1", scsi::TargetPort{});
  h.nexus->pop_unit_attention(0);
  auto c = h.run(inquiry(false, 0, 96), 96);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  EXPECT_EQ(test::data_in(*c)[0], 0x0c);
  auto vpd = h.run(inquiry(true, 0, 255), 255);
  EXPECT_EQ(test::data_in(*vpd), (Bytes{0x0c, 0x00, 0x00, 0x03, 0x00, 0x80, 0x83}));
}

}  // namespace
}  // namespace stgt::devices
