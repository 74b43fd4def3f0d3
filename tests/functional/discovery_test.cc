// SendTargets discovery honours per-initiator ACLs (DESIGN.md: LUN masking), and a login to a
// target the initiator may not see fails.
#include <algorithm>

#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr const char* kOpenIqn = "iqn.2026-11.org.stgt.test:open";
constexpr const char* kMineIqn = "iqn.2026-11.org.stgt.test:mine";
constexpr const char* kOtherIqn = "iqn.2026-11.org.stgt.test:other";
constexpr const char* kOtherInitiator = "iqn.2026-11.org.stgt.test:someone-else";

class DiscoveryTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    config::Config c = stgtd_.base_config({});
    c.targets.clear();
    const auto target = [](const char* iqn, const char* initiator) {
      config::TargetConfig t{.iqn = iqn};
      t.luns.push_back(StgtdProcess::memory_lun(1 << 20));
      t.acls.push_back({.initiator = initiator});
      return t;
    };
    c.targets.push_back(target(kOpenIqn, "ALL"));
    c.targets.push_back(target(kMineIqn, kInitiatorIqn));
    c.targets.push_back(target(kOtherIqn, kOtherInitiator));
    stgtd_.write_config(c);
    ASSERT_TRUE(stgtd_.start());
  }

  static bool contains(const std::vector<std::string>& names, const char* name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  }
};

TEST_F(DiscoveryTest, SendTargetsListsOnlyTargetsTheInitiatorMaySee) {
  IscsiSession session(kInitiatorIqn);
  std::vector<std::string> names;
  ASSERT_TRUE(session.discover(stgtd_.portal(), names));
  EXPECT_TRUE(contains(names, kOpenIqn));
  EXPECT_TRUE(contains(names, kMineIqn));
  EXPECT_FALSE(contains(names, kOtherIqn));
  EXPECT_EQ(names.size(), 2u);
  EXPECT_TRUE(session.logout());
}

TEST_F(DiscoveryTest, AnotherInitiatorSeesItsOwnTargets) {
  IscsiSession session(kOtherInitiator);
  std::vector<std::string> names;
  ASSERT_TRUE(session.discover(stgtd_.portal(), names));
  EXPECT_TRUE(contains(names, kOpenIqn));
  EXPECT_TRUE(contains(names, kOtherIqn));
  EXPECT_FALSE(contains(names, kMineIqn));
}

TEST_F(DiscoveryTest, LoginToAHiddenTargetFails) {
  IscsiSession session(kInitiatorIqn);
  EXPECT_FALSE(session.login(stgtd_.portal(), kOtherIqn));
}

TEST_F(DiscoveryTest, LoginToAnUnknownTargetFails) {
  IscsiSession session(kInitiatorIqn);
  EXPECT_FALSE(session.login(stgtd_.portal(), "iqn.2026-11.org.stgt.test:nonexistent"));
}

}  // namespace
}  // namespace stgt::functional
