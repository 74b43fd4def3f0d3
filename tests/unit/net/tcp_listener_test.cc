#include "net/tcp_listener.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace stgt::net {
namespace {

struct Case {
  reactor::IoBackend backend;
  const char* address;
};

class TcpListenerTest : public ::testing::TestWithParam<Case> {};

base::UniqueFd connect_to(const SocketAddress& a) {
  base::UniqueFd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::connect(fd.get(), a.sockaddr_ptr(), a.length()), 0) << a.to_string();
  return fd;
}

TEST_P(TcpListenerTest, AcceptsConnectionsThroughTheReactor) {
  auto where = SocketAddress::parse(GetParam().address);
  ASSERT_TRUE(where.ok());
  auto listener = TcpListener::listen(*where);
  ASSERT_TRUE(listener.ok()) << listener.error();
  const SocketAddress bound = listener->address();
  EXPECT_NE(bound.port(), 0);
  EXPECT_EQ(bound.family(), where->family());

  auto r = reactor::Reactor::create(GetParam().backend, 0);
  ASSERT_NE(r, nullptr);
  std::thread loop([&] { r->run(); });

  constexpr int kClients = 5;
  std::promise<std::vector<TcpListener::Accepted>> all;
  std::vector<TcpListener::Accepted> got;
  r->post([&] {
    listener->start_accepting(*r, [&](TcpListener::Accepted a) {
      EXPECT_EQ(reactor::Reactor::current(), r.get());
      got.push_back(std::move(a));
      if (got.size() == kClients) {
        listener->stop_accepting();
        all.set_value(std::move(got));
      }
    });
  });
  std::vector<base::UniqueFd> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(connect_to(bound));
  auto future = all.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const std::vector<TcpListener::Accepted> accepted = future.get();
  for (const auto& a : accepted) {
    EXPECT_TRUE(a.fd.valid());
    EXPECT_EQ(a.peer.host(), bound.host());
    EXPECT_EQ(::fcntl(a.fd.get(), F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    EXPECT_EQ(::fcntl(a.fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  }
  // Data flows over an accepted socket.
  ASSERT_EQ(::write(clients[0].get(), "ping", 4), 4);
  char buf[4];
  ssize_t n = -1;
  for (int tries = 0; tries < 1000 && n < 0; ++tries) {
    n = ::read(accepted[0].fd.get(), buf, sizeof buf);
    if (n < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(n, 4);

  r->post([&] { *listener = std::move(*listener); });  // self-move is harmless
  r->stop();
  loop.join();
}

TEST_P(TcpListenerTest, AcceptOneWithNothingPendingIsEagain) {
  auto where = SocketAddress::parse(GetParam().address);
  ASSERT_TRUE(where.ok());
  auto listener = TcpListener::listen(*where);
  ASSERT_TRUE(listener.ok()) << listener.error();
  auto none = listener->accept_one();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error(), EAGAIN);
  base::UniqueFd c = connect_to(listener->address());
  auto one = listener->accept_one();
  ASSERT_TRUE(one.ok()) << one.error();
}

std::string case_name(const ::testing::TestParamInfo<Case>& p) {
  const std::string b = p.param.backend == reactor::IoBackend::kUring ? "Uring" : "Epoll";
  return b + (std::string(p.param.address).front() == '[' ? "V6" : "V4");
}

INSTANTIATE_TEST_SUITE_P(All, TcpListenerTest,
                         ::testing::Values(Case{reactor::IoBackend::kUring, "127.0.0.1:0"},
                                           Case{reactor::IoBackend::kUring, "[::1]:0"},
                                           Case{reactor::IoBackend::kEpoll, "127.0.0.1:0"},
                                           Case{reactor::IoBackend::kEpoll, "[::1]:0"}),
                         case_name);

TEST(TcpListenerErrors, AddressInUseNamesTheAddress) {
  auto where = SocketAddress::parse("127.0.0.1:0");
  ASSERT_TRUE(where.ok());
  auto first = TcpListener::listen(*where);
  ASSERT_TRUE(first.ok()) << first.error();
  auto second = TcpListener::listen(first->address());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(),
            "cannot bind " + first->address().to_string() + ": Address already in use");
}

TEST(TcpListenerErrors, UnassignedAddressFails) {
  auto where = SocketAddress::parse("192.0.2.1:0");  // TEST-NET-1, not on this host
  ASSERT_TRUE(where.ok());
  auto l = TcpListener::listen(*where);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().find("192.0.2.1:0"), std::string::npos) << l.error();
}

}  // namespace
}  // namespace stgt::net
