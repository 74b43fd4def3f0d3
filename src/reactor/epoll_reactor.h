// EpollReactor: the fallback backend. Readiness through epoll (EPOLLET), timers through
// the epoll_wait timeout, and file I/O on a FileIoPool whose completions are posted back.
//
// Thread: every member except post()/stop() runs on the reactor's thread.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <memory>

#include "base/unique_fd.h"
#include "reactor/file_io_pool.h"
#include "reactor/reactor_core.h"

namespace stgt::reactor {

class EpollReactor final : public ReactorCore {
 public:
  static std::unique_ptr<EpollReactor> create(unsigned id);
  ~EpollReactor() override;

  IoBackend backend() const override { return IoBackend::kEpoll; }

  WatchId watch_fd(int fd, uint32_t events, FdHandler handler) override;
  void unwatch_fd(WatchId id) override;

  void submit_readv(int fd, const iovec* iov, int iovcnt, uint64_t offset,
                    FileIoCompletion* done) override;
  void submit_writev(int fd, const iovec* iov, int iovcnt, uint64_t offset, bool fua,
                     FileIoCompletion* done) override;
  void submit_fdatasync(int fd, FileIoCompletion* done) override;
  void submit_fallocate(int fd, int mode, uint64_t offset, uint64_t length,
                        FileIoCompletion* done) override;

 protected:
  void poll_once(std::chrono::nanoseconds timeout) override;

 private:
  static constexpr int kMaxEvents = 256;
  explicit EpollReactor(unsigned id);
  bool init();

  base::UniqueFd epoll_fd_;
  std::array<epoll_event, kMaxEvents> events_{};
  // Declared last: destroyed (threads joined) first, while the post queue still exists.
  FileIoPool pool_;
};

}  // namespace stgt::reactor
