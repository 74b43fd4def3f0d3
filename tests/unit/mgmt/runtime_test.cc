#include "mgmt/runtime.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace stgt::mgmt {
namespace {

class AtomicWriteTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stgt-atomic-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir); }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir;
};

TEST_F(AtomicWriteTest, ReplacesTheFileWithTheModeAndLeavesNoTemporary) {
  const std::string path = dir + "/stgt.toml";
  std::ofstream(path) << "old";
  ASSERT_TRUE(write_file_atomically(path, "new contents\n", 0600));
  EXPECT_EQ(read(path), "new contents\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir)) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(AtomicWriteTest, FailureLeavesTheOldFile) {
  const std::string path = dir + "/missing-dir/stgt.toml";
  const auto r = write_file_atomically(path, "x", 0600);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("missing-dir"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace stgt::mgmt
