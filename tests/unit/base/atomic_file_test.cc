#include "base/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace stgt::base {
namespace {

class AtomicFileTest : public ::testing::Test {
 protected:
  AtomicFileTest() {
    char tmpl[] = "/tmp/stgt-atomic-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~AtomicFileTest() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AtomicFileTest, WriteReplaceReadRemove) {
  const std::string path = dir_ + "/state";
  auto missing = read_small_file(path);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing.value().has_value());
  ASSERT_TRUE(write_file_atomic(path, "first\n"));
  ASSERT_TRUE(write_file_atomic(path, "second\n"));
  auto got = read_small_file(path);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got.value(), "second\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));  // renamed, not left behind
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(remove_file_durably(path));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(remove_file_durably(path));  // absent is fine
}

TEST_F(AtomicFileTest, FailsWithAReasonInAMissingDirectory) {
  const auto r = write_file_atomic(dir_ + "/no/such/dir/state", "x");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("cannot create"), std::string::npos);
}

}  // namespace
}  // namespace stgt::base
