#include "reactor/file_io_pool.h"

#include <pthread.h>

#include <string>

#include "reactor/blocking_io.h"
#include "reactor/reactor.h"

namespace stgt::reactor {

FileIoPool::FileIoPool(Reactor& owner, unsigned threads)
    : owner_(owner), thread_count_(threads == 0 ? 1 : threads) {}

FileIoPool::~FileIoPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    t.join();
}

void FileIoPool::submit(const Op& op) {
  if (threads_.empty()) {
    for (unsigned i = 0; i < thread_count_; ++i) {
      threads_.emplace_back([this] { worker(); });
      const std::string name = "stgt-io" + std::to_string(owner_.id());
      pthread_setname_np(threads_.back().native_handle(), name.substr(0, 15).c_str());
    }
  }
  {
    std::lock_guard lock(mu_);
    queue_.push_back(op);
  }
  cv_.notify_one();
}

void FileIoPool::worker() {
  for (;;) {
    Op op;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      op = queue_.front();
      queue_.pop_front();
    }
    int64_t result = 0;
    switch (op.kind) {
      case OpKind::kRead:
        result = blocking_readv(op.fd, op.iov, op.iovcnt, op.offset);
        break;
      case OpKind::kWrite:
        result = blocking_writev(op.fd, op.iov, op.iovcnt, op.offset, op.fua);
        break;
      case OpKind::kSync:
        result = blocking_fdatasync(op.fd);
        break;
    }
    FileIoCompletion* done = op.done;
    owner_.post([done, result] { done->on_file_io(result); });
  }
}

}  // namespace stgt::reactor
