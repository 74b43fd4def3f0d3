#include "net/tcp_listener.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "base/log.h"
#include "net/socket_options.h"

namespace stgt::net {
namespace {

base::Result<TcpListener::Accepted, int> accept_on(int fd) {
  for (;;) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    const int s =
        ::accept4(fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s >= 0)
      return TcpListener::Accepted{base::UniqueFd(s), SocketAddress::from_sockaddr(ss, len)};
    // A connection reset before we got to it is not the listener's problem.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    return base::unexpected(errno);
  }
}

}  // namespace

base::Result<TcpListener, std::string> TcpListener::listen(const SocketAddress& address,
                                                           int backlog) {
  const std::string name = address.to_string();
  auto fail = [&](std::string_view what) {
    return base::unexpected(fmt::format("cannot {} {}: {}", what, name, std::strerror(errno)));
  };
  base::UniqueFd fd(
      ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd.valid()) return fail("create a socket for");
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return fail("set SO_REUSEADDR on");
  }
  if (address.is_v6() && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    return fail("set IPV6_V6ONLY on");
  }
  if (::bind(fd.get(), address.sockaddr_ptr(), address.length()) != 0) return fail("bind");
  if (::listen(fd.get(), backlog) != 0) return fail("listen on");
  auto bound = local_address(fd.get());
  if (!bound) return base::unexpected(fmt::format("cannot listen on {}: {}", name, bound.error()));
  return TcpListener(std::move(fd), *bound);
}

TcpListener::TcpListener(TcpListener&& o) noexcept
    : fd_(std::move(o.fd_)),
      address_(o.address_),
      reactor_(std::exchange(o.reactor_, nullptr)),
      watch_(std::exchange(o.watch_, reactor::WatchId{})),
      state_(std::move(o.state_)) {}

TcpListener& TcpListener::operator=(TcpListener&& o) noexcept {
  if (this != &o) {
    stop_accepting();
    fd_ = std::move(o.fd_);
    address_ = o.address_;
    reactor_ = std::exchange(o.reactor_, nullptr);
    watch_ = std::exchange(o.watch_, reactor::WatchId{});
    state_ = std::move(o.state_);
  }
  return *this;
}

TcpListener::~TcpListener() {
  stop_accepting();
}

base::Result<TcpListener::Accepted, int> TcpListener::accept_one() {
  return accept_on(fd_.get());
}

struct TcpListener::AcceptState {
  int fd = -1;
  bool active = true;
  std::string name;
  AcceptHandler handler;
};

void TcpListener::start_accepting(reactor::Reactor& r, AcceptHandler handler) {
  stop_accepting();
  reactor_ = &r;
  // The watch holds the shared state, not `this`, so the listener may be moved.
  state_ = std::make_shared<AcceptState>(
      AcceptState{fd_.get(), true, address_.to_string(), std::move(handler)});
  watch_ = r.watch_fd(fd_.get(), reactor::kReadable, [state = state_](uint32_t) {
    while (state->active) {
      auto accepted = accept_on(state->fd);
      if (!accepted) {
        const int err = accepted.error();
        if (err != EAGAIN && err != EWOULDBLOCK) {
          STGT_LOG_WARN("accept on {} failed: {}", state->name, std::strerror(err));
        }
        return;
      }
      state->handler(std::move(accepted).value());
    }
  });
}

void TcpListener::stop_accepting() {
  if (state_ != nullptr) state_->active = false;
  state_.reset();
  if (reactor_ != nullptr && watch_.valid()) reactor_->unwatch_fd(watch_);
  reactor_ = nullptr;
  watch_ = reactor::WatchId{};
}

}  // namespace stgt::net
