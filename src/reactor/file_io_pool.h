// FileIoPool: a few blocking threads that run file I/O for one epoll reactor and post each
// completion back to it (so completions run on the reactor's thread, in any order).
//
// Ownership: owned by its reactor. Threads start on the first submit. The destructor
// stops and joins them; operations still queued are dropped without completion (a reactor
// is destroyed only after its users are gone).
#pragma once

#include <sys/uio.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace stgt::reactor {

class FileIoCompletion;
class Reactor;

class FileIoPool {
 public:
  static constexpr unsigned kDefaultThreads = 4;

  enum class OpKind : uint8_t { kRead, kWrite, kSync, kFallocate };
  struct Op {
    OpKind kind = OpKind::kRead;
    bool fua = false;
    int fd = -1;
    const iovec* iov = nullptr;
    int iovcnt = 0;
    uint64_t offset = 0;
    FileIoCompletion* done = nullptr;
    uint64_t length = 0;  // kFallocate
    int mode = 0;         // kFallocate
  };

  FileIoPool(Reactor& owner, unsigned threads);
  ~FileIoPool();
  FileIoPool(const FileIoPool&) = delete;
  FileIoPool& operator=(const FileIoPool&) = delete;

  // Called on the owner's thread.
  void submit(const Op& op);

 private:
  void worker();
  // The queue is a ring over queue_ that grows (doubling) only when a new peak of queued
  // operations arrives: unlike std::deque, which allocates and frees a node every few
  // operations, it costs no allocation per command once warm (issue 3).
  void push_locked(const Op& op);
  Op pop_locked();

  Reactor& owner_;
  const unsigned thread_count_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Op> queue_;  // guarded by mu_; a ring of queued_ entries from head_
  size_t head_ = 0;        // guarded by mu_
  size_t queued_ = 0;      // guarded by mu_
  bool stopping_ = false;  // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace stgt::reactor
