#include "mgmt/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "base/unique_fd.h"

namespace stgt::mgmt {
namespace {

base::UniqueFd connect_to(const std::string& address) {
  const size_t colon = address.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(std::stoi(address.substr(colon + 1))));
  ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) return {};
  return fd;
}

// Sends `request` and reads until the server closes (5 s at most).
std::string http_exchange(const std::string& address, const std::string& request) {
  base::UniqueFd fd = connect_to(address);
  if (!fd.valid()) return "connect failed";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
    return "send failed";
  }
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return out + "<timeout>";
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, size_t(n));
  }
}

class MetricsServerTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(bool(server_.start("127.0.0.1:0"))); }
  std::atomic<int> renders_{0};
  MetricsServer server_{[this] {
    ++renders_;
    return std::string("stgt_up 1\n");
  }};
};

TEST_F(MetricsServerTest, GetMetricsAnswersTheExposition) {
  const std::string r =
      http_exchange(server_.address(), "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r;
  EXPECT_NE(r.find("Content-Length: 10\r\n"), std::string::npos) << r;
  EXPECT_TRUE(r.ends_with("\r\n\r\nstgt_up 1\n")) << r;
  EXPECT_EQ(renders_.load(), 1);
}

TEST_F(MetricsServerTest, OtherPathsAndMethodsAndGarbageAreRefused) {
  EXPECT_EQ(http_exchange(server_.address(), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.0 404 ", 0),
            0u);
  EXPECT_EQ(
      http_exchange(server_.address(), "POST /metrics HTTP/1.0\r\n\r\n").rfind("HTTP/1.0 405 ", 0),
      0u);
  EXPECT_EQ(http_exchange(server_.address(), "hello\r\n\r\n").rfind("HTTP/1.0 400 ", 0), 0u);
  // A head that never ends is cut off at kMaxRequest bytes.
  const std::string huge =
      "GET /metrics HTTP/1.0\r\nX: " + std::string(MetricsServer::kMaxRequest, 'a');
  EXPECT_EQ(http_exchange(server_.address(), huge).rfind("HTTP/1.0 400 ", 0), 0u);
  EXPECT_EQ(renders_.load(), 0);
}

TEST_F(MetricsServerTest, ASilentClientDoesNotHoldUpOthers) {
  base::UniqueFd silent = connect_to(server_.address());
  ASSERT_TRUE(silent.valid());
  base::UniqueFd half = connect_to(server_.address());
  ASSERT_TRUE(half.valid());
  ASSERT_EQ(::send(half.get(), "GET /met", 8, MSG_NOSIGNAL), 8);
  const std::string r = http_exchange(server_.address(), "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
}

TEST(MetricsServer, BadOrBusyAddressIsOneSentence) {
  MetricsServer a([] { return std::string(); });
  auto bad = a.start("300.1.2.3:9540");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("300.1.2.3"), std::string::npos) << bad.error();
  ASSERT_TRUE(bool(a.start("127.0.0.1:0")));
  MetricsServer b([] { return std::string(); });
  auto busy = b.start(a.address());
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.error().find("Address already in use"), std::string::npos) << busy.error();
}

}  // namespace
}  // namespace stgt::mgmt
