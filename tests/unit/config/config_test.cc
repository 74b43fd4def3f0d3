#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace stgt::config {
namespace {

TEST(ConfigErrorTest, FormatsWhatIsKnown) {
  EXPECT_EQ((ConfigError{"a.toml", 3, "daemon.reactors", "bad"}).to_string(),
            "a.toml:3: daemon.reactors: bad");
  EXPECT_EQ((ConfigError{"a.toml", 0, "portal", "none"}).to_string(), "a.toml: portal: none");
  EXPECT_EQ((ConfigError{"a.toml", 2, "", "syntax"}).to_string(), "a.toml:2: syntax");
}

TEST(DefaultConfigTest, IsTheDocumentedDemoAndValid) {
  Config config = default_config("/var/lib/stgt");
  EXPECT_EQ(config.source, "<default>");
  ASSERT_EQ(config.portals.size(), 1u);
  EXPECT_EQ(config.portals[0].address, "127.0.0.1:3260");
  ASSERT_EQ(config.targets.size(), 1u);
  EXPECT_EQ(config.targets[0].iqn, "iqn.2026-11.org.stgt:demo");
  ASSERT_EQ(config.targets[0].luns.size(), 1u);
  const LunConfig& lun = config.targets[0].luns[0];
  EXPECT_EQ(lun.id, 1u);
  EXPECT_EQ(lun.store, "file");
  EXPECT_EQ(lun.path, "/var/lib/stgt/demo-lun1.img");
  EXPECT_EQ(lun.size, uint64_t{1} << 30);
  EXPECT_EQ(lun.block_size, 512u);
  ASSERT_EQ(config.targets[0].acls.size(), 1u);
  EXPECT_EQ(config.targets[0].acls[0].initiator, "ALL");
  const Config before = config;
  EXPECT_TRUE(validate_config(config).ok());
  EXPECT_EQ(config, before);
}

TEST(LoadConfigFileTest, ReportsAMissingFile) {
  const auto result = load_config_file("/nonexistent/stgt.toml");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().file, "/nonexistent/stgt.toml");
  EXPECT_NE(result.error().message.find("cannot open"), std::string::npos);
}

TEST(LoadConfigFileTest, ReadsAFileAndNamesItInErrors) {
  char dir_template[] = "/tmp/stgt-config-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string path = std::string(dir_template) + "/stgt.toml";
  {
    std::ofstream out(path);
    out << "[[portal]]\naddress = \"127.0.0.1:3260\"\n";
  }
  const auto good = load_config_file(path);
  ASSERT_TRUE(good.ok()) << good.error().to_string();
  EXPECT_EQ(good->source, path);
  {
    std::ofstream out(path, std::ios::app);
    out << "[daemon]\nreactors = \"x\"\n";
  }
  const auto bad = load_config_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().to_string().rfind(path + ":4: daemon.reactors: ", 0), 0u)
      << bad.error().to_string();
  std::remove(path.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace stgt::config
