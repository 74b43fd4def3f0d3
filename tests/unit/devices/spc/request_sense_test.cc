#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

TEST(RequestSense, ReturnsAndClearsUnitAttention) {
  Harness h;
  h.nexus->queue_unit_attention(0, scsi::SenseReason::kCapacityDataChanged);
  auto c = h.run(Bytes{0x03, 0, 0, 0, 252, 0}, 252);
  ASSERT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  ASSERT_EQ(d.size(), 18u);
  EXPECT_EQ(d[2], 0x6);
  EXPECT_EQ(d[12], 0x2a);
  EXPECT_EQ(d[13], 0x09);
  EXPECT_FALSE(h.nexus->has_unit_attention(0));
  EXPECT_EQ(h.run(Bytes{0, 0, 0, 0, 0, 0})->status, scsi::Status::kGood);
}

TEST(RequestSense, NoSenseDescriptorFormat) {
  Harness h;
  const Bytes d = test::data_in(*h.run(Bytes{0x03, 1, 0, 0, 252, 0}, 252));
  ASSERT_EQ(d.size(), 8u);
  EXPECT_EQ(d[0], 0x72);
  EXPECT_EQ(d[1], 0x0);
}

TEST(TestUnitReady, Good) {
  Harness h;
  EXPECT_EQ(h.run(Bytes{0, 0, 0, 0, 0, 0})->status, scsi::Status::kGood);
}

}  // namespace
}  // namespace stgt::devices
