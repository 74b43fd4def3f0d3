#include "backing/memory/memory_store.h"

#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "../store_test_util.h"

namespace stgt::backing {
namespace {

using testing::Recorder;

TEST(MemoryStoreTest, StartsZeroedAndRoundTripsAcrossIovecs) {
  auto store = MemoryStore::open({"memory", "", 8 << 20, false});
  ASSERT_TRUE(store.ok()) << store.error();
  BackingStore& s = **store;
  EXPECT_EQ(s.kind(), "memory");

  std::vector<uint8_t> zero(4096, 0xff);
  iovec ziov{zero.data(), zero.size()};
  Recorder z;
  s.read(nullptr, {&ziov, 1}, 5 << 20, &z);
  EXPECT_EQ(z.result_, 4096);
  EXPECT_EQ(zero, std::vector<uint8_t>(4096, 0));

  std::vector<uint8_t> data(10000);
  std::iota(data.begin(), data.end(), uint8_t(7));
  iovec wiov[3] = {{data.data(), 1}, {data.data() + 1, 4999}, {data.data() + 5000, 5000}};
  Recorder w;
  s.write(nullptr, wiov, 12345, false, &w);
  EXPECT_EQ(w.calls_, 1);  // inline
  EXPECT_EQ(w.result_, 10000);

  std::vector<uint8_t> back(10000);
  iovec riov[2] = {{back.data(), 3333}, {back.data() + 3333, 6667}};
  Recorder r;
  s.read(nullptr, riov, 12345, &r);
  EXPECT_EQ(r.result_, 10000);
  EXPECT_EQ(back, data);

  Recorder f;
  s.flush(nullptr, &f);
  EXPECT_EQ(f.result_, 0);
}

TEST(MemoryStoreTest, LastByteIsReachableAndPastTheEndIsEinval) {
  auto store = MemoryStore::open({"memory", "", 4096, false});
  ASSERT_TRUE(store.ok());
  uint8_t byte = 0x5a;
  iovec one{&byte, 1};
  Recorder ok;
  (*store)->write(nullptr, {&one, 1}, 4095, false, &ok);
  EXPECT_EQ(ok.result_, 1);
  Recorder bad;
  (*store)->write(nullptr, {&one, 1}, 4096, false, &bad);
  EXPECT_EQ(bad.result_, -EINVAL);
  Recorder huge;
  (*store)->read(nullptr, {&one, 1}, UINT64_MAX, &huge);
  EXPECT_EQ(huge.result_, -EINVAL);
}

TEST(MemoryStoreTest, LargeSparseSizeIsCheap) {
  auto store = MemoryStore::open({"memory", "", uint64_t(64) << 30, false});  // 64 GiB
  ASSERT_TRUE(store.ok()) << store.error();
  EXPECT_EQ((*store)->size(), uint64_t(64) << 30);
}

// unmap zeroes the range: whole pages are released, partial pages at both edges cleared.
TEST(MemoryStoreTest, UnmapReadsBackZeros) {
  auto store = MemoryStore::open({"memory", "", 64 << 10, false});
  ASSERT_TRUE(store.ok());
  BackingStore& s = **store;
  EXPECT_TRUE(s.supports_unmap());
  std::vector<uint8_t> ones(64 << 10, 0xee);
  iovec iov{ones.data(), ones.size()};
  Recorder w;
  s.write(nullptr, {&iov, 1}, 0, false, &w);
  ASSERT_EQ(w.result_, int64_t(ones.size()));

  struct Range {
    uint64_t offset, length;
  };
  for (const Range r : {Range{100, 50}, Range{1000, 20000}, Range{8192, 8192}, Range{0, 0}}) {
    Recorder u;
    s.unmap(nullptr, r.offset, r.length, &u);
    EXPECT_EQ(u.calls_, 1);
    EXPECT_EQ(u.result_, 0);
  }
  std::vector<uint8_t> back(64 << 10);
  iovec riov{back.data(), back.size()};
  Recorder r;
  s.read(nullptr, {&riov, 1}, 0, &r);
  for (size_t i = 0; i < back.size(); ++i) {
    const bool zeroed = (i >= 100 && i < 150) || (i >= 1000 && i < 21000);
    ASSERT_EQ(back[i], zeroed ? 0 : 0xee) << i;
  }
  EXPECT_TRUE(s.provisioning_status(0, 4096).mapped);
  EXPECT_EQ(s.provisioning_status(0, 4096).length, 4096u);

  Recorder bad;
  s.unmap(nullptr, (64 << 10) - 1, 2, &bad);
  EXPECT_EQ(bad.result_, -EINVAL);
}

}  // namespace
}  // namespace stgt::backing
