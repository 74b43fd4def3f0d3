#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/byte_order.h"
#include "devices/spc/persistent_reserve.h"

namespace stgt::devices {
namespace {

using Bytes = std::vector<uint8_t>;

TEST(TransportId, ParseAndEncode) {
  const Bytes t = spc::encode_transport_id("iqn.x,i,0x00023d000001");
  EXPECT_EQ(t[0], 0x45);
  EXPECT_EQ(t.size() % 4, 0u);
  auto p = spc::parse_transport_id(t);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->port, "iqn.x,i,0x00023d000001");
  EXPECT_EQ(p->length, t.size());
  const Bytes node = spc::encode_transport_id("iqn.x");
  EXPECT_EQ(node[0], 0x05);
  EXPECT_EQ(node.size(), 24u);
  EXPECT_EQ(spc::parse_transport_id(node)->port, "iqn.x");
  Bytes no_nul = node;
  std::fill(no_nul.begin() + 4, no_nul.end(), 'a');
  EXPECT_FALSE(spc::parse_transport_id(no_nul));
  Bytes odd = t;
  base::store_be16(&odd[2], uint16_t(base::load_be16(&odd[2]) - 1));
  EXPECT_FALSE(spc::parse_transport_id(odd));
  Bytes format_mismatch = node;
  format_mismatch[0] = 0x45;  // port format without ",i,0x"
  EXPECT_FALSE(spc::parse_transport_id(format_mismatch));
  EXPECT_FALSE(spc::parse_transport_id(Bytes(3, 0)));
  // Spaces and control characters are not iSCSI name characters.
  for (const char bad : {' ', '\n', '\x7f'}) {
    Bytes b = spc::encode_transport_id("iqn.xy");
    b[6] = uint8_t(bad);
    EXPECT_FALSE(spc::parse_transport_id(b)) << int(bad);
  }
  EXPECT_FALSE(spc::parse_transport_id(spc::encode_transport_id(std::string(300, 'a'))));
}

}  // namespace
}  // namespace stgt::devices
