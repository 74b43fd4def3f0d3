#include "config/portal_address.h"

#include <gtest/gtest.h>

namespace stgt::config {
namespace {

struct GoodAddress {
  const char* input;
  const char* host;
  uint16_t port;
  bool ipv6;
  const char* text;
};

class GoodAddressTest : public testing::TestWithParam<GoodAddress> {};

TEST_P(GoodAddressTest, Parses) {
  const GoodAddress& c = GetParam();
  const auto result = parse_portal_address(c.input);
  ASSERT_TRUE(result.ok()) << result.error();
  EXPECT_EQ(result->host, c.host);
  EXPECT_EQ(result->port, c.port);
  EXPECT_EQ(result->ipv6, c.ipv6);
  EXPECT_EQ(result->to_string(), c.text);
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, GoodAddressTest,
    testing::Values(GoodAddress{"127.0.0.1:3260", "127.0.0.1", 3260, false, "127.0.0.1:3260"},
                    GoodAddress{"0.0.0.0:1", "0.0.0.0", 1, false, "0.0.0.0:1"},
                    GoodAddress{"10.1.2.3", "10.1.2.3", 3260, false, "10.1.2.3:3260"},
                    GoodAddress{"[::1]:3260", "::1", 3260, true, "[::1]:3260"},
                    GoodAddress{"[::]:65535", "::", 65535, true, "[::]:65535"},
                    GoodAddress{"[0:0::1]", "::1", 3260, true, "[::1]:3260"},
                    GoodAddress{"[FE80::1]:860", "fe80::1", 860, true, "[fe80::1]:860"}));

struct BadAddress {
  const char* input;
  const char* message_part;
};

class BadAddressTest : public testing::TestWithParam<BadAddress> {};

TEST_P(BadAddressTest, Rejects) {
  const auto result = parse_portal_address(GetParam().input);
  ASSERT_FALSE(result.ok()) << GetParam().input;
  EXPECT_NE(result.error().find(GetParam().message_part), std::string::npos) << result.error();
}

INSTANTIATE_TEST_SUITE_P(
    Addresses, BadAddressTest,
    testing::Values(BadAddress{"", "missing host"}, BadAddress{":3260", "missing host"},
                    BadAddress{"127.0.0.1:", "port"}, BadAddress{"127.0.0.1:0", "port"},
                    BadAddress{"127.0.0.1:65536", "port"}, BadAddress{"127.0.0.1:32a", "port"},
                    BadAddress{"127.0.0.1:-1", "port"}, BadAddress{"127.0.0.1:123456", "port"},
                    BadAddress{"256.0.0.1:3260", "IPv4"}, BadAddress{"localhost:3260", "IPv4"},
                    BadAddress{"::1:3260", "brackets"}, BadAddress{"[::1:3260", "']'"},
                    BadAddress{"[::1]3260", "':port'"}, BadAddress{"[::1]:", "port"},
                    BadAddress{"[127.0.0.1]:3260", "IPv6"}, BadAddress{"[]:3260", "missing"}));

}  // namespace
}  // namespace stgt::config
