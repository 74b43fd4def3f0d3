#include "net/socket_options.h"

#include <netinet/tcp.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace stgt::net {

base::Result<void, std::string> set_tcp_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    return base::unexpected(fmt::format("cannot set TCP_NODELAY: {}", std::strerror(errno)));
  }
  return {};
}

base::Result<SocketAddress, std::string> local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return base::unexpected(fmt::format("getsockname failed: {}", std::strerror(errno)));
  }
  return SocketAddress::from_sockaddr(ss, len);
}

base::Result<SocketAddress, std::string> peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return base::unexpected(fmt::format("getpeername failed: {}", std::strerror(errno)));
  }
  return SocketAddress::from_sockaddr(ss, len);
}

}  // namespace stgt::net
