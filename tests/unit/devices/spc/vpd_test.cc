#include "devices/spc/vpd.h"

#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes vpd(Harness& h, uint8_t page) {
  Bytes c{0x12, 1, page, 0x04, 0x00, 0};
  auto cmd = h.run(c, 1024);
  EXPECT_EQ(cmd->status, scsi::Status::kGood);
  return test::data_in(*cmd);
}

TEST(Vpd, SupportedPagesAllReadable) {
  Harness h;
  const Bytes d = vpd(h, 0x00);
  EXPECT_EQ(Bytes(d.begin() + 4, d.end()), (Bytes{0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2}));
  for (size_t i = 4; i < d.size(); ++i) {
    const Bytes p = vpd(h, d[i]);
    ASSERT_GE(p.size(), 4u);
    EXPECT_EQ(p[1], d[i]);
    EXPECT_EQ(base::load_be16(&p[2]) + 4u, p.size());
  }
}

// SPC-5 7.7.18 / SBC-4: Third-party Copy: Block Device ROD Token Limits (0000h), Supported
// Commands (0001h: EXTENDED COPY, the token commands, the RECEIVE COPY RESULTS service
// actions), Supported Descriptors (0008h: block-to-block segment, identification CSCD),
// Supported ROD Types (0108h).
TEST(Vpd, ThirdPartyCopyListsCommandsAndDescriptors) {
  Harness h;
  const Bytes d = vpd(h, 0x8f);
  ASSERT_GE(d.size(), 4u + 36u + 20u + 8u);
  EXPECT_EQ(base::load_be16(&d[4]), 0x0000);
  EXPECT_EQ(base::load_be16(&d[6]), 0x0020);
  EXPECT_EQ(base::load_be16(&d[4 + 10]), 64);                  // MAXIMUM RANGE DESCRIPTORS
  EXPECT_EQ(base::load_be32(&d[4 + 16]), 60u);                 // DEFAULT INACTIVITY TIMEOUT
  EXPECT_EQ(base::load_be64(&d[4 + 20]), uint64_t{1} << 22);  // MAXIMUM TOKEN TRANSFER SIZE
  const size_t cmds = 4 + 36;
  EXPECT_EQ(base::load_be16(&d[cmds]), 0x0001);
  const size_t commands_length = base::load_be16(&d[cmds + 2]);
  EXPECT_EQ(commands_length % 4, 0u);
  EXPECT_EQ(Bytes(d.begin() + cmds + 4, d.begin() + cmds + 4 + 13),
            (Bytes{12, 0x83, 3, 0x00, 0x10, 0x11, 0x84, 5, 0x00, 0x01, 0x03, 0x04, 0x07}));
  const size_t next = cmds + 4 + commands_length;
  ASSERT_GE(d.size(), next + 8);
  EXPECT_EQ(base::load_be16(&d[next]), 0x0008);
  EXPECT_EQ(Bytes(d.begin() + ptrdiff_t(next) + 4, d.begin() + ptrdiff_t(next) + 7),
            (Bytes{2, 0x02, 0xe4}));
  // Supported ROD Types (0108h): point in time (in and out), block device zero (in only).
  const size_t rod = next + 4 + base::load_be16(&d[next + 2]);
  ASSERT_EQ(d.size(), rod + 4 + 20);
  EXPECT_EQ(base::load_be16(&d[rod]), 0x0108);
  EXPECT_EQ(base::load_be16(&d[rod + 2]), 20);
  EXPECT_EQ(base::load_be16(&d[rod + 6]), 16);  // ROD TYPE DESCRIPTORS LENGTH
  EXPECT_EQ(base::load_be32(&d[rod + 8]), 0x00800000u);
  EXPECT_EQ(d[rod + 12], 0x03);  // TOKEN_IN, TOKEN_OUT
  EXPECT_EQ(base::load_be32(&d[rod + 16]), 0xffff0001u);
  EXPECT_EQ(d[rod + 20], 0x02);  // TOKEN_IN
  // INQUIRY 3PC: the disk is a copy manager.
  auto inq = h.run(Bytes{0x12, 0, 0, 0, 96, 0}, 96);
  EXPECT_NE(test::data_in(*inq)[5] & 0x08, 0);
}

TEST(Vpd, SerialMatchesIdentity) {
  Harness h;
  const Bytes d = vpd(h, 0x80);
  EXPECT_EQ(std::string(d.begin() + 4, d.end()), h.disk->identity().serial);
}

TEST(Vpd, DeviceIdentificationDesignators) {
  Harness h;
  const Bytes d = vpd(h, 0x83);
  std::vector<Bytes> found;
  for (size_t at = 4; at < d.size(); at += 4 + d[at + 3]) {
    found.emplace_back(d.begin() + at, d.begin() + at + 4 + d[at + 3]);
  }
  ASSERT_EQ(found.size(), 5u);
  EXPECT_EQ(found[0][1], 0x03);  // NAA, LU
  EXPECT_EQ(base::load_be64(&found[0][4]), h.disk->identity().naa);
  EXPECT_EQ(found[1][0], 0x02);  // ASCII
  EXPECT_EQ(found[1][1], 0x01);  // T10 vendor ID
  EXPECT_EQ(std::string(found[1].begin() + 4, found[1].begin() + 12), "STGT    ");
  EXPECT_EQ(found[2][0], 0x51);
  EXPECT_EQ(found[2][1], 0x94);  // PIV, target port, relative target port
  EXPECT_EQ(base::load_be16(&found[2][6]), 1);
  EXPECT_EQ(found[3][1], 0x95);  // target port group
  EXPECT_EQ(found[4][0], 0x53);  // UTF-8
  EXPECT_EQ(found[4][1], 0x98);  // SCSI name string, target port
  EXPECT_EQ(found[4][3] % 4, 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(&found[4][4])),
            "iqn.2024-01.org.stgt:test,t,0x0001");
}

TEST(Vpd, BlockPagesFullLu) {
  // Thin asked for, but the store cannot unmap: fully provisioned.
  Harness h(4096, scsi::LuSettings{.thin = true}, /*store_can_unmap=*/false);
  const Bytes bl = vpd(h, 0xb0);
  EXPECT_EQ(bl[3], 0x3c);
  EXPECT_EQ(bl[4] & 0x01, 0);  // WSNZ 0
  EXPECT_EQ(base::load_be32(&bl[8]), (16u << 20) / 4096);
  EXPECT_EQ(base::load_be32(&bl[20]), 0u);  // no UNMAP (libiscsi Inquiry.BlockLimits)
  EXPECT_EQ(base::load_be32(&bl[24]), 0u);
  EXPECT_EQ(base::load_be64(&bl[36]), 0xffffu);  // WRITE SAME works anyway
  const Bytes bdc = vpd(h, 0xb1);
  EXPECT_EQ(base::load_be16(&bdc[4]), 1);  // non-rotating
  EXPECT_EQ(bdc[7] & 0xf0, 0x40);  // WABEREQ 01b (reads after BLOCK ERASE work), WACEREQ 00b
  // Over a store that encrypts: WACEREQ 01b (reads after CRYPTOGRAPHIC ERASE work).
  h.store->crypto_capable = true;
  EXPECT_EQ(vpd(h, 0xb1)[7] & 0xf0, 0x50);
  const Bytes lbp = vpd(h, 0xb2);
  EXPECT_EQ(lbp[5], 0);            // no LBPU / LBPWS / LBPWS10 / LBPRZ
  EXPECT_EQ(lbp[6] & 0x07, 0x00);  // full
}

TEST(Vpd, BlockPagesThinLu) {
  for (const uint32_t bs : {512u, 4096u}) {
    Harness h(bs, scsi::LuSettings{.thin = true});
    const Bytes bl = vpd(h, 0xb0);
    EXPECT_EQ(bl[4] & 0x01, 0);                             // WSNZ 0
    EXPECT_EQ(base::load_be32(&bl[20]), (256u << 20) / bs);  // MAXIMUM UNMAP LBA COUNT
    EXPECT_LE(base::load_be32(&bl[20]), 1024u * 1024);       // libiscsi sanity bound
    EXPECT_EQ(base::load_be32(&bl[24]), 256u);               // ... BLOCK DESCRIPTOR COUNT
    EXPECT_EQ(base::load_be32(&bl[28]), 4096 / bs);          // OPTIMAL UNMAP GRANULARITY
    EXPECT_EQ(base::load_be32(&bl[32]), 0x80000000u);        // UGAVALID, alignment 0
    EXPECT_EQ(base::load_be64(&bl[36]), 0xffffu);  // MAXIMUM WRITE SAME LENGTH
    const Bytes lbp = vpd(h, 0xb2);
    EXPECT_EQ(lbp[5], 0xe4);         // LBPU, LBPWS, LBPWS10, LBPRZ 001b, ANC_SUP 0
    EXPECT_EQ(lbp[6] & 0x07, 0x02);  // thin
  }
}

}  // namespace
}  // namespace stgt::devices
