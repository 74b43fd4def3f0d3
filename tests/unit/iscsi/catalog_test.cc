#include "transport/iscsi/catalog.h"

#include <gtest/gtest.h>

namespace stgt::iscsi {
namespace {

TEST(CatalogTest, FindsTargetsCaseInsensitively) {
  auto catalog = std::make_shared<Catalog>();
  catalog->targets.push_back(std::make_shared<scsi::Target>("iqn.2026-11.org.stgt:a", ""));
  catalog->targets.push_back(std::make_shared<scsi::Target>("iqn.2026-11.org.stgt:b", "bee"));
  // RFC 3722: initiators may send names in any case; they compare as lower case.
  ASSERT_NE(catalog->find("IQN.2026-11.ORG.STGT:B"), nullptr);
  EXPECT_EQ(catalog->find("iqn.2026-11.org.stgt:b")->alias(), "bee");
  EXPECT_EQ(catalog->find("iqn.2026-11.org.stgt:c"), nullptr);
  EXPECT_EQ(catalog->find("iqn.2026-11.org.stgt:"), nullptr);
  EXPECT_EQ(catalog->find(""), nullptr);
}

TEST(CatalogTest, HandlePublishesWholeSnapshots) {
  CatalogHandle handle;
  EXPECT_TRUE(handle.get()->targets.empty());
  auto first = std::make_shared<Catalog>();
  first->portals.push_back({"127.0.0.1:3260", 1});
  handle.publish(first);
  auto held = handle.get();
  auto second = std::make_shared<Catalog>();
  handle.publish(second);
  // A reader keeps the snapshot it took; new readers see the new one.
  EXPECT_EQ(held->portals.size(), 1u);
  EXPECT_TRUE(handle.get()->portals.empty());
}

}  // namespace
}  // namespace stgt::iscsi
