// SANITIZE (devices/sbc/sanitize.cc): CDB and parameter list checks, and what each service
// action leaves on the medium. The job's life (progress, NOT READY, abort, failure mode):
// sanitize_job_test.cc.
#include <gtest/gtest.h>

#include "harness.h"
#include "scsi/logical_unit.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;
using test::overwrite_list;
using test::sanitize_cdb;
using State = scsi::LogicalUnit::SanitizeState;

constexpr uint8_t kOverwrite = 0x01;
constexpr uint8_t kBlockErase = 0x02;
constexpr uint8_t kCryptoErase = 0x03;
constexpr uint8_t kExitFailureMode = 0x1f;
constexpr scsi::LuSettings kThin{.thin = true};

struct Case {
  const char* name;
  Bytes cdb;
  Bytes list;
  uint8_t key;
  uint8_t asc;
  int field_byte = -1;
  bool cdb_field = true;
};

// CDB and parameter list checks, all before any I/O (libiscsi Sanitize.*Reserved,
// InvalidServiceAction, Overwrite's list length and pattern cases, ExitFailureMode).
std::vector<Case> cases() {
  const Bytes block(512, 0xaa);
  const Bytes good = overwrite_list(0x01, block);
  std::vector<Case> v = {
      {"znr (byte 1 bit 6)", sanitize_cdb(kOverwrite, 516, 0x40), good, 0x5, 0x24, 1},
      {"crypto erase not offered", sanitize_cdb(kCryptoErase), {}, 0x5, 0x24, 1},
      {"service action 0", sanitize_cdb(0x00), {}, 0x5, 0x24, 1},
      {"service action 4", sanitize_cdb(0x04), {}, 0x5, 0x24, 1},
      {"block erase with a list", sanitize_cdb(kBlockErase, 8), Bytes(8, 0), 0x5, 0x24, 7},
      {"exit failure mode with a list", sanitize_cdb(kExitFailureMode, 8), Bytes(8, 0), 0x5, 0x24,
       7},
      {"overwrite list of 4 bytes", sanitize_cdb(kOverwrite, 4), Bytes(4, 0), 0x5, 0x24, 7},
      {"overwrite list of 0 bytes", sanitize_cdb(kOverwrite, 0), {}, 0x5, 0x24, 7},
      {"overwrite list of block + 5", sanitize_cdb(kOverwrite, 517), Bytes(520, 0), 0x5, 0x24, 7},
      {"overwrite count 0", sanitize_cdb(kOverwrite, 516), overwrite_list(0x00, block), 0x5, 0x24,
       7},
      {"pattern length 0", sanitize_cdb(kOverwrite, 516), overwrite_list(0x01, block, 0), 0x5, 0x24,
       7},
      {"pattern longer than a block", sanitize_cdb(kOverwrite, 516),
       overwrite_list(0x01, block, 516), 0x5, 0x24, 7},
      {"test field", sanitize_cdb(kOverwrite, 516), overwrite_list(0x21, block), 0x5, 0x26, 0,
       false},
      {"pattern longer than the list", sanitize_cdb(kOverwrite, 8),
       overwrite_list(0x01, Bytes(4, 1), 8), 0x5, 0x26, 2, false},
      {"list shorter than its length", sanitize_cdb(kOverwrite, 516), Bytes(8, 0), 0x5, 0x1a},
  };
  for (uint16_t b = 2; b <= 6; ++b) {
    Bytes c = sanitize_cdb(kOverwrite, 516);
    c[b] = uint8_t(b);
    v.push_back({"reserved byte", c, good, 0x5, 0x24, b});
  }
  Bytes reserved_list = good;
  reserved_list[1] = 0x01;
  v.push_back(
      {"list byte 1 reserved", sanitize_cdb(kOverwrite, 516), reserved_list, 0x5, 0x26, 1, false});
  return v;
}

TEST(SanitizeCdb, RefusedBeforeAnyIo) {
  Harness h(512, kThin);
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    auto cmd = h.run(c.cdb, 0, c.list);
    EXPECT_EQ(h.completions, 1);
    EXPECT_EQ(h.store->writes, 0);
    EXPECT_EQ(h.store->unmaps, 0);
    EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
    ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*cmd).key, c.key);
    EXPECT_EQ(test::sense_of(*cmd).asc, c.asc);
    if (c.field_byte >= 0) {
      EXPECT_EQ(cmd->sense[15] & 0xc0, c.cdb_field ? 0xc0 : 0x80);  // SKSV, C/D
      EXPECT_EQ(base::load_be16(&cmd->sense[16]), c.field_byte);
    }
  }
}

TEST(SanitizeCdb, WriteProtectedIsDataProtect) {
  Harness h(512, scsi::LuSettings{.read_only = true, .thin = true});
  const std::vector<std::pair<Bytes, Bytes>> commands = {
      {sanitize_cdb(kOverwrite, 516), overwrite_list(0x01, Bytes(512, 0xaa))},
      {sanitize_cdb(kBlockErase), {}},
  };
  for (const auto& [cdb, list] : commands) {
    auto cmd = h.run(cdb, 0, list);
    ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*cmd).key, 0x7);
    EXPECT_EQ(test::sense_of(*cmd).asc, 0x27);
  }
  EXPECT_EQ(h.store->writes, 0);
}

TEST(SanitizeCdb, ReservationConflictLikeAWrite) {
  Harness h(512, kThin);
  auto other = h.add_nexus("iqn.other", 2);
  auto reserve = h.run({0x16, 0, 0, 0, 0, 0}, 0, {}, 0, other.get());
  ASSERT_EQ(reserve->status, scsi::Status::kGood);
  auto cmd = h.run(sanitize_cdb(kBlockErase));
  EXPECT_EQ(cmd->status, scsi::Status::kReservationConflict);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
}

TEST(Sanitize, OverwriteRepeatsThePatternAndFlushes) {
  Harness h(512, kThin);
  test::fill_blocks(*h.store, 0, Harness::kBlocks, 'a', 512);
  auto cmd = h.run(sanitize_cdb(kOverwrite, 8), 0, overwrite_list(0x01, {1, 2, 3, 4}));
  ASSERT_EQ(cmd->status, scsi::Status::kGood);
  EXPECT_EQ(h.completions, 1);
  for (size_t i = 0; i < h.store->bytes.size(); ++i) {
    ASSERT_EQ(h.store->bytes[i], uint8_t(i % 4 + 1)) << i;
  }
  EXPECT_GE(h.store->flushes, 1);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
}

TEST(Sanitize, InvertAlternatesBetweenPasses) {
  for (const uint8_t passes : {1, 2, 3}) {
    SCOPED_TRACE(int(passes));
    Harness h;
    auto cmd = h.run(sanitize_cdb(kOverwrite, 5), 0, overwrite_list(0x80 | passes, {0x0f}));
    ASSERT_EQ(cmd->status, scsi::Status::kGood);
    const uint8_t last = passes % 2 == 0 ? 0xf0 : 0x0f;
    EXPECT_TRUE(test::blocks_are(*h.store, 0, Harness::kBlocks, last, 512));
    EXPECT_EQ(h.store->written_bytes, uint64_t(passes) * Harness::kBlocks * 512);
  }
}

TEST(Sanitize, BlockEraseUnmapsAThinLu) {
  Harness h(512, kThin);
  test::fill_blocks(*h.store, 0, Harness::kBlocks, 'a', 512);
  h.store->set_mapped(0, h.store->bytes.size(), true);
  auto cmd = h.run(sanitize_cdb(kBlockErase));
  ASSERT_EQ(cmd->status, scsi::Status::kGood);
  EXPECT_EQ(h.store->writes, 0);
  EXPECT_EQ(h.store->unmapped_bytes, h.store->bytes.size());
  EXPECT_TRUE(test::blocks_are(*h.store, 0, Harness::kBlocks, 0, 512));
  EXPECT_EQ(h.store->provisioning_status(0, h.store->bytes.size()).mapped, false);
}

TEST(Sanitize, BlockEraseWritesZerosWhenItCannotUnmap) {
  for (const bool thin : {false, true}) {
    SCOPED_TRACE(thin);
    Harness h(512, scsi::LuSettings{.thin = thin});
    h.store->unmap_result = -EOPNOTSUPP;
    test::fill_blocks(*h.store, 0, Harness::kBlocks, 'a', 512);
    auto cmd = h.run(sanitize_cdb(kBlockErase));
    ASSERT_EQ(cmd->status, scsi::Status::kGood);
    EXPECT_TRUE(test::blocks_are(*h.store, 0, Harness::kBlocks, 0, 512));
  }
}

TEST(Sanitize, ExitFailureModeWithoutFailureIsGood) {
  Harness h;
  EXPECT_EQ(h.run(sanitize_cdb(kExitFailureMode))->status, scsi::Status::kGood);
}

// CRYPTOGRAPHIC ERASE over a store that encrypts (the fake's crypto_erase() scrambles what
// is mapped): the CDB checks of the other service actions, then one key change and a flush.
TEST(SanitizeCryptoErase, RefusedBeforeTheKeyChanges) {
  Harness h(512, kThin);
  h.store->crypto_capable = true;
  std::vector<std::pair<const char*, Bytes>> bad = {
      {"znr", sanitize_cdb(kCryptoErase, 0, 0x40)},
      {"a parameter list", sanitize_cdb(kCryptoErase, 8)},
  };
  for (uint16_t b = 2; b <= 6; ++b) {
    Bytes c = sanitize_cdb(kCryptoErase);
    c[b] = uint8_t(b);
    bad.push_back({"reserved byte", c});
  }
  for (const auto& [name, cdb] : bad) {
    SCOPED_TRACE(name);
    auto cmd = h.run(cdb, 0, cdb[8] != 0 ? Bytes(cdb[8], 0) : Bytes{});
    ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*cmd).key, 0x5);
    EXPECT_EQ(test::sense_of(*cmd).asc, 0x24);
  }
  EXPECT_EQ(h.store->crypto_erases, 0);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
}

TEST(SanitizeCryptoErase, ReplacesTheKeyAndFlushes) {
  for (const uint8_t flags : {uint8_t(0), uint8_t(0x80)}) {  // without and with IMMED
    SCOPED_TRACE(int(flags));
    Harness h(512, kThin);
    h.store->crypto_capable = true;
    test::fill_blocks(*h.store, 0, Harness::kBlocks, 'a', 512);
    h.store->set_mapped(0, h.store->bytes.size(), true);
    auto cmd = h.run(sanitize_cdb(kCryptoErase, 0, flags));
    ASSERT_EQ(cmd->status, scsi::Status::kGood);
    EXPECT_EQ(h.store->crypto_erases, 1);
    EXPECT_EQ(h.store->writes, 0);  // no data written: the key changed
    EXPECT_EQ(h.store->unmaps, 0);
    EXPECT_GE(h.store->flushes, 1);
    EXPECT_FALSE(test::blocks_are(*h.store, 0, Harness::kBlocks, 'a', 512));
    EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
    // WACEREQ 01b: reads complete GOOD afterwards.
    EXPECT_EQ(h.run({0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 512)->status, scsi::Status::kGood);
  }
}

TEST(SanitizeCryptoErase, AFailedKeyChangeIsSanitizeFailure) {
  Harness h(512, kThin);
  h.store->crypto_capable = true;
  h.store->crypto_erase_result = -EIO;
  auto cmd = h.run(sanitize_cdb(kCryptoErase));
  ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*cmd).key, 0x3);  // MEDIUM ERROR
  EXPECT_EQ(test::sense_of(*cmd).asc, 0x31);
  EXPECT_EQ(test::sense_of(*cmd).ascq, 0x03);  // SANITIZE COMMAND FAILED
  EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
  // Another try that works leaves failure mode (SBC-4 4.11.4).
  h.store->crypto_erase_result = 0;
  EXPECT_EQ(h.run(sanitize_cdb(kCryptoErase))->status, scsi::Status::kGood);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
}

TEST(SanitizeCryptoErase, WriteProtectAndReservationsAsForTheOthers) {
  Harness ro(512, scsi::LuSettings{.read_only = true, .thin = true});
  ro.store->crypto_capable = true;
  auto cmd = ro.run(sanitize_cdb(kCryptoErase));
  ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*cmd).key, 0x7);
  EXPECT_EQ(test::sense_of(*cmd).asc, 0x27);
  EXPECT_EQ(ro.store->crypto_erases, 0);

  Harness h(512, kThin);
  h.store->crypto_capable = true;
  auto other = h.add_nexus("iqn.other", 2);
  ASSERT_EQ(h.run({0x16, 0, 0, 0, 0, 0}, 0, {}, 0, other.get())->status, scsi::Status::kGood);
  EXPECT_EQ(h.run(sanitize_cdb(kCryptoErase))->status, scsi::Status::kReservationConflict);
  EXPECT_EQ(h.store->crypto_erases, 0);
}

}  // namespace
}  // namespace stgt::devices
