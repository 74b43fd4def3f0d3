#include "base/buffer_pool.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace stgt::base {
namespace {

uint8_t size_class_for(size_t size) {
  const size_t rounded = std::max(std::bit_ceil(size), size_t{1} << BufferPool::kMinShift);
  return uint8_t(std::countr_zero(rounded) - BufferPool::kMinShift);
}

}  // namespace

PoolBuffer& PoolBuffer::operator=(PoolBuffer&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = std::exchange(o.pool_, nullptr);
    data_ = std::exchange(o.data_, nullptr);
    size_class_ = o.size_class_;
  }
  return *this;
}

size_t PoolBuffer::capacity() const { return data_ ? BufferPool::class_size(size_class_) : 0; }

void PoolBuffer::reset() {
  if (data_ != nullptr) pool_->put(data_, size_class_);
  data_ = nullptr;
  pool_ = nullptr;
}

BufferPool::BufferPool(size_t cache_limit_per_class) : cache_limit_(cache_limit_per_class) {}

BufferPool::~BufferPool() { trim(); }

bool BufferPool::set_budget(MemoryBudget* budget, size_t cache_limit) {
  if (stats_.in_use_bytes != 0) return false;
  trim();
  budget_ = budget;
  cache_limit_ = cache_limit;
  return true;
}

void BufferPool::trim() {
  for (uint8_t cls = 0; cls < kClasses; ++cls) {
    const size_t bytes = class_size(cls);
    for (uint8_t* p : free_[cls]) {
      std::free(p);
      stats_.cached_bytes -= bytes;
      if (budget_ != nullptr) budget_->release(bytes);
    }
    free_[cls].clear();
  }
}

// Fresh memory for one buffer, charged to the budget. When the budget is spent, this pool's
// idle buffers (of other classes) go back first: another reactor may need the room.
uint8_t* BufferPool::allocate(size_t bytes) {
  if (budget_ != nullptr && !budget_->charge(bytes)) {
    if (stats_.cached_bytes == 0) return nullptr;
    trim();
    if (!budget_->charge(bytes)) return nullptr;
  }
  void* mem = nullptr;
  if (posix_memalign(&mem, 4096, bytes) != 0) {
    if (budget_ != nullptr) budget_->release(bytes);
    return nullptr;
  }
  return static_cast<uint8_t*>(mem);
}

PoolBuffer BufferPool::get(size_t size) {
  if (size == 0 || size > kMaxBuffer) return {};
  const uint8_t cls = size_class_for(size);
  const size_t bytes = class_size(cls);
  auto& list = free_[cls];
  uint8_t* p = nullptr;
  if (!list.empty()) {
    p = list.back();
    list.pop_back();
    stats_.cached_bytes -= bytes;
  } else {
    p = allocate(bytes);
    if (p == nullptr) return {};
    ++stats_.allocations;
  }
  ++stats_.gets;
  stats_.in_use_bytes += bytes;
  return PoolBuffer(this, p, cls);
}

void BufferPool::put(uint8_t* data, uint8_t cls) {
  const size_t bytes = class_size(cls);
  stats_.in_use_bytes -= bytes;
  if (stats_.cached_bytes + bytes > cache_limit_) {
    std::free(data);
    if (budget_ != nullptr) budget_->release(bytes);
    return;
  }
  // Reserve once per class so steady-state puts never allocate.
  auto& list = free_[cls];
  if (list.capacity() == 0) list.reserve(cache_limit_ / bytes + 1);
  list.push_back(data);
  stats_.cached_bytes += bytes;
}

bool BufferChain::allocate(BufferPool& pool, size_t size) {
  reset();
  if (size == 0 || size > kMaxBytes) return false;
  size_t left = size;
  while (left > 0) {
    const size_t n = std::min(left, BufferPool::kMaxBuffer);
    PoolBuffer b = pool.get(n);
    if (b.empty()) {
      reset();
      return false;
    }
    iov_[count_] = iovec{b.data(), n};
    bufs_[count_] = std::move(b);
    ++count_;
    left -= n;
  }
  size_ = size;
  return true;
}

void BufferChain::reset() {
  for (size_t i = 0; i < count_; ++i) bufs_[i].reset();
  count_ = 0;
  size_ = 0;
}

size_t BufferChain::iovecs(size_t offset, size_t len, std::span<iovec> out) const {
  size_t used = 0;
  size_t pos = 0;
  for (size_t i = 0; i < count_ && len > 0 && used < out.size(); ++i) {
    const size_t seg = iov_[i].iov_len;
    if (offset >= pos + seg) {
      pos += seg;
      continue;
    }
    const size_t in_seg = offset - pos;
    const size_t n = std::min(seg - in_seg, len);
    out[used++] = iovec{static_cast<uint8_t*>(iov_[i].iov_base) + in_seg, n};
    offset += n;
    len -= n;
    pos += seg;
  }
  return used;
}

size_t BufferChain::copy_in(size_t offset, const void* src, size_t len) {
  std::array<iovec, kMaxSegments> v;
  const size_t n = iovecs(offset, len, v);
  size_t done = 0;
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(v[i].iov_base, static_cast<const uint8_t*>(src) + done, v[i].iov_len);
    done += v[i].iov_len;
  }
  return done;
}

size_t BufferChain::copy_out(size_t offset, void* dst, size_t len) const {
  std::array<iovec, kMaxSegments> v;
  const size_t n = iovecs(offset, len, v);
  size_t done = 0;
  for (size_t i = 0; i < n; ++i) {
    std::memcpy(static_cast<uint8_t*>(dst) + done, v[i].iov_base, v[i].iov_len);
    done += v[i].iov_len;
  }
  return done;
}

void BufferChain::zero(size_t offset, size_t len) {
  std::array<iovec, kMaxSegments> v{};
  const size_t n = iovecs(offset, len, v);
  for (size_t i = 0; i < n; ++i) std::memset(v[i].iov_base, 0, v[i].iov_len);
}

uint8_t* BufferChain::contiguous(size_t offset, size_t len) const {
  std::array<iovec, 1> v{};
  if (iovecs(offset, len, v) != 1 || v[0].iov_len != len) return nullptr;
  return static_cast<uint8_t*>(v[0].iov_base);
}

}  // namespace stgt::base
