#include "net/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "base/unique_fd.h"
#include "net/tcp_listener.h"

namespace stgt::net {
namespace {

TEST(SocketOptionsTest, NodelayAndAddressesOfAConnectedSocket) {
  auto any = SocketAddress::parse("127.0.0.1:0");
  ASSERT_TRUE(any.ok());
  auto listener = TcpListener::listen(*any);
  ASSERT_TRUE(listener.ok()) << listener.error();
  base::UniqueFd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(client.valid());
  const SocketAddress& server = listener->address();
  ASSERT_EQ(::connect(client.get(), server.sockaddr_ptr(), server.length()), 0);

  ASSERT_TRUE(set_tcp_nodelay(client.get()).ok());
  int value = 0;
  socklen_t len = sizeof value;
  ASSERT_EQ(::getsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &value, &len), 0);
  EXPECT_NE(value, 0);

  auto peer = peer_address(client.get());
  ASSERT_TRUE(peer.ok()) << peer.error();
  EXPECT_EQ(*peer, server);
  auto local = local_address(client.get());
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->host(), "127.0.0.1");
  EXPECT_NE(local->port(), 0);
}

TEST(SocketOptionsTest, ErrorsOnABadFd) {
  EXPECT_FALSE(set_tcp_nodelay(-1).ok());
  EXPECT_FALSE(local_address(-1).ok());
  auto peer = peer_address(-1);
  ASSERT_FALSE(peer.ok());
  EXPECT_NE(peer.error().find("Bad file descriptor"), std::string::npos) << peer.error();
}

}  // namespace
}  // namespace stgt::net
