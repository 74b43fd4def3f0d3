#include "reactor/epoll_reactor.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "base/log.h"

namespace stgt::reactor {
namespace {

// epoll data for the wake-up eventfd; watch ids are never 0 (generation >= 1).
constexpr uint64_t kWakeupData = 0;

uint32_t epoll_mask_for(uint32_t events) {
  uint32_t mask = EPOLLET | EPOLLERR | EPOLLHUP;
  if (events & kReadable) mask |= EPOLLIN | EPOLLRDHUP;
  if (events & kWritable) mask |= EPOLLOUT;
  return mask;
}

uint32_t events_from_epoll(uint32_t mask) {
  uint32_t events = 0;
  if (mask & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) events |= kReadable;
  if (mask & EPOLLRDHUP) events |= kPeerClosed;
  if (mask & EPOLLOUT) events |= kWritable;
  if (mask & (EPOLLERR | EPOLLHUP)) events |= kHangup;
  return events;
}

}  // namespace

EpollReactor::EpollReactor(unsigned id)
    : ReactorCore(id), pool_(*this, FileIoPool::kDefaultThreads) {}

EpollReactor::~EpollReactor() = default;

std::unique_ptr<EpollReactor> EpollReactor::create(unsigned id) {
  std::unique_ptr<EpollReactor> r(new EpollReactor(id));
  if (!r->init()) return nullptr;
  return r;
}

bool EpollReactor::init() {
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd_.valid() || !init_wakeup()) {
    STGT_LOG_ERROR("epoll setup failed: {}", std::strerror(errno));
    return false;
  }
  epoll_event ev{};
  ev.events = epoll_mask_for(kReadable);
  ev.data.u64 = kWakeupData;
  return ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wakeup_fd(), &ev) == 0;
}

WatchId EpollReactor::watch_fd(int fd, uint32_t events, FdHandler handler) {
  const WatchId id = add_watch(fd, events, std::move(handler));
  epoll_event ev{};
  ev.events = epoll_mask_for(events);
  ev.data.u64 = id.value;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    // Same as io_uring, where a bad fd shows up as a failed poll: the handler hears a
    // hang-up (later, on this thread) and closes.
    STGT_LOG_WARN("cannot watch fd {}: {}", fd, std::strerror(errno));
    post([this, id] { dispatch(id.value, kHangup); });
  }
  return id;
}

void EpollReactor::unwatch_fd(WatchId id) {
  const Watch* w = remove_watch(id.value);
  if (w == nullptr) return;
  // Errors (the fd was never added, or already closed) leave nothing to undo.
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, w->fd, nullptr);
}

void EpollReactor::submit_readv(int fd, const iovec* iov, int iovcnt, uint64_t offset,
                                FileIoCompletion* done) {
  pool_.submit({FileIoPool::OpKind::kRead, false, fd, iov, iovcnt, offset, done});
}

void EpollReactor::submit_writev(int fd, const iovec* iov, int iovcnt, uint64_t offset, bool fua,
                                 FileIoCompletion* done) {
  pool_.submit({FileIoPool::OpKind::kWrite, fua, fd, iov, iovcnt, offset, done});
}

void EpollReactor::submit_fdatasync(int fd, FileIoCompletion* done) {
  pool_.submit({FileIoPool::OpKind::kSync, false, fd, nullptr, 0, 0, done});
}

void EpollReactor::submit_fallocate(int fd, int mode, uint64_t offset, uint64_t length,
                                    FileIoCompletion* done) {
  pool_.submit({FileIoPool::OpKind::kFallocate, false, fd, nullptr, 0, offset, done, length, mode});
}

void EpollReactor::poll_once(std::chrono::nanoseconds timeout) {
  int ms = -1;
  if (timeout.count() >= 0) {
    // Round up so that a timer due in 0.3 ms does not turn into a busy loop.
    constexpr int64_t kMaxWaitMs = 3'600'000;  // epoll_wait takes an int
    ms = int(std::min<int64_t>((timeout.count() + 999'999) / 1'000'000, kMaxWaitMs));
  }
  const int n = ::epoll_wait(epoll_fd_.get(), events_.data(), kMaxEvents, ms);
  stamp_loop_time();
  for (int i = 0; i < n; ++i) {
    const uint64_t data = events_[size_t(i)].data.u64;
    if (data == kWakeupData) {
      drain_wakeup();
      continue;
    }
    // A handler earlier in this batch may have unwatched this one: dispatch checks the
    // generation and drops the stale event.
    dispatch(data, events_from_epoll(events_[size_t(i)].events));
  }
}

}  // namespace stgt::reactor
