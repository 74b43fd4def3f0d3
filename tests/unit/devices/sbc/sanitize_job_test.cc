// SanitizeJob (devices/sbc/sanitize_job.cc) through SANITIZE commands, with the harness's
// store holding writes in flight so the job can be stepped one chunk at a time.
#include <gtest/gtest.h>

#include "harness.h"
#include "scsi/logical_unit.h"
#include "scsi/scsi_layer.h"

namespace stgt::devices {
namespace {

using test::Bytes;
using test::Harness;
using test::overwrite_list;
using test::sanitize_cdb;
using State = scsi::LogicalUnit::SanitizeState;

constexpr uint8_t kOverwrite = 0x01;
constexpr uint8_t kBlockErase = 0x02;
constexpr uint8_t kExitFailureMode = 0x1f;
constexpr uint8_t kImmed = 0x80;
constexpr uint8_t kAuse = 0x20;

const Bytes kTur(6, 0);
Bytes request_sense() {
  return {0x03, 0, 0, 0, 252, 0};
}
Bytes inquiry() {
  return {0x12, 0, 0, 0, 96, 0};
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

}  // namespace
}  // namespace stgt::devices
