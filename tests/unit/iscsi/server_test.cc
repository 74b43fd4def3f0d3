#include "transport/iscsi/server.h"

#include <gtest/gtest.h>

#include <set>

namespace stgt::iscsi {
namespace {

TEST(SessionRegistryTest, AllocatesDistinctNonZeroTsihs) {
  SessionRegistry r;
  std::set<uint16_t> seen;
  for (uint64_t isid = 1; isid <= 100; ++isid) {
    std::optional<SessionRegistry::Entry> replaced;
    const uint16_t tsih = r.add("iqn.i", isid, "iqn.t", 1, nullptr, {}, replaced);
    EXPECT_NE(tsih, 0);
    EXPECT_TRUE(seen.insert(tsih).second);
    EXPECT_FALSE(replaced.has_value());
    EXPECT_TRUE(r.exists(tsih));
  }
  EXPECT_EQ(r.size(), 100u);
}

TEST(SessionRegistryTest, SameInitiatorPortReinstatesTheSession) {
  SessionRegistry r;
  std::optional<SessionRegistry::Entry> replaced;
  const uint16_t first = r.add("iqn.i", 0x23d000001, "iqn.t", 1, nullptr, {}, replaced);
  ASSERT_FALSE(replaced.has_value());
  // RFC 7143 6.3.5: same initiator name and ISID to the same target replaces the session.
  const uint16_t second = r.add("iqn.i", 0x23d000001, "iqn.t", 1, nullptr, {}, replaced);
  ASSERT_TRUE(replaced.has_value());
  EXPECT_EQ(replaced->tsih, first);
  EXPECT_NE(second, first);
  EXPECT_FALSE(r.exists(first));
  EXPECT_TRUE(r.exists(second));
  // A different ISID, or another target, is another session.
  replaced.reset();
  r.add("iqn.i", 0x23d000002, "iqn.t", 1, nullptr, {}, replaced);
  EXPECT_FALSE(replaced.has_value());
  r.add("iqn.i", 0x23d000001, "iqn.other", 1, nullptr, {}, replaced);
  EXPECT_FALSE(replaced.has_value());
  // RFC 7143 4.4.1: the same ISID through another target portal group is another session
  // (another I_T nexus: multipath from one initiator).
  r.add("iqn.i", 0x23d000001, "iqn.t", 2, nullptr, {}, replaced);
  EXPECT_FALSE(replaced.has_value());
  EXPECT_EQ(r.size(), 4u);
}

TEST(SessionRegistryTest, RemovedTsihIsGoneAndReusable) {
  SessionRegistry r;
  std::optional<SessionRegistry::Entry> replaced;
  const uint16_t tsih = r.add("iqn.i", 1, "iqn.t", 1, nullptr, {}, replaced);
  r.remove(tsih);
  EXPECT_FALSE(r.exists(tsih));
  EXPECT_EQ(r.size(), 0u);
  r.remove(tsih);  // twice is harmless
  EXPECT_EQ(r.add("iqn.i", 1, "iqn.t", 1, nullptr, {}, replaced) != 0, true);
  EXPECT_FALSE(replaced.has_value());
}

}  // namespace
}  // namespace stgt::iscsi
