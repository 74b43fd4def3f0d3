#include "backing/null/null_store.h"

#include <vector>

#include <gtest/gtest.h>

#include "../store_test_util.h"

namespace stgt::backing {
namespace {

using testing::Recorder;

TEST(NullStoreTest, ReadsZeroesWritesDiscardedCompletesInline) {
  auto store = NullStore::open({"null", "", 1 << 20, false});
  ASSERT_TRUE(store.ok()) << store.error();
  BackingStore& s = **store;
  EXPECT_EQ(s.kind(), "null");
  EXPECT_EQ(s.size(), 1u << 20);

  std::vector<uint8_t> a(4096, 0xab), b(512, 0xcd);
  iovec iov[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
  Recorder w;
  s.write(nullptr, iov, 8192, true, &w);
  EXPECT_EQ(w.calls_, 1);
  EXPECT_EQ(w.result_, 4608);

  Recorder r;
  s.read(nullptr, iov, 8192, &r);
  EXPECT_EQ(r.calls_, 1);
  EXPECT_EQ(r.result_, 4608);
  EXPECT_EQ(a, std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(b, std::vector<uint8_t>(512, 0));

  Recorder f;
  s.flush(nullptr, &f);
  EXPECT_EQ(f.result_, 0);
}

TEST(NullStoreTest, OutOfRangeIsEinval) {
  auto store = NullStore::open({"null", "", 4096, false});
  ASSERT_TRUE(store.ok());
  std::vector<uint8_t> a(4096);
  iovec iov{a.data(), a.size()};
  Recorder r;
  (*store)->read(nullptr, {&iov, 1}, 1, &r);
  EXPECT_EQ(r.result_, -EINVAL);
  Recorder w;
  (*store)->write(nullptr, {&iov, 1}, 8192, false, &w);
  EXPECT_EQ(w.result_, -EINVAL);
}

TEST(NullStoreTest, UnmapIsANoOpThatChecksTheRange) {
  auto store = NullStore::open({"null", "", 1 << 20, false});
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->supports_unmap());
  Recorder ok;
  (*store)->unmap(nullptr, 4096, 8192, &ok);
  EXPECT_EQ(ok.calls_, 1);
  EXPECT_EQ(ok.result_, 0);
  Recorder bad;
  (*store)->unmap(nullptr, 1 << 20, 1, &bad);
  EXPECT_EQ(bad.result_, -EINVAL);
  EXPECT_TRUE((*store)->provisioning_status(0, 1 << 20).mapped);
}

}  // namespace
}  // namespace stgt::backing
