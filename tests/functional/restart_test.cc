// A file LUN keeps its data across a stgtd restart with the same config.
#include <filesystem>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr uint64_t kLunSize = 16ull << 20;

class RestartTest : public StgtdTest {};

TEST_F(RestartTest, FileLunDataSurvivesRestart) {
  const config::LunConfig lun = stgtd_.file_lun(kLunSize);
  stgtd_.write_config(stgtd_.base_config({lun}));
  ASSERT_TRUE(stgtd_.start());
  ASSERT_TRUE(std::filesystem::exists(lun.path)) << "a missing file LUN is created";
  EXPECT_EQ(std::filesystem::file_size(lun.path), kLunSize);
  {
    IscsiSession session;
    ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
    ASSERT_TRUE(session.write(0, make_pattern(1, kBlockSize)));
    ASSERT_TRUE(session.write(777, make_pattern(2, 6145 * kBlockSize)));
    ASSERT_TRUE(session.write(kLunSize / kBlockSize - 1, make_pattern(3, kBlockSize)));
    ASSERT_TRUE(session.logout());
  }
  for (int restart = 0; restart < 2; ++restart) {
    ASSERT_TRUE(stgtd_.stop());
    ASSERT_TRUE(stgtd_.start()) << "restart " << restart;
    IscsiSession session;
    ASSERT_TRUE(session.login(stgtd_.portal(), kTargetIqn));
    std::vector<uint8_t> data;
    ASSERT_TRUE(session.read(0, kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(1, kBlockSize));
    ASSERT_TRUE(session.read(777, 6145 * kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(2, 6145 * kBlockSize));
    ASSERT_TRUE(session.read(kLunSize / kBlockSize - 1, kBlockSize, data));
    EXPECT_TRUE(data == make_pattern(3, kBlockSize));
    ASSERT_TRUE(session.logout());
  }
  EXPECT_EQ(std::filesystem::file_size(lun.path), kLunSize);
}

}  // namespace
}  // namespace stgt::functional
