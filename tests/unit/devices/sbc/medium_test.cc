#include <gtest/gtest.h>

#include "harness.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;

Bytes start_stop(uint8_t byte4) { return Bytes{0x1b, 0, 0, 0, byte4, 0}; }

TEST(StartStopUnit, EjectAndLoadRemovable) {
  Harness h(512, scsi::LuSettings{.removable = true});
  EXPECT_EQ(h.run(start_stop(0x02))->status, scsi::Status::kGood);  // LOEJ, !START: eject
  auto tur = h.run(Bytes{0, 0, 0, 0, 0, 0});
  EXPECT_EQ(test::sense_of(*tur).key, 0x2);
  EXPECT_EQ(test::sense_of(*tur).asc, 0x3a);
  EXPECT_EQ(test::sense_of(*h.run(test::cdb10(0x28, 0, 1), 512)).asc, 0x3a);
  EXPECT_EQ(test::sense_of(*h.run(test::cdb10(0x35, 0, 0))).asc, 0x3a);
  EXPECT_EQ(h.run(Bytes{0x12, 0, 0, 0, 96, 0}, 96)->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(start_stop(0x03))->status, scsi::Status::kGood);  // load
  EXPECT_EQ(h.run(Bytes{0, 0, 0, 0, 0, 0})->status, scsi::Status::kGood);
}

// libiscsi NoMedia.NoMediaSBC: with the medium ejected every medium command, the thin
// provisioning ones included, answers NOT READY / MEDIUM NOT PRESENT (never INVALID
// COMMAND OPERATION CODE, which libiscsi reports as "[SKIPPED] not supported").
TEST(StartStopUnit, EjectedMediumCommands) {
  for (const bool thin : {true, false}) {
    Harness h(512, scsi::LuSettings{.removable = true, .thin = thin});
    ASSERT_EQ(h.run(start_stop(0x02))->status, scsi::Status::kGood);
    Bytes unmap{0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0};
    Bytes lba_status(16, 0);
    lba_status[0] = 0x9e;
    lba_status[1] = 0x12;
    lba_status[13] = 24;
    const std::vector<std::pair<Bytes, Bytes>> commands = {
        {test::cdb10(0x41, 0, 1), Bytes(512, 0)},        // WRITE SAME (10)
        {test::cdb16(0x93, 0, 1), Bytes(512, 0)},        // WRITE SAME (16)
        {test::cdb16(0x8b, 0, 1), Bytes(512, 0)},        // ORWRITE (16)
        {unmap, Bytes(24, 0)},                           // UNMAP
        {lba_status, Bytes{}},                           // GET LBA STATUS
    };
    for (const auto& [cdb, out] : commands) {
      SCOPED_TRACE(int(cdb[0]));
      auto c = h.run(cdb, 24, out);
      EXPECT_EQ(test::sense_of(*c).key, 0x2);
      EXPECT_EQ(test::sense_of(*c).asc, 0x3a);
    }
    EXPECT_EQ(h.store->writes + h.store->unmaps, 0);
  }
}

TEST(StartStopUnit, PowerConditionsIgnored) {
  Harness h;
  EXPECT_EQ(h.run(start_stop(0x00))->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(start_stop(0x01))->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(start_stop(0x32))->status, scsi::Status::kGood);
  EXPECT_TRUE(h.disk->medium_present());
}

TEST(StartStopUnit, LoejOnFixedDiskIsInvalid) {
  Harness h;
  auto c = h.run(start_stop(0x02));
  EXPECT_EQ(test::sense_of(*c).asc, 0x24);
  EXPECT_EQ(base::load_be16(&c->sense[16]), 4);
}

TEST(PreventAllow, PreventBlocksEject) {
  Harness h(512, scsi::LuSettings{.removable = true});
  EXPECT_EQ(h.run(Bytes{0x1e, 0, 0, 0, 1, 0})->status, scsi::Status::kGood);
  auto c = h.run(start_stop(0x02));
  EXPECT_EQ(test::sense_of(*c).asc, 0x53);
  EXPECT_EQ(h.run(Bytes{0x1e, 0, 0, 0, 0, 0})->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(start_stop(0x02))->status, scsi::Status::kGood);
}

// SBC-4 5.15: prevention is per I_T nexus; removal stays prevented while any nexus prevents
// it, and a nexus's prevention ends with the nexus (logout, drop) or a LU reset.
TEST(PreventAllow, HeldPerNexus) {
  Harness h(512, scsi::LuSettings{.removable = true});
  auto other = h.add_nexus("iqn.other", 7);
  const Bytes prevent{0x1e, 0, 0, 0, 1, 0};
  const Bytes allow{0x1e, 0, 0, 0, 0, 0};
  ASSERT_EQ(h.run(prevent)->status, scsi::Status::kGood);
  ASSERT_EQ(h.run(allow, 0, {}, 0, other.get())->status, scsi::Status::kGood);
  EXPECT_TRUE(h.disk->removal_prevented());  // the other nexus's ALLOW does not undo ours
  EXPECT_EQ(test::sense_of(*h.run(start_stop(0x02), 0, {}, 0, other.get())).asc, 0x53);
  ASSERT_EQ(h.run(prevent, 0, {}, 0, other.get())->status, scsi::Status::kGood);
  ASSERT_EQ(h.run(allow)->status, scsi::Status::kGood);
  EXPECT_TRUE(h.disk->removal_prevented());
  scsi::nexus_lost(*other);  // logout or connection drop
  EXPECT_FALSE(h.disk->removal_prevented());
  ASSERT_EQ(h.run(prevent)->status, scsi::Status::kGood);
  scsi::logical_unit_reset(*h.disk);
  EXPECT_FALSE(h.disk->removal_prevented());
  EXPECT_EQ(h.run(start_stop(0x02))->status, scsi::Status::kGood);
}

TEST(PreventAllow, LoadRefusedWhilePrevented) {
  Harness h(512, scsi::LuSettings{.removable = true});
  ASSERT_EQ(h.run(start_stop(0x02))->status, scsi::Status::kGood);  // eject
  ASSERT_EQ(h.run(Bytes{0x1e, 0, 0, 0, 1, 0})->status, scsi::Status::kGood);
  EXPECT_EQ(test::sense_of(*h.run(start_stop(0x03))).asc, 0x53);
  ASSERT_EQ(h.run(Bytes{0x1e, 0, 0, 0, 0, 0})->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(start_stop(0x03))->status, scsi::Status::kGood);
}

}  // namespace
}  // namespace stgt::devices
