// MemoryBudget: a daemon-wide ceiling on the bytes of data buffers, shared by every
// reactor's BufferPool ([daemon] memory_budget). A pool charges the budget when it takes
// fresh memory from the allocator and credits it when it gives memory back, so buffers in
// use and buffers cached idle both count; recycling a cached buffer touches no atomic.
//
// Threads: any thread; charge() and release() are lock-free (one CAS loop, one fetch_sub).
// Lifetime: owned by the daemon; it must outlive every pool that points to it.
#pragma once

#include <atomic>
#include <cstdint>

namespace stgt::base {

class MemoryBudget {
 public:
  explicit MemoryBudget(uint64_t limit) : limit_(limit) {}
  MemoryBudget(const MemoryBudget&) = delete;
  MemoryBudget& operator=(const MemoryBudget&) = delete;

  // Takes `bytes` if they fit under the limit; false (and nothing taken) otherwise.
  bool charge(uint64_t bytes) {
    uint64_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_ || used > limit_ - bytes) {
        refusals_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    uint64_t peak = peak_.load(std::memory_order_relaxed);
    while (used + bytes > peak &&
           !peak_.compare_exchange_weak(peak, used + bytes, std::memory_order_relaxed)) {
    }
    return true;
  }
  void release(uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  uint64_t limit() const { return limit_; }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }
  uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

  // The default budget for a machine: a quarter of physical memory, at least `floor`.
  static uint64_t default_limit(uint64_t floor);

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> peak_{0};
  std::atomic<uint64_t> refusals_{0};
};

}  // namespace stgt::base
