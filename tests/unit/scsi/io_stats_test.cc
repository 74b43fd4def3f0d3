#include "scsi/io_stats.h"

#include <gtest/gtest.h>

namespace stgt::scsi {
namespace {

TEST(IoStats, OpcodesAreClassified) {
  struct Case {
    uint8_t opcode;
    IoClass expected;
  };
  const Case cases[] = {{0x28, IoClass::kRead},  {0x88, IoClass::kRead},  {0x08, IoClass::kRead},
                        {0x2a, IoClass::kWrite}, {0x8a, IoClass::kWrite}, {0x89, IoClass::kWrite},
                        {0x93, IoClass::kWrite}, {0x00, IoClass::kOther}, {0x12, IoClass::kOther},
                        {0x25, IoClass::kOther}, {0x35, IoClass::kOther}, {0x7f, IoClass::kOther}};
  for (const Case& c : cases)
    EXPECT_EQ(io_class(c.opcode), c.expected) << int(c.opcode);
}

TEST(IoStats, LatencyBucketsAreLog2Microseconds) {
  EXPECT_EQ(latency_bucket(0), 0u);  // < 1 µs
  EXPECT_EQ(latency_bucket(1), 1u);  // [1, 2)
  EXPECT_EQ(latency_bucket(2), 2u);  // [2, 4)
  EXPECT_EQ(latency_bucket(3), 2u);
  EXPECT_EQ(latency_bucket(4), 3u);
  EXPECT_EQ(latency_bucket(1000), 10u);  // [512, 1024)
  EXPECT_EQ(latency_bucket(1024), 11u);
  EXPECT_EQ(latency_bucket(uint64_t{1} << 24), kLatencyBuckets - 1);
  EXPECT_EQ(latency_bucket(UINT64_MAX), kLatencyBuckets - 1);
  // Every value is below its bucket's bound (the last bucket has none).
  for (const uint64_t us : {0ull, 1ull, 7ull, 100ull, 65535ull, 9999999ull}) {
    const size_t b = latency_bucket(us);
    ASSERT_LT(b, kLatencyBuckets - 1);
    EXPECT_LT(us, latency_bucket_bound_us(b));
    if (b > 0) {
      EXPECT_GE(us, latency_bucket_bound_us(b - 1));
    }
  }
}

TEST(IoStats, CompletionsAddUp) {
  IoStats s;
  add_completion(s, {IoClass::kRead, 4096, false, true, 10});
  add_completion(s, {IoClass::kWrite, 512, false, true, 300});
  add_completion(s, {IoClass::kOther, 0, true, false, 0});
  EXPECT_EQ(s.read_commands, 1u);
  EXPECT_EQ(s.write_commands, 1u);
  EXPECT_EQ(s.other_commands, 1u);
  EXPECT_EQ(s.commands(), 3u);
  EXPECT_EQ(s.read_bytes, 4096u);
  EXPECT_EQ(s.written_bytes, 512u);
  EXPECT_EQ(s.check_conditions, 1u);
  EXPECT_EQ(s.latency_sum_us, 310u);
  EXPECT_EQ(s.latency_count(), 2u);  // the untimed one is not in the histogram
  EXPECT_EQ(s.latency[latency_bucket(10)], 1u);
  EXPECT_EQ(s.latency[latency_bucket(300)], 1u);
  IoStats twice = s;
  twice += s;
  EXPECT_EQ(twice.read_bytes, 8192u);
  EXPECT_EQ(twice.latency_count(), 4u);
}

TEST(LuStats, ShardsAreSummedOnRead) {
  LuStats lu(3);
  lu.record(0, {IoClass::kRead, 100, false, true, 5});
  lu.record(1, {IoClass::kRead, 200, false, true, 5});
  lu.record(2, {IoClass::kWrite, 50, true, true, 2000});
  lu.record(7, {IoClass::kOther, 0, false, false, 0});  // wraps onto shard 1
  lu.count_abort(2);
  const IoStats t = lu.total();
  EXPECT_EQ(t.read_commands, 2u);
  EXPECT_EQ(t.read_bytes, 300u);
  EXPECT_EQ(t.write_commands, 1u);
  EXPECT_EQ(t.written_bytes, 50u);
  EXPECT_EQ(t.other_commands, 1u);
  EXPECT_EQ(t.check_conditions, 1u);
  EXPECT_EQ(t.aborts, 1u);
  EXPECT_EQ(t.latency_count(), 3u);
  EXPECT_EQ(t.latency_sum_us, 2010u);
  EXPECT_EQ(t.latency[latency_bucket(5)], 2u);
}

}  // namespace
}  // namespace stgt::scsi
