// TcpListener: a listening TCP socket (SO_REUSEADDR; IPV6_V6ONLY for IPv6, so "[::]" and
// "0.0.0.0" can be separate portals) that accepts non-blocking, close-on-exec sockets.
//
// Ownership: owns the listening fd. Accepting is driven by a reactor: start_accepting()
// watches the fd and, on each readiness edge, accepts until EAGAIN, handing every new
// socket (owned by the handler from then on) to the handler on that reactor's thread.
// start_accepting/stop_accepting/destruction happen on that reactor's thread while it is
// accepting. Never blocks.
//
// Running out of fds (EMFILE/ENFILE) is logged and the round ends; the pending connection
// is accepted at the next readiness edge (the next connection attempt).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/unique_fd.h"
#include "net/socket_address.h"
#include "reactor/reactor.h"

namespace stgt::net {

class TcpListener {
 public:
  struct Accepted {
    base::UniqueFd fd;
    SocketAddress peer;
  };
  using AcceptHandler = std::function<void(Accepted accepted)>;

  // Errors name the address and the errno text, e.g.
  // "cannot bind 127.0.0.1:3260: Address already in use".
  static base::Result<TcpListener, std::string> listen(const SocketAddress& address,
                                                       int backlog = 128);

  TcpListener(TcpListener&& o) noexcept;
  TcpListener& operator=(TcpListener&& o) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  int fd() const { return fd_.get(); }
  // The bound address, with the port the kernel chose when asked for port 0.
  const SocketAddress& address() const { return address_; }

  // One non-blocking accept; the error is an errno value (EAGAIN: nothing pending).
  base::Result<Accepted, int> accept_one();

  void start_accepting(reactor::Reactor& r, AcceptHandler handler);
  void stop_accepting();

 private:
  TcpListener(base::UniqueFd fd, SocketAddress address) : fd_(std::move(fd)), address_(address) {}

  base::UniqueFd fd_;
  SocketAddress address_;
  struct AcceptState;

  reactor::Reactor* reactor_ = nullptr;
  reactor::WatchId watch_;
  // Shared with the watch handler, which may outlive a stop_accepting() called from inside
  // the accept handler: it tells the loop to stop before touching a closed fd.
  std::shared_ptr<AcceptState> state_;
};

}  // namespace stgt::net
