#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes report_luns(uint8_t select, uint32_t alloc) {
  Bytes c(12, 0);
  c[0] = 0xa0;
  c[2] = select;
  base::store_be32(&c[6], alloc);
  return c;
}

TEST(ReportLuns, ListsConfiguredLuns) {
  Harness h;
  h.target->add_lun(300, make_disk(std::make_unique<test::MemoryStore>(4096),
                                   identity_for("t", 300), {}));
  auto c = h.run(report_luns(0, 4096), 4096);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  ASSERT_EQ(d.size(), 24u);
  EXPECT_EQ(base::load_be32(&d[0]), 16u);
  EXPECT_EQ(base::load_be64(&d[8]), 0u);
  EXPECT_EQ(base::load_be64(&d[16]), scsi::encode_lun(300));
  EXPECT_EQ(d[16], 0x41);  // flat space addressing
  EXPECT_EQ(h.run(report_luns(2, 4096), 4096)->in_length, 24u);
}

TEST(ReportLuns, SelectReportValues) {
  Harness h;
  for (const uint8_t s : {0x01, 0x10, 0x11, 0x12}) {
    auto c = h.run(report_luns(s, 16), 16);
    EXPECT_EQ(c->status, scsi::Status::kGood);
    EXPECT_EQ(test::data_in(*c), Bytes(8, 0));
  }
  auto bad = h.run(report_luns(0x03, 16), 16);
  EXPECT_EQ(base::load_be16(&bad->sense[16]), 2);
}

TEST(ReportLuns, AllocationLengthBelowSixteen) {
  Harness h;
  auto c = h.run(report_luns(0, 15), 15);
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 6);
}

TEST(ReportLuns, WorksAtUnmappedLunAndShowsController) {
  Harness h;
  auto t = std::make_shared<scsi::Target>("iqn.x:t", "");
  t->set_controller(make_controller(identity_for("iqn.x:t", 0)));
  t->add_lun(1, h.disk);
  h.target = t;
  h.nexus = std::make_unique<scsi::ItNexus>(t, "i", "i,i,0x1", scsi::TargetPort{});
  auto c = h.run(report_luns(0, 64), 64, {}, 7);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  EXPECT_EQ(base::load_be32(&d[0]), 16u);  // controller LUN 0 and LUN 1
  EXPECT_EQ(base::load_be64(&d[16]), scsi::encode_lun(1));
}

}  // namespace
}  // namespace stgt::devices
