#include "devices/sbc/copy_params.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "../../../common/copy_lists.h"
#include "base/byte_order.h"

namespace stgt::devices::sbc {
namespace {

using Bytes = std::vector<uint8_t>;
using scsi::SenseReason;

constexpr uint64_t kNaa = 0x6001405abcdef012ull;

Bytes cscd(uint64_t naa, uint32_t block_length = 512, uint8_t type = kCscdIdentification,
           uint8_t designator_type = 0x3) {
  return test::copy::cscd(naa, block_length, type, designator_type);
}
using test::copy::b2b;

struct ListBuilder {
  uint8_t list_id = 1;
  uint8_t usage = 0;
  std::vector<Bytes> targets;
  std::vector<Bytes> segments;
  uint32_t inline_length = 0;

  Bytes build() const { return test::copy::list(targets, segments, list_id, usage, inline_length); }
};

ListBuilder simple() {
  ListBuilder b;
  b.targets.push_back(cscd(kNaa));
  b.segments.push_back(b2b(0, 0, 2048, 0, 4096));
  return b;
}

TEST(CopyParams, DecodesOneTargetAndOneSegment) {
  const Bytes list = simple().build();
  const auto r = parse_copy_list(list);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->list_id, 1);
  EXPECT_EQ(r->usage, ListIdUsage::kHold);
  ASSERT_EQ(r->targets.size(), 1u);
  EXPECT_EQ(r->targets[0].naa, kNaa);
  EXPECT_EQ(r->targets[0].block_length, 512u);
  EXPECT_EQ(r->targets[0].offset, 16);
  ASSERT_EQ(r->segments.size(), 1u);
  EXPECT_EQ(r->segments[0].blocks, 2048);
  EXPECT_EQ(r->segments[0].source_lba, 0u);
  EXPECT_EQ(r->segments[0].destination_lba, 4096u);
  EXPECT_EQ(r->segments[0].offset, 48);
}

TEST(CopyParams, ANonNaaDesignatorLeavesTheTargetUnnamed) {
  ListBuilder b = simple();
  b.targets[0] = cscd(kNaa, 512, kCscdIdentification, 0x1);  // T10 vendor ID
  const auto r = parse_copy_list(b.build());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->targets[0].naa.has_value());
}

struct BadCase {
  const char* name;
  Bytes list;
  SenseReason reason;
  int byte;  // -1: no field pointer
};

std::vector<BadCase> bad_cases() {
  std::vector<BadCase> cases;
  const Bytes good = simple().build();
  cases.push_back({"shorter than the header", Bytes(good.begin(), good.begin() + 15),
                   SenseReason::kParameterListLengthError, -1});
  cases.push_back({"truncated target descriptor", Bytes(good.begin(), good.begin() + 47),
                   SenseReason::kParameterListLengthError, -1});
  cases.push_back({"truncated segment descriptor", Bytes(good.begin(), good.end() - 1),
                   SenseReason::kParameterListLengthError, -1});
  {
    ListBuilder b = simple();
    b.usage = 1;  // reserved
    cases.push_back({"reserved list id usage", b.build(),
                     SenseReason::kInvalidFieldInParameterList, 1});
  }
  {
    ListBuilder b = simple();
    b.usage = 3;  // no list identifier: LIST IDENTIFIER must be zero
    cases.push_back({"usage 11b with a list id", b.build(),
                     SenseReason::kInvalidFieldInParameterList, 0});
  }
  {
    ListBuilder b = simple();
    b.inline_length = 4;
    cases.push_back({"inline data", b.build(), SenseReason::kInvalidFieldInParameterList, 12});
  }
  {
    ListBuilder b = simple();
    b.targets.assign(kMaxCscdDescriptors + 1, cscd(kNaa));
    cases.push_back({"too many targets", b.build(), SenseReason::kTooManyTargetDescriptors, -1});
  }
  {
    ListBuilder b = simple();
    b.segments.assign(kMaxSegmentDescriptors + 1, b2b(0, 0, 1, 0, 1));
    cases.push_back({"too many segments", b.build(), SenseReason::kTooManySegmentDescriptors,
                     -1});
  }
  {
    ListBuilder b = simple();
    b.targets.assign(kMaxCscdDescriptors + 1, cscd(kNaa));
    b.segments.assign(kMaxDescriptorListLength / 28, b2b(0, 0, 1, 0, 1));
    cases.push_back({"descriptor lists past the maximum length", b.build(),
                     SenseReason::kParameterListLengthError, -1});
  }
  {
    ListBuilder b = simple();
    b.targets[0] = cscd(kNaa, 512, 0xe0);  // Fibre Channel N_Port_Name
    cases.push_back({"unsupported target type", b.build(),
                     SenseReason::kUnsupportedTargetDescriptorType, 16});
  }
  {
    ListBuilder b = simple();
    b.segments[0] = test::copy::stream_segment();
    cases.push_back({"unsupported segment type", b.build(),
                     SenseReason::kUnsupportedSegmentDescriptorType, 48});
  }
  {
    ListBuilder b = simple();
    base::store_be16(&b.segments[0][2], 0x14);
    b.segments[0].resize(24);
    cases.push_back({"block segment of the wrong length", b.build(),
                     SenseReason::kInvalidFieldInParameterList, 50});
  }
  {
    ListBuilder b = simple();
    b.segments[0] = b2b(0, 1, 16, 0, 0);
    cases.push_back({"destination index past the list", b.build(),
                     SenseReason::kCopyTargetNotReachable, 54});
  }
  {
    ListBuilder b = simple();
    b.segments[0] = b2b(2, 0, 16, 0, 0);
    cases.push_back({"source index past the list", b.build(),
                     SenseReason::kCopyTargetNotReachable, 52});
  }
  return cases;
}

TEST(CopyParams, BadListsGetTheirSense) {
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    const auto r = parse_copy_list(c.list);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().reason, c.reason);
    if (c.byte < 0) {
      EXPECT_FALSE(r.error().byte.has_value());
    } else {
      EXPECT_EQ(r.error().byte, uint16_t(c.byte));
    }
  }
}

TEST(CopyParams, UpToTheLimitsIsAccepted) {
  ListBuilder b;
  b.targets.assign(kMaxCscdDescriptors, cscd(kNaa));
  b.segments.assign(kMaxSegmentDescriptors, b2b(0, kMaxCscdDescriptors - 1, 1, 0, 1));
  const auto r = parse_copy_list(b.build());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->targets.size(), kMaxCscdDescriptors);
  EXPECT_EQ(r->segments.size(), kMaxSegmentDescriptors);
}

TEST(CopyParams, NoSegmentsIsAnEmptyCopy) {
  ListBuilder b = simple();
  b.segments.clear();
  const auto r = parse_copy_list(b.build());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->segments.empty());
}

}  // namespace
}  // namespace stgt::devices::sbc
