// NullStore: reads return zeros, writes are discarded, flush does nothing; every operation
// completes inline (before the call returns). For benchmarks of everything above the store.
// Stateless, so safe from any number of reactors at once. unmap() does nothing (every
// block already reads as zeros), so a thin LU over a null store is consistent.
#pragma once

#include <memory>
#include <string>

#include <atomic>

#include "backing/backing_store.h"

namespace stgt::backing {

class NullStore final : public BackingStore {
 public:
  // Requires spec.size > 0.
  static base::Result<std::unique_ptr<BackingStore>, std::string> open(const StoreSpec& spec);

  explicit NullStore(uint64_t size) : size_(size) {}

  std::string_view kind() const override { return "null"; }
  uint64_t size() const override { return size_; }
  void read(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
            StoreCompletion* done) override;
  void write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
             StoreCompletion* done) override;
  void flush(reactor::Reactor* r, StoreCompletion* done) override;
  // Nothing survives a crash, so all or nothing holds there trivially; a write is one
  // memcpy (or nothing), so it holds against the daemon as well.
  uint64_t max_atomic_write_bytes() const override { return kMaxAtomicWriteBytes; }
  bool supports_unmap() const override { return true; }
  bool supports_write_zeroes() const override { return true; }
  void write_zeroes(reactor::Reactor*, uint64_t offset, uint64_t length, bool,
                    StoreCompletion* done) override {
    done->store_done(offset > size_ || length > size_ - offset ? -EINVAL : 0);
  }
  void unmap(reactor::Reactor* r, uint64_t offset, uint64_t length,
             StoreCompletion* done) override;
  bool resizable() const override { return true; }
  base::Result<void, std::string> resize(uint64_t bytes) override {
    size_ = bytes;
    return {};
  }

 private:
  std::atomic<uint64_t> size_;
};

}  // namespace stgt::backing
