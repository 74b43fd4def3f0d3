#include "config/iscsi_name.h"

#include <gtest/gtest.h>

namespace stgt::config {
namespace {

struct GoodName {
  const char* input;
  const char* normalised;
};

class GoodNameTest : public testing::TestWithParam<GoodName> {};

TEST_P(GoodNameTest, Normalises) {
  const auto result = normalize_iscsi_name(GetParam().input);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result.value(), GetParam().normalised);
}

INSTANTIATE_TEST_SUITE_P(
    Names, GoodNameTest,
    testing::Values(GoodName{"iqn.2026-11.org.example:disk1", "iqn.2026-11.org.example:disk1"},
                    GoodName{"IQN.2026-11.Org.Example:Disk1", "iqn.2026-11.org.example:disk1"},
                    GoodName{"iqn.1991-05.com.microsoft", "iqn.1991-05.com.microsoft"},
                    GoodName{"iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test",
                             "iqn.2007-10.com.github:sahlberg:libiscsi:iscsi-test"},
                    GoodName{"iqn.2001-04.com.example:storage.disk2.sys1.xyz",
                             "iqn.2001-04.com.example:storage.disk2.sys1.xyz"},
                    GoodName{"eui.02004567A425678D", "eui.02004567a425678d"},
                    GoodName{"naa.52004567BA64678D", "naa.52004567ba64678d"},
                    GoodName{"naa.62004567BA64678D0123456789ABCDEF",
                             "naa.62004567ba64678d0123456789abcdef"}));

struct BadName {
  const char* input;
  const char* message_part;
};

class BadNameTest : public testing::TestWithParam<BadName> {};

TEST_P(BadNameTest, Rejects) {
  const auto result = normalize_iscsi_name(GetParam().input);
  ASSERT_FALSE(result.ok()) << GetParam().input;
  EXPECT_NE(result.error().find(GetParam().message_part), std::string::npos) << result.error();
}

INSTANTIATE_TEST_SUITE_P(
    Names, BadNameTest,
    testing::Values(
        BadName{"", "empty"}, BadName{"disk1", "starts with"}, BadName{"iqn.", "date"},
        BadName{"iqn.2026-1.org.example", "date"}, BadName{"iqn.2026-13.org.example", "month"},
        BadName{"iqn.2026-00.org.example", "month"},
        BadName{"iqn.2026-11org.example", "followed by"}, BadName{"iqn.2026-11.", "domain"},
        BadName{"iqn.2026-11.:x", "domain"}, BadName{"iqn.2026-11.org..example", "empty label"},
        BadName{"iqn.2026-11.org.example:disk_1", "invalid character '_'"},
        BadName{"iqn.2026-11.org.example:disk 1", "invalid character ' '"},
        BadName{"iqn.2026-11.org.ex\xc3\xa4mple", "ASCII"},
        BadName{"eui.02004567A425678", "16 hex"}, BadName{"eui.02004567A425678G", "16 hex"},
        BadName{"naa.52004567BA64678D01", "16 or 32 hex"}));

TEST(IscsiNameTest, RejectsNamesLongerThan223Bytes) {
  std::string name = "iqn.2026-11.org.example:";
  name.resize(224, 'a');
  EXPECT_FALSE(normalize_iscsi_name(name).ok());
  name.resize(223);
  EXPECT_TRUE(normalize_iscsi_name(name).ok());
}

}  // namespace
}  // namespace stgt::config
