// MemoryStore: `size` bytes of anonymous memory (mmap MAP_NORESERVE, so untouched ranges
// cost nothing), lost at exit. Operations are memcpy and complete inline (before the call
// returns); flush does nothing.
//
// Thin provisioning: unmap() zeroes the range; whole pages inside it are handed back to the
// kernel (madvise MADV_DONTNEED: a private anonymous page reads as zeros afterwards and
// costs nothing until written again), partial pages at the edges are cleared with memset.
// provisioning_status() reports everything mapped (the store does not track residency).
//
// Threads: calls from several reactors may overlap; like a disk, overlapping writes to the
// same range race (last one wins per byte) and ordering is the caller's business.
#pragma once

#include <memory>
#include <string>

#include "backing/backing_store.h"

namespace stgt::backing {

class MemoryStore final : public BackingStore {
 public:
  // Requires spec.size > 0; fails if the mapping cannot be made.
  static base::Result<std::unique_ptr<BackingStore>, std::string> open(const StoreSpec& spec);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  std::string_view kind() const override { return "memory"; }
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
  void unmap(reactor::Reactor* r, uint64_t offset, uint64_t length,
             StoreCompletion* done) override;

 private:
  MemoryStore(uint8_t* base, uint64_t size) : base_(base), size_(size) {}

  uint8_t* base_;  // owned mapping, unmapped in the destructor
  uint64_t size_;
};

}  // namespace stgt::backing
