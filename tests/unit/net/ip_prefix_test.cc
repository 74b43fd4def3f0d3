#include "net/ip_prefix.h"

#include <gtest/gtest.h>

namespace stgt::net {
namespace {

IpPrefix p(const char* text) {
  auto r = IpPrefix::parse(text);
  EXPECT_TRUE(r) << text << ": " << (r ? "" : r.error());
  return r ? *r : IpPrefix{};
}

TEST(IpPrefix, Ipv4Blocks) {
  const IpPrefix net = p("10.1.0.0/16");
  EXPECT_TRUE(net.contains("10.1.0.1"));
  EXPECT_TRUE(net.contains("10.1.255.255"));
  EXPECT_FALSE(net.contains("10.2.0.1"));
  EXPECT_FALSE(net.contains("fd00::1"));
  EXPECT_FALSE(net.contains("not-an-address"));
  EXPECT_TRUE(net.contains("::ffff:10.1.2.3"));  // IPv4-mapped
  EXPECT_EQ(net.to_string(), "10.1.0.0/16");
  const IpPrefix host = p("192.0.2.7");
  EXPECT_TRUE(host.contains("192.0.2.7"));
  EXPECT_FALSE(host.contains("192.0.2.8"));
  EXPECT_TRUE(p("0.0.0.0/0").contains("203.0.113.9"));
  EXPECT_TRUE(p("10.0.0.128/25").contains("10.0.0.200"));
  EXPECT_FALSE(p("10.0.0.128/25").contains("10.0.0.100"));
}

TEST(IpPrefix, Ipv6Blocks) {
  const IpPrefix net = p("fd00:1::/32");
  EXPECT_TRUE(net.contains("fd00:1::5"));
  EXPECT_TRUE(net.contains("[fd00:1:ffff::1]"));
  EXPECT_FALSE(net.contains("fd00:2::1"));
  EXPECT_FALSE(net.contains("10.0.0.1"));
  EXPECT_TRUE(p("::1").contains("::1"));
  EXPECT_TRUE(p("[::1]").contains("0:0::1"));
  EXPECT_EQ(p("fd00::/64").to_string(), "fd00::/64");
}

TEST(IpPrefix, RefusesWhatIsNotAPrefix) {
  for (const char* bad : {"", "10.0.0", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/x",
                          "host.example", "10.0.0.1/24", "fd00::1/64"}) {
    EXPECT_FALSE(IpPrefix::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace stgt::net
