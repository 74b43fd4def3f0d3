#include "base/memory_budget.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace stgt::base {
namespace {

TEST(MemoryBudget, ChargesUpToTheLimitOnly) {
  MemoryBudget b(100);
  EXPECT_TRUE(b.charge(60));
  EXPECT_FALSE(b.charge(41));
  EXPECT_TRUE(b.charge(40));
  EXPECT_EQ(b.used(), 100u);
  EXPECT_FALSE(b.charge(1));
  EXPECT_EQ(b.refusals(), 2u);
  b.release(60);
  EXPECT_EQ(b.used(), 40u);
  EXPECT_EQ(b.peak(), 100u);
  EXPECT_FALSE(b.charge(uint64_t(-1)));  // no overflow past the limit
}

TEST(MemoryBudget, NeverOvershootsUnderContention) {
  MemoryBudget b(1000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&b] {
      for (int i = 0; i < 10000; ++i) {
        if (b.charge(7)) b.release(7);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(b.used(), 0u);
  EXPECT_LE(b.peak(), 1000u);
}

TEST(MemoryBudget, DefaultIsAQuarterOfMemoryWithAFloor) {
  EXPECT_GE(MemoryBudget::default_limit(64u << 20), 64u << 20);
  EXPECT_EQ(MemoryBudget::default_limit(uint64_t(1) << 62), uint64_t(1) << 62);
}

}  // namespace
}  // namespace stgt::base
