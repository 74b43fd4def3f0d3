#include "reactor/reactor.h"

#include "reactor/epoll_reactor.h"
#include "reactor/uring_reactor.h"

namespace stgt::reactor {
namespace {

thread_local Reactor* t_current = nullptr;

}  // namespace

std::string_view to_string(IoBackend b) {
  switch (b) {
    case IoBackend::kUring:
      return "io_uring";
    case IoBackend::kEpoll:
      return "epoll";
  }
  return "?";
}

Reactor* Reactor::current() {
  return t_current;
}

void Reactor::set_current(Reactor* r) {
  t_current = r;
}

std::unique_ptr<Reactor> Reactor::create(IoBackend backend, unsigned id) {
  switch (backend) {
    case IoBackend::kUring:
      return UringReactor::create(id);
    case IoBackend::kEpoll:
      return EpollReactor::create(id);
  }
  return nullptr;
}

}  // namespace stgt::reactor
