// A minimal client of stgtd's control socket (docs/api.md): one JSON-RPC request per line,
// one response line back. Blocking, bounded by a 10 s wait per answer; one thread at a time.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdio>
#include <string>

#include "base/unique_fd.h"

namespace stgt::functional {

class ControlClient {
 public:
  testing::AssertionResult connect(const std::string& path) {
    fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof(a.sun_path), "%s", path.c_str());
    if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&a), sizeof(a)) != 0) {
      return testing::AssertionFailure() << "cannot connect to " << path;
    }
    return testing::AssertionSuccess();
  }
  // The response line, or "" when the daemon did not answer (gone, or closed on us).
  std::string call(const std::string& request) {
    const std::string line = request + "\n";
    if (::send(fd_.get(), line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) {
      return "";
    }
    std::string in;
    for (;;) {
      pollfd p{.fd = fd_.get(), .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 10000) <= 0) return "";
      char buf[4096];
      const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), 0);
      if (n <= 0) return "";
      in.append(buf, size_t(n));
      if (const size_t nl = in.find('\n'); nl != std::string::npos) return in.substr(0, nl);
    }
  }

 private:
  base::UniqueFd fd_;
};

}  // namespace stgt::functional
