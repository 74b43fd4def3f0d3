#include "backing/backing_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "store_test_util.h"

namespace stgt::backing {
namespace {

using testing::TempDir;

TEST(StoreRegistryTest, BuiltinKindsAreRegistered) {
  StoreRegistry reg;
  EXPECT_FALSE(reg.has("file"));
  register_builtin_backing_stores(reg);
  EXPECT_TRUE(reg.has("file"));
  EXPECT_TRUE(reg.has("memory"));
  EXPECT_TRUE(reg.has("null"));
  EXPECT_FALSE(reg.has("rbd"));
}

TEST(StoreRegistryTest, OpensEachBuiltinKind) {
  StoreRegistry reg;
  register_builtin_backing_stores(reg);
  TempDir dir;
  for (const StoreSpec& spec :
       {StoreSpec{"file", dir.file("a.img"), 1 << 20, false},
        StoreSpec{"memory", "", 1 << 20, false}, StoreSpec{"null", "", 1 << 20, false}}) {
    auto store = reg.open(spec);
    ASSERT_TRUE(store.ok()) << spec.kind << ": " << store.error();
    EXPECT_EQ((*store)->kind(), spec.kind);
    EXPECT_EQ((*store)->size(), 1u << 20);
  }
}

TEST(StoreRegistryTest, ErrorsAreOneClearSentence) {
  StoreRegistry reg;
  register_builtin_backing_stores(reg);
  TempDir dir;
  // Root may write anywhere in a 0555 directory; sysfs refuses new files to everyone.
  std::string unwritable = dir.file("ro");
  ASSERT_EQ(::mkdir(unwritable.c_str(), 0555), 0);
  if (::access(unwritable.c_str(), W_OK) == 0) unwritable = "/sys";
  struct Case {
    StoreSpec spec;
    std::string error;
  };
  const Case cases[] = {
      {{"tape", "", 1, false}, "unknown backing store kind 'tape'"},
      {{"", "", 1, false}, "unknown backing store kind ''"},
      {{"file", "", 4096, false}, "a file store needs a path"},
      {{"file", dir.file("missing.img"), 0, false},
       "cannot open " + dir.file("missing.img") + ": No such file or directory"},
      {{"file", dir.file("nodir/x.img"), 4096, false},
       "cannot create " + dir.file("nodir/x.img") + ": No such file or directory"},
      {{"file", unwritable + "/x.img", 4096, false},
       "cannot create " + unwritable + "/x.img: Permission denied"},
      {{"file", dir.path(), 0, false}, "cannot open " + dir.path() + ": Is a directory"},
      {{"memory", "", 0, false}, "a memory store needs a size"},
      {{"null", "", 0, false}, "a null store needs a size"},
  };
  for (const Case& c : cases) {
    auto store = reg.open(c.spec);
    ASSERT_FALSE(store.ok()) << c.spec.kind << " " << c.spec.path;
    EXPECT_EQ(store.error(), c.error);
  }
}

TEST(StoreRegistryTest, LaterAddReplacesAKind) {
  StoreRegistry reg;
  register_builtin_backing_stores(reg);
  reg.add("null", [](const StoreSpec&) -> base::Result<std::unique_ptr<BackingStore>, std::string> {
    return base::unexpected(std::string("replaced"));
  });
  auto store = reg.open({"null", "", 1, false});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error(), "replaced");
}

}  // namespace
}  // namespace stgt::backing
