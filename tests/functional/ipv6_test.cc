// An IPv6 portal ([::1]) serves discovery, login and I/O. Skipped only when ::1 is not
// configured on this machine.
#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

class Ipv6Test : public StgtdTest {};

TEST_F(Ipv6Test, LoginAndIoOverIpv6) {
  const uint16_t port6 = pick_free_port("::1");
  if (port6 == 0) GTEST_SKIP() << "::1 is not configured on this machine";
  const std::string portal6 = "[::1]:" + std::to_string(port6);
  config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(8 << 20)});
  c.portals.push_back({.address = portal6});
  stgtd_.write_config(c);
  ASSERT_TRUE(stgtd_.start({}, portal6));

  IscsiSession discovery;
  std::vector<std::string> names;
  ASSERT_TRUE(discovery.discover(portal6, names));
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], kTargetIqn);

  IscsiSession session;
  ASSERT_TRUE(session.login(portal6, kTargetIqn));
  const auto pattern = make_pattern(6, 2049 * kBlockSize);
  ASSERT_TRUE(session.write(10, pattern));
  std::vector<uint8_t> data;
  ASSERT_TRUE(session.read(10, pattern.size(), data));
  EXPECT_TRUE(data == pattern);
  ASSERT_TRUE(session.logout());
}

}  // namespace
}  // namespace stgt::functional
