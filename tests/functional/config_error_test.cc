// A bad config makes stgtd exit non-zero, naming file and line on stderr, before it listens.
#include <sys/wait.h>

#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

struct BadConfig {
  const char* name;
  const char* text;
  int line;
};

class ConfigErrorTest : public StgtdTest, public testing::WithParamInterface<BadConfig> {};

TEST_P(ConfigErrorTest, ExitsNonZeroNamingFileAndLine) {
  stgtd_.write_config_text(GetParam().text);
  const auto status = stgtd_.run_to_exit({}, std::chrono::seconds(10));
  ASSERT_TRUE(status.has_value()) << "stgtd kept running with a bad config";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0) << "status " << *status;
  const std::string where = stgtd_.config_path() + ":" + std::to_string(GetParam().line);
  EXPECT_NE(stgtd_.log().find(where), std::string::npos)
      << "expected \"" << where << "\" in stderr:\n"
      << stgtd_.log();
}

INSTANTIATE_TEST_SUITE_P(
    Configs, ConfigErrorTest,
    testing::Values(BadConfig{"syntax", "[[portal]]\naddress = \"127.0.0.1:3260\n", 2},
                    BadConfig{"unknown_key",
                              "[[portal]]\naddress = \"127.0.0.1:3260\"\n[[target]]\n"
                              "iqn = \"iqn.2026-11.org.stgt.test:x\"\n[[target.lun]]\nid = 1\n"
                              "store = \"memory\"\nsize = \"1MiB\"\nblocksize = 512\n",
                              9},
                    BadConfig{"bad_iqn",
                              "[[portal]]\naddress = \"127.0.0.1:3260\"\n[[target]]\niqn = \"x\"\n",
                              4}),
    [](const testing::TestParamInfo<BadConfig>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace stgt::functional
