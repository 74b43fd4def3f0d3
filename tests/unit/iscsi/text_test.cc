#include "transport/iscsi/text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stgt::iscsi {
namespace {

std::vector<uint8_t> bytes(std::string_view s) {
  return {s.begin(), s.end()};
}

TEST(TextParse, EmptyTextHasNoPairs) {
  auto r = parse_text({});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
}

TEST(TextParse, PairsKeepOrderAndDuplicates) {
  const auto data = bytes(std::string("B=2\0A=1\0B=3\0", 12));
  auto r = parse_text(data);
  ASSERT_TRUE(r.ok());
  const std::vector<KeyValue> want = {{"B", "2"}, {"A", "1"}, {"B", "3"}};
  EXPECT_EQ(*r, want);
}

TEST(TextParse, LastPairWithoutNulIsTolerated) {
  const auto data = bytes(std::string("A=1\0B=two", 9));
  auto r = parse_text(data);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1], (KeyValue{"B", "two"}));
}

TEST(TextParse, TrailingPaddingIsIgnored) {
  const auto data = bytes(std::string("A=1\0\0\0\0", 7));
  auto r = parse_text(data);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1u);
}

TEST(TextParse, EmptyValueAndEqualsInValue) {
  const auto data = bytes(std::string("SendTargets=\0X-a.b=c=d\0", 23));
  auto r = parse_text(data);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].value, "");
  EXPECT_EQ((*r)[1], (KeyValue{"X-a.b", "c=d"}));
}

struct BadText {
  const char* name;
  std::string text;
  TextError error;
};

class TextParseError : public testing::TestWithParam<BadText> {};

TEST_P(TextParseError, IsRejected) {
  const auto data = bytes(GetParam().text);
  auto r = parse_text(data);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), GetParam().error) << to_string(r.error());
}

INSTANTIATE_TEST_SUITE_P(
    Cases, TextParseError,
    testing::Values(
        BadText{"MissingEquals", std::string("A=1\0Junk\0", 9), TextError::kMissingEquals},
        BadText{"EmptyKey", std::string("=1\0", 3), TextError::kEmptyKey},
        BadText{"KeyTooLong", std::string(64, 'K') + "=1", TextError::kKeyTooLong},
        BadText{"KeyBadChar", "Key Name=1", TextError::kBadKeyCharacter},
        BadText{"KeyStartsWithDigit", "1Key=1", TextError::kBadKeyCharacter},
        BadText{"ValueControlChar", "Key=a\x01z", TextError::kBadValueCharacter},
        BadText{"ValueTooLong", "Key=" + std::string(8193, 'v'), TextError::kValueTooLong},
        BadText{"EmptyPairInMiddle", std::string("A=1\0\0B=2\0", 9), TextError::kEmptyPair}),
    [](const testing::TestParamInfo<BadText>& i) { return std::string(i.param.name); });

TEST(TextParse, LimitsAreExact) {
  // 63-byte key and 8192-byte value are fine.
  const auto ok = bytes(std::string(63, 'K') + "=" + std::string(8192, 'v'));
  EXPECT_TRUE(parse_text(ok).ok());
}

TEST(TextParse, AtMost256Pairs) {
  std::vector<uint8_t> data;
  for (int i = 0; i < 256; ++i)
    append_key(data, "X-k" + std::to_string(i), "v");
  EXPECT_TRUE(parse_text(data).ok());
  append_key(data, "X-one-more", "v");
  auto r = parse_text(data);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TextError::kTooManyPairs);
}

TEST(TextParse, CallerBoundOnWholeText) {
  std::vector<uint8_t> data;
  append_key(data, "A", std::string(100, 'x'));
  EXPECT_TRUE(parse_text(data, data.size()).ok());
  auto r = parse_text(data, data.size() - 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), TextError::kTooLong);
}

TEST(TextKeyName, ExtensionKeys) {
  EXPECT_TRUE(is_valid_key_name("X-com.example.Key_1"));
  EXPECT_TRUE(is_valid_key_name("X#NodeArchitecture"));
  EXPECT_TRUE(is_valid_key_name("CHAP_A"));
  EXPECT_FALSE(is_valid_key_name("A#B"));
  EXPECT_FALSE(is_valid_key_name(""));
}

TEST(TextEncode, RoundTrip) {
  const std::vector<KeyValue> pairs = {{"TargetName", "iqn.2024-01.org.example:t1"},
                                       {"MaxRecvDataSegmentLength", "262144"}};
  const auto data = encode_text(pairs);
  EXPECT_EQ(data.back(), 0);
  auto r = parse_text(data);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, pairs);
}

struct NumberCase {
  const char* text;
  std::optional<uint64_t> value;
};

class ParseNumber : public testing::TestWithParam<NumberCase> {};

TEST_P(ParseNumber, Decodes) {
  EXPECT_EQ(parse_number(GetParam().text), GetParam().value);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseNumber,
    testing::Values(NumberCase{"0", 0}, NumberCase{"8192", 8192},
                    NumberCase{"18446744073709551615", UINT64_MAX},
                    NumberCase{"18446744073709551616", std::nullopt},  // overflow
                    NumberCase{"0x2000", 8192}, NumberCase{"0X1f", 31},
                    NumberCase{"0xffffffffffffffff", UINT64_MAX},
                    NumberCase{"0x1ffffffffffffffff", std::nullopt},
                    NumberCase{"0bIAA=", 0x2000},  // base64 of 0x20 0x00
                    NumberCase{"0bAQ==", 1}, NumberCase{"0b", std::nullopt},
                    NumberCase{"0bA", std::nullopt}, NumberCase{"0x", std::nullopt},
                    NumberCase{"", std::nullopt}, NumberCase{"12a", std::nullopt},
                    NumberCase{"-1", std::nullopt}, NumberCase{" 1", std::nullopt}));

}  // namespace
}  // namespace stgt::iscsi
