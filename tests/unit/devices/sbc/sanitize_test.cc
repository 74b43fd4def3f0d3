#include <gtest/gtest.h>

#include "harness.h"
#include "scsi/logical_unit.h"
#include "scsi/scsi_layer.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;
using State = scsi::LogicalUnit::SanitizeState;

constexpr uint8_t kSanitize = 0x48;
constexpr uint8_t kOverwrite = 0x01;
constexpr uint8_t kBlockErase = 0x02;
constexpr uint8_t kCryptoErase = 0x03;
constexpr uint8_t kExitFailureMode = 0x1f;
constexpr uint8_t kImmed = 0x80;
constexpr uint8_t kAuse = 0x20;
constexpr scsi::LuSettings kThin{.thin = true};

Bytes sanitize_cdb(uint8_t action, uint16_t list_length = 0, uint8_t flags = 0) {
  Bytes c(10, 0);
  c[0] = kSanitize;
  c[1] = uint8_t(flags | action);
  base::store_be16(&c[7], list_length);
  return c;
}

// OVERWRITE parameter list: byte 0 INVERT/TEST/COUNT, bytes 2..3 the pattern length.
Bytes overwrite_list(uint8_t byte0, const Bytes& pattern, int length_field = -1) {
  Bytes l(4 + pattern.size(), 0);
  l[0] = byte0;
  base::store_be16(&l[2], uint16_t(length_field >= 0 ? length_field : int(pattern.size())));
  std::copy(pattern.begin(), pattern.end(), l.begin() + 4);
  return l;
}

const Bytes kTur(6, 0);
Bytes request_sense() {
  return {0x03, 0, 0, 0, 252, 0};
}
Bytes inquiry() {
  return {0x12, 0, 0, 0, 96, 0};
}

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

// The job, one held write at a time: IMMED answers at once, the LU answers NOT READY,
// SANITIZE IN PROGRESS with a growing progress indication to media access, REQUEST SENSE
// reports the same, INQUIRY still runs, and the LU is ready again once the job is done.
TEST(SanitizeJob, ImmedRunsInTheBackgroundWithProgress) {
  Harness h(4096);  // 4 MiB: four 1 MiB chunks
  h.store->hold_writes = true;
  auto cmd = h.run(sanitize_cdb(kOverwrite, 5, kImmed), 0, overwrite_list(0x01, {0x5a}));
  EXPECT_EQ(h.completions, 1);
  EXPECT_EQ(cmd->status, scsi::Status::kGood);
  EXPECT_EQ(h.disk->sanitize_state(), State::kRunning);
  uint16_t last_progress = 0;
  for (int chunk = 0; chunk < 4; ++chunk) {
    SCOPED_TRACE(chunk);
    auto tur = h.run(kTur);
    ASSERT_EQ(tur->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*tur).key, 0x2);
    EXPECT_EQ(test::sense_of(*tur).asc, 0x04);
    EXPECT_EQ(test::sense_of(*tur).ascq, 0x1b);
    EXPECT_EQ(tur->sense[15], 0x80);  // SKSV: progress indication
    const uint16_t progress = base::load_be16(&tur->sense[16]);
    EXPECT_EQ(progress, chunk * 16384);
    EXPECT_GE(progress, last_progress);
    last_progress = progress;
    auto rs = h.run(request_sense(), 252);
    ASSERT_EQ(rs->status, scsi::Status::kGood);
    const Bytes sense = test::data_in(*rs);
    EXPECT_EQ(sense[2] & 0x0f, 0x2);
    EXPECT_EQ(sense[12], 0x04);
    EXPECT_EQ(sense[13], 0x1b);
    EXPECT_EQ(base::load_be16(&sense[16]), progress);
    EXPECT_EQ(h.run(inquiry(), 96)->status, scsi::Status::kGood);
    auto again = h.run(sanitize_cdb(kBlockErase));
    EXPECT_EQ(test::sense_of(*again).ascq, 0x1b);
    ASSERT_EQ(h.store->held.size(), 1u);
    h.store->release_writes(chunk < 3);
  }
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  EXPECT_EQ(h.run(kTur)->status, scsi::Status::kGood);
  EXPECT_TRUE(test::blocks_are(*h.store, 0, Harness::kBlocks, 0x5a, 4096));
}

// Without IMMED the command completes when the job ends; task management may end the
// command first (scsi::abort_started), and the job goes on (SBC-4 4.11.3).
TEST(SanitizeJob, AbortEndsTheCommandNotTheJob) {
  Harness h(4096);
  h.store->hold_writes = true;
  auto cmd = h.run(sanitize_cdb(kOverwrite, 5), 0, overwrite_list(0x01, {0x33}));
  EXPECT_EQ(h.completions, 0);
  EXPECT_NE(cmd->on_abort, nullptr);
  const int before = h.owner.calls;
  scsi::abort_started(*cmd);
  EXPECT_EQ(h.owner.calls, before + 1);
  EXPECT_EQ(cmd->status, scsi::Status::kTaskAborted);
  scsi::abort_started(*cmd);  // at most once
  EXPECT_EQ(h.owner.calls, before + 1);
  EXPECT_EQ(h.disk->sanitize_state(), State::kRunning);
  h.store->release_writes(true);
  h.store->release_writes(true);
  h.store->release_writes(true);
  h.store->release_writes(false);
  EXPECT_EQ(h.owner.calls, before + 1);  // the command is not completed twice
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  EXPECT_TRUE(test::blocks_are(*h.store, 0, Harness::kBlocks, 0x33, 4096));
}

TEST(SanitizeJob, WithoutImmedCompletesAtTheEnd) {
  Harness h(4096);
  h.store->hold_writes = true;
  auto cmd = h.run(sanitize_cdb(kOverwrite, 5), 0, overwrite_list(0x01, {0x44}));
  EXPECT_EQ(h.completions, 0);
  const int before = h.owner.calls;
  for (int i = 0; i < 3; ++i)
    h.store->release_writes(true);
  EXPECT_EQ(h.owner.calls, before);
  h.store->release_writes(false);
  EXPECT_EQ(h.owner.calls, before + 1);
  EXPECT_EQ(cmd->status, scsi::Status::kGood);
  EXPECT_EQ(cmd->on_abort, nullptr);
}

// A failed sanitize leaves the LU answering MEDIUM ERROR, SANITIZE COMMAND FAILED to media
// access until EXIT FAILURE MODE (AUSE was set) or a successful sanitize (AUSE was clear).
TEST(SanitizeJob, FailureModeUntilExitOrSuccess) {
  for (const bool ause : {false, true}) {
    SCOPED_TRACE(ause);
    Harness h;
    h.store->write_result = -EIO;
    auto cmd =
        h.run(sanitize_cdb(kOverwrite, 5, ause ? kAuse : 0), 0, overwrite_list(0x01, {0x11}));
    ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
    EXPECT_EQ(test::sense_of(*cmd).key, 0x3);
    EXPECT_EQ(test::sense_of(*cmd).asc, 0x31);
    EXPECT_EQ(test::sense_of(*cmd).ascq, 0x03);
    EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
    h.store->write_result = 0;
    auto read = h.run(test::cdb10(0x28, 0, 1), 512);
    EXPECT_EQ(test::sense_of(*read).key, 0x3);
    EXPECT_EQ(test::sense_of(*read).asc, 0x31);
    const Bytes sense = test::data_in(*h.run(request_sense(), 252));
    EXPECT_EQ(sense[12], 0x31);
    EXPECT_EQ(h.run(inquiry(), 96)->status, scsi::Status::kGood);
    auto exit = h.run(sanitize_cdb(kExitFailureMode));
    if (ause) {
      EXPECT_EQ(exit->status, scsi::Status::kGood);
    } else {
      EXPECT_EQ(test::sense_of(*exit).asc, 0x24);
      EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
      EXPECT_EQ(h.run(sanitize_cdb(kBlockErase))->status, scsi::Status::kGood);
    }
    EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
    EXPECT_EQ(h.run(test::cdb10(0x28, 0, 1), 512)->status, scsi::Status::kGood);
  }
}

TEST(Sanitize, ExitFailureModeWithoutFailureIsGood) {
  Harness h;
  EXPECT_EQ(h.run(sanitize_cdb(kExitFailureMode))->status, scsi::Status::kGood);
}

}  // namespace
}  // namespace stgt::devices
