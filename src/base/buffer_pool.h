// BufferPool: page-aligned data buffers in power-of-two size classes (4 KiB .. 1 MiB),
// recycled through per-class free lists so the data path allocates nothing per command
// once warm.
//
// Ownership and threads: one pool per reactor. A pool is not thread-safe; a buffer must be
// released on the reactor that owns its pool (commands complete on the reactor of their
// connection, so this holds by construction). Memory is bounded: at most `cache_limit`
// bytes are kept idle (all classes together); buffers past that go back to the allocator on
// release. With a MemoryBudget (set_budget) every byte the pool holds, in use or idle, is
// charged to the daemon-wide budget, and get() fails once the budget is spent.
//
// BufferChain: the data of one command, as up to kMaxSegments buffers of at most 1 MiB,
// described as iovecs for scatter-gather straight into the socket or the store.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "base/memory_budget.h"

namespace stgt::base {

class BufferPool;

class PoolBuffer {
 public:
  PoolBuffer() = default;
  PoolBuffer(PoolBuffer&& o) noexcept
      : pool_(std::exchange(o.pool_, nullptr)),
        data_(std::exchange(o.data_, nullptr)),
        size_class_(o.size_class_) {}
  PoolBuffer& operator=(PoolBuffer&& o) noexcept;
  PoolBuffer(const PoolBuffer&) = delete;
  PoolBuffer& operator=(const PoolBuffer&) = delete;
  ~PoolBuffer() { reset(); }

  uint8_t* data() const { return data_; }
  size_t capacity() const;
  bool empty() const { return data_ == nullptr; }
  void reset();

 private:
  friend class BufferPool;
  PoolBuffer(BufferPool* pool, uint8_t* data, uint8_t size_class)
      : pool_(pool), data_(data), size_class_(size_class) {}
  BufferPool* pool_ = nullptr;
  uint8_t* data_ = nullptr;
  uint8_t size_class_ = 0;
};

class BufferPool {
 public:
  static constexpr size_t kMinShift = 12;  // 4 KiB
  static constexpr size_t kMaxShift = 20;  // 1 MiB
  static constexpr size_t kClasses = kMaxShift - kMinShift + 1;
  static constexpr size_t kMaxBuffer = size_t{1} << kMaxShift;

  explicit BufferPool(size_t cache_limit_per_class = 64ull << 20);
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of at least `size` bytes (1 <= size <= kMaxBuffer); empty on allocation failure
  // or when the budget is spent (after this pool's own idle buffers were given back).
  PoolBuffer get(size_t size);

  // Charges everything the pool holds to `budget` from now on and keeps at most
  // `cache_limit` bytes idle. Only while the pool holds nothing (at start-up, on the
  // pool's reactor); false otherwise.
  bool set_budget(MemoryBudget* budget, size_t cache_limit);
  // Gives every idle buffer back to the allocator (and its bytes back to the budget).
  void trim();

  struct Stats {
    uint64_t gets = 0;         // buffers handed out
    uint64_t allocations = 0;  // of those, how many needed fresh memory
    size_t cached_bytes = 0;   // idle memory held in free lists
    size_t in_use_bytes = 0;
  };
  const Stats& stats() const { return stats_; }

  static size_t class_size(uint8_t cls) { return size_t{1} << (cls + kMinShift); }

 private:
  friend class PoolBuffer;
  void put(uint8_t* data, uint8_t cls);
  uint8_t* allocate(size_t bytes);

  size_t cache_limit_;
  MemoryBudget* budget_ = nullptr;
  std::array<std::vector<uint8_t*>, kClasses> free_;
  Stats stats_;
};

class BufferChain {
 public:
  static constexpr size_t kMaxSegments = 32;
  static constexpr size_t kMaxBytes = kMaxSegments * BufferPool::kMaxBuffer;

  BufferChain() = default;
  BufferChain(BufferChain&&) = default;
  BufferChain& operator=(BufferChain&&) = default;

  // Allocates `size` bytes (0 < size <= kMaxBytes) from `pool`; false on failure.
  // Any previous contents are released first.
  bool allocate(BufferPool& pool, size_t size);
  void reset();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t segment_count() const { return count_; }
  // iovecs covering [offset, offset + len), written into `out`; returns how many were used.
  size_t iovecs(size_t offset, size_t len, std::span<iovec> out) const;
  std::span<const iovec> all_iovecs() const { return {iov_.data(), count_}; }

  // Copies between the chain and flat memory; both clamp to the chain's size and return
  // the number of bytes copied.
  size_t copy_in(size_t offset, const void* src, size_t len);
  size_t copy_out(size_t offset, void* dst, size_t len) const;
  // Sets [offset, offset+len) to zero.
  void zero(size_t offset, size_t len);
  // Pointer to `len` contiguous bytes at `offset` if they lie in one segment, else null.
  uint8_t* contiguous(size_t offset, size_t len) const;

 private:
  std::array<PoolBuffer, kMaxSegments> bufs_;
  std::array<iovec, kMaxSegments> iov_{};
  size_t count_ = 0;
  size_t size_ = 0;
};

}  // namespace stgt::base
