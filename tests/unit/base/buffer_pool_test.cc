#include "base/buffer_pool.h"

#include <cstring>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

namespace stgt::base {
namespace {

TEST(BufferPoolTest, SizeClassesArePowersOfTwoAndPageAligned) {
  BufferPool pool;
  struct Case {
    size_t ask;
    size_t capacity;
  };
  for (const Case c : {Case{1, 4096}, Case{4096, 4096}, Case{4097, 8192}, Case{65536, 65536},
                       Case{700000, 1 << 20}, Case{1 << 20, 1 << 20}}) {
    PoolBuffer b = pool.get(c.ask);
    ASSERT_FALSE(b.empty()) << c.ask;
    EXPECT_EQ(b.capacity(), c.capacity) << c.ask;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u);
  }
  EXPECT_TRUE(pool.get(0).empty());
  EXPECT_TRUE(pool.get(BufferPool::kMaxBuffer + 1).empty());
}

TEST(BufferPoolTest, ReleasedBuffersAreReused) {
  BufferPool pool;
  uint8_t* first = nullptr;
  {
    PoolBuffer b = pool.get(8192);
    first = b.data();
    EXPECT_EQ(pool.stats().in_use_bytes, 8192u);
  }
  EXPECT_EQ(pool.stats().in_use_bytes, 0u);
  EXPECT_EQ(pool.stats().cached_bytes, 8192u);
  PoolBuffer again = pool.get(5000);
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(pool.stats().allocations, 1u);
  EXPECT_EQ(pool.stats().gets, 2u);
}

TEST(BufferPoolTest, CacheLimitBoundsIdleMemory) {
  BufferPool pool(8192);
  {
    PoolBuffer a = pool.get(4096);
    PoolBuffer b = pool.get(4096);
    PoolBuffer c = pool.get(4096);
  }
  EXPECT_EQ(pool.stats().cached_bytes, 8192u);
  EXPECT_EQ(pool.stats().in_use_bytes, 0u);
}

TEST(BufferPoolTest, MoveTransfersOwnership) {
  BufferPool pool;
  PoolBuffer a = pool.get(4096);
  uint8_t* p = a.data();
  PoolBuffer b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(b.data(), p);
  PoolBuffer c = pool.get(4096);
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(pool.stats().in_use_bytes, 4096u);
}

TEST(BufferChainTest, AllocatesSegmentsAndDescribesRanges) {
  BufferPool pool;
  BufferChain chain;
  const size_t size = 2 * BufferPool::kMaxBuffer + 100;
  ASSERT_TRUE(chain.allocate(pool, size));
  EXPECT_EQ(chain.size(), size);
  EXPECT_EQ(chain.segment_count(), 3u);
  size_t total = 0;
  for (const iovec& v : chain.all_iovecs())
    total += v.iov_len;
  EXPECT_EQ(total, size);

  std::array<iovec, 4> out;
  const size_t n = chain.iovecs(BufferPool::kMaxBuffer - 10, 30, out);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(out[0].iov_len, 10u);
  EXPECT_EQ(out[1].iov_len, 20u);
  EXPECT_EQ(chain.contiguous(BufferPool::kMaxBuffer - 10, 30), nullptr);
  EXPECT_NE(chain.contiguous(BufferPool::kMaxBuffer, 30), nullptr);
}

TEST(BufferChainTest, CopyInOutAndZeroAcrossSegments) {
  BufferPool pool;
  BufferChain chain;
  ASSERT_TRUE(chain.allocate(pool, BufferPool::kMaxBuffer + 4096));
  std::vector<uint8_t> src(8192);
  std::iota(src.begin(), src.end(), uint8_t(1));
  const size_t at = BufferPool::kMaxBuffer - 4096;
  EXPECT_EQ(chain.copy_in(at, src.data(), src.size()), src.size());
  std::vector<uint8_t> dst(8192);
  EXPECT_EQ(chain.copy_out(at, dst.data(), dst.size()), dst.size());
  EXPECT_EQ(dst, src);
  chain.zero(at + 100, 5000);
  EXPECT_EQ(chain.copy_out(at, dst.data(), dst.size()), dst.size());
  for (size_t i = 0; i < dst.size(); ++i) {
    const bool zeroed = i >= 100 && i < 5100;
    ASSERT_EQ(dst[i], zeroed ? 0 : src[i]) << i;
  }
  // Copies clamp to the chain's size.
  EXPECT_EQ(chain.copy_out(chain.size() - 10, dst.data(), 100), 10u);
}

TEST(BufferChainTest, RejectsBadSizesAndReleasesOnReset) {
  BufferPool pool;
  BufferChain chain;
  EXPECT_FALSE(chain.allocate(pool, 0));
  EXPECT_FALSE(chain.allocate(pool, BufferChain::kMaxBytes + 1));
  ASSERT_TRUE(chain.allocate(pool, 10000));
  EXPECT_GT(pool.stats().in_use_bytes, 0u);
  chain.reset();
  EXPECT_TRUE(chain.empty());
  EXPECT_EQ(pool.stats().in_use_bytes, 0u);
}


// Every byte a pool holds, in use or idle, is charged to its budget; past it get() fails,
// after the pool has given back its own idle buffers.
TEST(BufferPoolBudget, ChargesHeldMemoryAndRefusesPastTheBudget) {
  MemoryBudget budget(3 * BufferPool::kMaxBuffer);
  BufferPool pool;
  ASSERT_TRUE(pool.set_budget(&budget, 2 * BufferPool::kMaxBuffer));
  {
    PoolBuffer a = pool.get(BufferPool::kMaxBuffer);
    PoolBuffer b = pool.get(BufferPool::kMaxBuffer);
    PoolBuffer c = pool.get(BufferPool::kMaxBuffer);
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(budget.used(), 3 * BufferPool::kMaxBuffer);
    EXPECT_TRUE(pool.get(4096).empty());
  }
  // Two stay cached (still charged), the third went back.
  EXPECT_EQ(budget.used(), 2 * BufferPool::kMaxBuffer);
  // Buffers of another size class: the third does not fit beside the idle 2 MiB, so the pool
  // gives its idle buffers back and then takes it.
  constexpr size_t kHalf = BufferPool::kMaxBuffer / 2;
  PoolBuffer x = pool.get(kHalf);
  PoolBuffer y = pool.get(kHalf);
  PoolBuffer z = pool.get(kHalf);
  ASSERT_FALSE(z.empty());
  EXPECT_EQ(pool.stats().cached_bytes, 0u);
  EXPECT_EQ(budget.used(), 3 * kHalf);
}

TEST(BufferPoolBudget, ReleasesEverythingOnDestruction) {
  MemoryBudget budget(8 * BufferPool::kMaxBuffer);
  {
    BufferPool pool;
    ASSERT_TRUE(pool.set_budget(&budget, 8 * BufferPool::kMaxBuffer));
    BufferChain chain;
    ASSERT_TRUE(chain.allocate(pool, 3 * BufferPool::kMaxBuffer));
    EXPECT_EQ(budget.used(), 3 * BufferPool::kMaxBuffer);
    chain.reset();
    EXPECT_EQ(budget.used(), 3 * BufferPool::kMaxBuffer);  // cached
    EXPECT_FALSE(chain.allocate(pool, 9 * BufferPool::kMaxBuffer));
    EXPECT_TRUE(chain.empty());
    EXPECT_LE(budget.used(), budget.limit());  // what the failed chain took is cached
  }
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace stgt::base
