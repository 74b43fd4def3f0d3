#include "daemon/privileges.h"

#include <gtest/gtest.h>
#include <pwd.h>

namespace stgt::daemon {
namespace {

TEST(ResolveRunAs, NoUserMeansNoDrop) {
  auto r = resolve_run_as("", "");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_value());
}

TEST(ResolveRunAs, GroupWithoutUserIsAnError) {
  auto r = resolve_run_as("", "disk");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "daemon.group needs daemon.user");
}

TEST(ResolveRunAs, RootIsRefused) {
  auto r = resolve_run_as("root", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "daemon.user must not be root");
  EXPECT_FALSE(resolve_run_as("0", "0"));
}

TEST(ResolveRunAs, UnknownNamesAreErrors) {
  auto r = resolve_run_as("no-such-user-stgt", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "daemon.user no-such-user-stgt: no such user");
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
  auto g = resolve_run_as("nobody", "no-such-group-stgt");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error(), "daemon.group no-such-group-stgt: no such group");
}

TEST(ResolveRunAs, NumericIdsWithoutPasswdEntryNeedAGroup) {
  constexpr const char* kUnlikelyUid = "4000123";
  ASSERT_EQ(::getpwuid(4000123), nullptr);
  EXPECT_FALSE(resolve_run_as(kUnlikelyUid, ""));
  auto r = resolve_run_as(kUnlikelyUid, "4000124");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->uid, 4000123u);
  EXPECT_EQ((*r)->gid, 4000124u);
  EXPECT_TRUE((*r)->user_name.empty());
}

TEST(ResolveRunAs, NamedUserTakesItsPrimaryGroup) {
  const passwd* nobody = ::getpwnam("nobody");
  if (nobody == nullptr) GTEST_SKIP() << "no user 'nobody'";
  auto r = resolve_run_as("nobody", "");
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->uid, nobody->pw_uid);
  EXPECT_EQ((*r)->gid, nobody->pw_gid);
  EXPECT_EQ((*r)->user_name, "nobody");
}

}  // namespace
}  // namespace stgt::daemon
