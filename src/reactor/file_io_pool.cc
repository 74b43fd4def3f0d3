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
    push_locked(op);
  }
  cv_.notify_one();
}

void FileIoPool::push_locked(const Op& op) {
  if (queued_ == queue_.size()) {
    std::vector<Op> grown(queue_.empty() ? 64 : queue_.size() * 2);
    for (size_t i = 0; i < queued_; ++i)
      grown[i] = queue_[(head_ + i) % queue_.size()];
    queue_.swap(grown);
    head_ = 0;
  }
  queue_[(head_ + queued_) % queue_.size()] = op;
  ++queued_;
}

FileIoPool::Op FileIoPool::pop_locked() {
  const Op op = queue_[head_];
  head_ = (head_ + 1) % queue_.size();
  --queued_;
  return op;
}

void FileIoPool::worker() {
  for (;;) {
    Op op;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || queued_ > 0; });
      if (stopping_) return;
      op = pop_locked();
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
      case OpKind::kFallocate:
        result = blocking_fallocate(op.fd, op.mode, op.offset, op.length);
        break;
    }
    FileIoCompletion* done = op.done;
    owner_.post([done, result] { done->on_file_io(result); });
  }
}

}  // namespace stgt::reactor
