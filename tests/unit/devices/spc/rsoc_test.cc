#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes rsoc(uint8_t options, uint8_t opcode = 0, uint16_t sa = 0, uint32_t alloc = 65535) {
  Bytes c(12, 0);
  c[0] = 0xa3;
  c[1] = 0x0c;
  c[2] = options;
  c[3] = opcode;
  base::store_be16(&c[4], sa);
  base::store_be32(&c[6], alloc);
  return c;
}

struct Descriptor {
  uint8_t opcode;
  uint16_t sa;
  bool servactv;
  bool ctdp;
  uint16_t cdb_length;
};

std::vector<Descriptor> all_commands(Harness& h, bool rctd) {
  auto c = h.run(rsoc(rctd ? 0x80 : 0), 65535);
  EXPECT_EQ(c->status, scsi::Status::kGood);
  const Bytes d = test::data_in(*c);
  EXPECT_EQ(base::load_be32(&d[0]) + 4u, d.size());
  std::vector<Descriptor> out;
  for (size_t at = 4; at < d.size();) {
    const bool ctdp = (d[at + 5] & 0x02) != 0;
    out.push_back({d[at], base::load_be16(&d[at + 2]), (d[at + 5] & 0x01) != 0, ctdp,
                   base::load_be16(&d[at + 6])});
    if (ctdp) {
      EXPECT_EQ(base::load_be16(&d[at + 8]), 0x0a);
    }
    at += ctdp ? 20 : 8;
  }
  return out;
}

TEST(Rsoc, AllCommandsFromTable) {
  Harness h;
  const auto list = all_commands(h, false);
  // 37 plain commands and service actions, REPORT and SET TARGET PORT GROUPS, READ DEFECT
  // DATA (10)/(12), RESERVE/RELEASE (6)/(10), 4 PERSISTENT RESERVE IN and 8 PERSISTENT
  // RESERVE OUT service actions, 3 THIRD-PARTY COPY OUT (EXTENDED COPY, POPULATE TOKEN,
  // WRITE USING TOKEN) and 5 THIRD-PARTY COPY IN service actions, 3 SANITIZE service
  // actions (OVERWRITE, BLOCK ERASE, EXIT FAILURE MODE); without UNMAP (thick LU).
  EXPECT_EQ(list.size(), 67u);
  for (const Descriptor& d : list) {
    EXPECT_FALSE(d.ctdp);
    EXPECT_EQ(d.servactv, d.opcode == 0x9e || d.opcode == 0xa3 || d.opcode == 0xa4 ||
                              d.opcode == 0x5e || d.opcode == 0x5f || d.opcode == 0x83 ||
                              d.opcode == 0x84 || d.opcode == 0x48);
  }
  for (const Descriptor& d : all_commands(h, true)) EXPECT_TRUE(d.ctdp);
}

TEST(Rsoc, UnmapListedOnlyOnAThinLu) {
  const auto has_unmap = [](const std::vector<Descriptor>& list) {
    return std::any_of(list.begin(), list.end(),
                       [](const Descriptor& d) { return d.opcode == 0x42; });
  };
  Harness thick;
  EXPECT_FALSE(has_unmap(all_commands(thick, false)));
  EXPECT_EQ(test::data_in(*thick.run(rsoc(1, 0x42), 65535))[1] & 0x07, 0x01);  // not supported
  Harness thin(512, scsi::LuSettings{.thin = true});
  EXPECT_TRUE(has_unmap(all_commands(thin, false)));
  EXPECT_EQ(test::data_in(*thin.run(rsoc(1, 0x42), 65535))[1] & 0x07, 0x03);
}

// SANITIZE: OVERWRITE, BLOCK ERASE and EXIT FAILURE MODE; CRYPTOGRAPHIC ERASE only over a
// store that encrypts (libiscsi Sanitize.* look each one up before running it).
TEST(Rsoc, SanitizeServiceActions) {
  Harness h;
  for (const uint16_t sa : {0x01, 0x02, 0x1f}) {
    EXPECT_EQ(test::data_in(*h.run(rsoc(2, 0x48, sa), 65535))[1] & 0x07, 0x03) << sa;
  }
  EXPECT_EQ(test::data_in(*h.run(rsoc(2, 0x48, 0x03), 65535))[1] & 0x07, 0x01);
  const auto has_crypto_erase = [](const std::vector<Descriptor>& list) {
    return std::any_of(list.begin(), list.end(),
                       [](const Descriptor& d) { return d.opcode == 0x48 && d.sa == 0x03; });
  };
  EXPECT_FALSE(has_crypto_erase(all_commands(h, false)));
  // Over a store that encrypts: CRYPTOGRAPHIC ERASE too, in both reports.
  h.store->crypto_capable = true;
  EXPECT_TRUE(has_crypto_erase(all_commands(h, false)));
  const Bytes one = test::data_in(*h.run(rsoc(2, 0x48, 0x03), 65535));
  EXPECT_EQ(one[1] & 0x07, 0x03);
  EXPECT_EQ(one[4], 0x48);
  EXPECT_EQ(one[5], 0xa3);  // IMMED, AUSE, service action 03h
}

// libiscsi ReportSupportedOpcodes.OneCommand: option 1 only without service actions,
// option 2 only with; the usage data starts with the opcode.
TEST(Rsoc, OneCommandForEveryListedOpcode) {
  Harness h;
  for (const Descriptor& d : all_commands(h, false)) {
    SCOPED_TRACE(int(d.opcode));
    auto one = h.run(rsoc(1, d.opcode, d.sa), 65535);
    auto two = h.run(rsoc(2, d.opcode, d.sa), 65535);
    EXPECT_EQ(one->status, d.servactv ? scsi::Status::kCheckCondition : scsi::Status::kGood);
    EXPECT_EQ(two->status, d.servactv ? scsi::Status::kGood : scsi::Status::kCheckCondition);
    const Bytes r = test::data_in(*(d.servactv ? two : one));
    EXPECT_EQ(r[1] & 0x07, 0x03);
    EXPECT_EQ(base::load_be16(&r[2]), d.cdb_length);
    EXPECT_EQ(r[4], d.opcode);
    EXPECT_EQ(r.size(), 4u + d.cdb_length);
    EXPECT_EQ(h.run(rsoc(3, d.opcode, d.sa), 65535)->status, scsi::Status::kGood);
  }
}

TEST(Rsoc, UnsupportedAndInvalid) {
  Harness h;
  const Bytes r = test::data_in(*h.run(rsoc(1, 0x44), 65535));  // obsolete opcode
  EXPECT_EQ(r, (Bytes{0, 0x01, 0, 0}));
  const Bytes t = test::data_in(*h.run(rsoc(0x83, 0x28), 65535));
  EXPECT_EQ(t[1], 0x83);  // CTDP + supported
  EXPECT_EQ(t.size(), 4u + 10 + 12);
  EXPECT_EQ(test::sense_of(*h.run(rsoc(4), 65535)).asc, 0x24);
}

}  // namespace
}  // namespace stgt::devices
