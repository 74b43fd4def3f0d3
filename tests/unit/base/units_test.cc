#include "base/units.h"

#include <gtest/gtest.h>

namespace stgt::base {
namespace {

TEST(UnitsTest, ParsesSizes) {
  struct Case {
    const char* text;
    uint64_t value;
  };
  const Case cases[] = {
      {"0", 0},
      {"512", 512},
      {"512B", 512},
      {"4K", 4096},
      {"4 KiB", 4096},
      {"4kib", 4096},
      {"10KB", 10000},
      {"1MiB", 1 << 20},
      {"10MB", 10'000'000},
      {"1GiB", 1ull << 30},
      {"2G", 2ull << 30},
      {"3GB", 3'000'000'000},
      {"1TiB", 1ull << 40},
      {"1TB", 1'000'000'000'000},
      {"  7 M  ", 7ull << 20},
      {"18446744073709551615", UINT64_MAX},
      {"16777215TiB", 16777215ull << 40},
  };
  for (const Case& c : cases) {
    const auto v = parse_size(c.text);
    ASSERT_TRUE(v.has_value()) << c.text;
    EXPECT_EQ(*v, c.value) << c.text;
  }
}

TEST(UnitsTest, RejectsBadSizes) {
  const char* cases[] = {
      "",
      "   ",
      "GiB",
      "-1",
      "1.5G",
      "1 G B",
      "1X",
      "1PiB",
      "0x10",
      "1GiBx",
      "18446744073709551616",
      "16777216TiB",
      "1 2",
  };
  for (const char* text : cases)
    EXPECT_FALSE(parse_size(text).has_value()) << text;
}

}  // namespace
}  // namespace stgt::base
