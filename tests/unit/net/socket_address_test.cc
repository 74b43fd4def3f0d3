#include "net/socket_address.h"

#include <arpa/inet.h>

#include <gtest/gtest.h>

namespace stgt::net {
namespace {

struct GoodCase {
  const char* text;
  int family;
  const char* printed;
};

TEST(SocketAddressTest, ParsesGoodAddresses) {
  const GoodCase cases[] = {
      {"127.0.0.1:3260", AF_INET, "127.0.0.1:3260"},
      {"0.0.0.0:3260", AF_INET, "0.0.0.0:3260"},
      {"10.1.2.3:0", AF_INET, "10.1.2.3:0"},
      {"192.168.0.1", AF_INET, "192.168.0.1:3260"},
      {"[::1]:3260", AF_INET6, "[::1]:3260"},
      {"[::]:3260", AF_INET6, "[::]:3260"},
      {"[fe80::1]:65535", AF_INET6, "[fe80::1]:65535"},
      {"[::1]", AF_INET6, "[::1]:3260"},
      {"::1", AF_INET6, "[::1]:3260"},
      {"2001:db8::7", AF_INET6, "[2001:db8::7]:3260"},
  };
  for (const GoodCase& c : cases) {
    auto a = SocketAddress::parse(c.text);
    ASSERT_TRUE(a.ok()) << c.text << ": " << a.error();
    EXPECT_EQ(a->family(), c.family) << c.text;
    EXPECT_EQ(a->to_string(), c.printed) << c.text;
    // Printing and parsing again gives the same address.
    auto again = SocketAddress::parse(a->to_string());
    ASSERT_TRUE(again.ok()) << c.printed;
    EXPECT_EQ(*again, *a);
  }
}

TEST(SocketAddressTest, DefaultPortApplies) {
  auto a = SocketAddress::parse("127.0.0.1", 860);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port(), 860);
  EXPECT_EQ(a->host(), "127.0.0.1");
  EXPECT_EQ(a->length(), socklen_t(sizeof(sockaddr_in)));
}

TEST(SocketAddressTest, RejectsBadAddresses) {
  const char* cases[] = {
      "",
      ":3260",
      "127.0.0.1:",
      "127.0.0.1:65536",
      "127.0.0.1:-1",
      "127.0.0.1:x",
      "127.0.0.1:32 60",
      "300.1.1.1:1",
      "localhost:3260",
      "[::1",
      "[::1]3260",
      "[::1]:",
      "[]:3260",
      "[127.0.0.1]:3260",
      "1.2.3:3260",
      "[::1]:99999",
      "::1:3260:x:y:z:w:v:u",
  };
  for (const char* text : cases) {
    auto a = SocketAddress::parse(text);
    EXPECT_FALSE(a.ok()) << "'" << text << "' parsed as " << (a.ok() ? a->to_string() : "");
    if (!a.ok()) {
      EXPECT_NE(a.error().find(text), std::string::npos) << a.error();
    }
  }
}

TEST(SocketAddressTest, FromSockaddrRoundTrip) {
  sockaddr_storage ss{};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(1234);
  ASSERT_EQ(inet_pton(AF_INET6, "fd00::5", &v6->sin6_addr), 1);
  const SocketAddress a = SocketAddress::from_sockaddr(ss, sizeof(sockaddr_in6));
  EXPECT_EQ(a.to_string(), "[fd00::5]:1234");
  EXPECT_TRUE(a.is_v6());

  sockaddr_storage unix_ss{};
  unix_ss.ss_family = AF_UNIX;
  const SocketAddress u = SocketAddress::from_sockaddr(unix_ss, sizeof unix_ss);
  EXPECT_EQ(u.family(), AF_UNSPEC);
  EXPECT_EQ(u.to_string(), "unspecified");
}

TEST(SocketAddressTest, SetPort) {
  auto a = SocketAddress::parse("[::1]:1");
  ASSERT_TRUE(a.ok());
  a->set_port(3260);
  EXPECT_EQ(a->to_string(), "[::1]:3260");
}

}  // namespace
}  // namespace stgt::net
