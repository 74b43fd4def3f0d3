#include "base/sealed_text.h"

#include <gtest/gtest.h>

namespace stgt::base {
namespace {

TEST(SealedTextTest, RoundTripsAndReadsFields) {
  const std::string image = seal("hello 1\nname value with spaces\n");
  EXPECT_EQ(image.rfind("hello 1\nname value with spaces\ncrc32c ", 0), 0u);
  auto body = unseal(image);
  ASSERT_TRUE(body.ok()) << body.error();
  std::string_view b = *body;
  std::string_view v;
  ASSERT_TRUE(take_field(b, "hello", v));
  EXPECT_EQ(v, "1");
  ASSERT_TRUE(take_field(b, "name", v));
  EXPECT_EQ(v, "value with spaces");
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(take_field(b, "name", v));
}

TEST(SealedTextTest, TakeFieldWantsTheKeyASpaceAndAValue) {
  for (const std::string_view line : {"other 1\n", "name\n", "names 1\n", "name 1"}) {
    std::string_view b = line;
    std::string_view v;
    EXPECT_FALSE(take_field(b, "name", v)) << line;
  }
}

TEST(SealedTextTest, EveryDamageIsNamed) {
  const std::string image = seal("state running\n");
  for (size_t n = 0; n < image.size(); ++n) {
    EXPECT_FALSE(unseal(image.substr(0, n)).ok()) << n;
  }
  for (size_t at = 0; at < image.size(); ++at) {
    std::string bad = image;
    bad[at] ^= 0x01;
    EXPECT_FALSE(unseal(bad).ok()) << at;
  }
  EXPECT_EQ(unseal("state running\n").error(), "no crc32c line");
  EXPECT_EQ(unseal("x\ncrc32c 1234\n").error(), "malformed crc32c line");
  EXPECT_EQ(unseal("x\ncrc32c zzzzzzzz\n").error(), "malformed crc32c line");
  EXPECT_EQ(unseal("x\ncrc32c 00000000\n").error(), "checksum mismatch");
}

}  // namespace
}  // namespace stgt::base
