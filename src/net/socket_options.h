// Small socket helpers shared by listeners and connections. Any thread; non-blocking.
#pragma once

#include <string>

#include "base/result.h"
#include "net/socket_address.h"

namespace stgt::net {

// Disables Nagle: iSCSI PDUs are latency-bound request/response traffic.
base::Result<void, std::string> set_tcp_nodelay(int fd);
base::Result<SocketAddress, std::string> local_address(int fd);
base::Result<SocketAddress, std::string> peer_address(int fd);

}  // namespace stgt::net
