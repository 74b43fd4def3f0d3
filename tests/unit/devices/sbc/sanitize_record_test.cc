// The durable sanitize record (devices/sbc/sanitize_record.cc): its encoding, how a damaged
// file is refused, what SANITIZE and its job leave on disk, and what an LU opened with a
// record comes back as.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "base/crc32c.h"
#include "devices/sbc/sanitize_record.h"
#include "harness.h"
#include "scsi/logical_unit.h"

namespace stgt::devices {
namespace {

using sbc::SanitizeRecord;
using sbc::SanitizeRequest;
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

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/stgt-sanitize-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::optional<std::string> read(const std::string& path) {
  auto r = base::read_small_file(path);
  return r ? *r : std::nullopt;
}

// A body with a correct checksum, to reach the field checks behind it.
std::string sealed(const std::string& body) {
  return body + fmt::format("crc32c {:08x}\n", base::crc32c(body.data(), body.size()));
}

SanitizeRecord overwrite_record() {
  SanitizeRecord r;
  r.state = SanitizeRecord::State::kRunning;
  r.ause = true;
  r.request.kind = SanitizeRequest::Kind::kOverwrite;
  r.request.pattern = {0x00, 0x5a, 0xff, 0x10};
  r.request.invert = true;
  r.request.passes = 31;
  r.request.resume_pass = 30;
  r.request.resume_offset = (uint64_t{5} << 40) + 4096;
  return r;
}

TEST(SanitizeRecord, RoundTrips) {
  SanitizeRecord erase;
  erase.request.kind = SanitizeRequest::Kind::kBlockErase;
  SanitizeRecord failed;
  failed.state = SanitizeRecord::State::kFailed;
  SanitizeRecord failed_ause = failed;
  failed_ause.ause = true;
  SanitizeRecord crypto;
  crypto.request.kind = SanitizeRequest::Kind::kCryptoErase;
  EXPECT_NE(sbc::encode_sanitize_record(crypto).find("\naction crypto-erase\n"), std::string::npos);
  for (const SanitizeRecord& r : {overwrite_record(), erase, failed, failed_ause, crypto}) {
    const std::string image = sbc::encode_sanitize_record(r);
    SCOPED_TRACE(image);
    auto back = sbc::decode_sanitize_record(image);
    ASSERT_TRUE(bool(back)) << back.error();
    EXPECT_EQ(back->state, r.state);
    EXPECT_EQ(back->ause, r.ause);
    if (r.state == SanitizeRecord::State::kFailed) continue;
    EXPECT_EQ(back->request.kind, r.request.kind);
    EXPECT_EQ(back->request.pattern, r.request.pattern);
    EXPECT_EQ(back->request.invert, r.request.invert);
    EXPECT_EQ(back->request.passes, r.request.passes);
    EXPECT_EQ(back->request.resume_pass, r.request.resume_pass);
    EXPECT_EQ(back->request.resume_offset, r.request.resume_offset);
  }
  // A version 1 record (before checkpoints) resumes from the beginning.
  auto v1 = sbc::decode_sanitize_record(
      sealed("stgt-sanitize 1\nstate running\nause 0\naction block-erase\ninvert 0\npasses 1\n"));
  ASSERT_TRUE(bool(v1)) << v1.error();
  EXPECT_EQ(v1->request.resume_pass, 0);
  EXPECT_EQ(v1->request.resume_offset, 0u);
}

// Whatever prefix of a record survives, and whatever byte is damaged, the decoder refuses
// it with a sentence (never a crash, never a guessed operation).
TEST(SanitizeRecord, TornOrDamagedIsRefused) {
  const std::string image = sbc::encode_sanitize_record(overwrite_record());
  for (size_t n = 0; n < image.size(); ++n) {
    auto r = sbc::decode_sanitize_record(image.substr(0, n));
    ASSERT_FALSE(bool(r)) << "prefix of " << n << " bytes";
    EXPECT_FALSE(r.error().empty());
  }
  for (size_t at = 0; at < image.size(); ++at) {
    std::string bad = image;
    bad[at] = char(bad[at] ^ 0x01);
    EXPECT_FALSE(bool(sbc::decode_sanitize_record(bad))) << "byte " << at;
  }
  std::string garbage(4096, '\0');
  for (size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = char(i * 131 + 7);
  EXPECT_FALSE(bool(sbc::decode_sanitize_record(garbage)));
  EXPECT_FALSE(bool(sbc::decode_sanitize_record(image + image)));
}

TEST(SanitizeRecord, FieldsAreChecked) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"version 3", "stgt-sanitize 3\nstate failed\nause 0\n"},
      {"v2 without resume",
       "stgt-sanitize 2\nstate running\nause 0\naction block-erase\ninvert 0\npasses 1\n"},
      {"resume past the last pass",
       "stgt-sanitize 2\nstate running\nause 0\naction block-erase\ninvert 0\npasses 2\n"
       "resume 3 0\n"},
      {"resume without offset",
       "stgt-sanitize 2\nstate running\nause 0\naction block-erase\ninvert 0\npasses 1\n"
       "resume 0\n"},
      {"resume offset not a number",
       "stgt-sanitize 2\nstate running\nause 0\naction block-erase\ninvert 0\npasses 1\n"
       "resume 0 -4096\n"},
      {"unknown state", "stgt-sanitize 1\nstate paused\nause 0\n"},
      {"ause 2", "stgt-sanitize 1\nstate failed\nause 2\n"},
      {"no ause", "stgt-sanitize 1\nstate failed\n"},
      {"trailing line", "stgt-sanitize 1\nstate failed\nause 0\nextra 1\n"},
      {"unknown action",
       "stgt-sanitize 1\nstate running\nause 0\naction crypto\ninvert 0\n"
       "passes 1\n"},
      {"passes 0",
       "stgt-sanitize 1\nstate running\nause 0\naction block-erase\ninvert 0\n"
       "passes 0\n"},
      {"passes 32",
       "stgt-sanitize 1\nstate running\nause 0\naction block-erase\ninvert 0\n"
       "passes 32\n"},
      {"no pattern",
       "stgt-sanitize 1\nstate running\nause 0\naction overwrite\ninvert 0\n"
       "passes 1\n"},
      {"odd pattern",
       "stgt-sanitize 1\nstate running\nause 0\naction overwrite\ninvert 0\n"
       "passes 1\npattern abc\n"},
      {"pattern not hex",
       "stgt-sanitize 1\nstate running\nause 0\naction overwrite\ninvert 0\n"
       "passes 1\npattern zz\n"},
  };
  for (const auto& [name, body] : cases) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(bool(sbc::decode_sanitize_record(sealed(body))));
  }
  EXPECT_TRUE(bool(sbc::decode_sanitize_record(
      sealed("stgt-sanitize 1\nstate running\nause 0\naction overwrite\ninvert 0\npasses 1\n"
             "pattern 5a\n"))));
}

// SANITIZE records the operation before its first write; success removes the record.
TEST(SanitizeRecord, RunningWhileTheJobRunsRemovedOnSuccess) {
  TempDir dir;
  Harness h(4096);
  h.disk->set_sanitize_record_path(dir.file("lu.sanitize"));
  h.store->hold_writes = true;
  auto cmd = h.run(sanitize_cdb(kOverwrite, 6, kImmed | kAuse), 0,
                   overwrite_list(0x80 | 0x02, {0x12, 0x34}));
  ASSERT_EQ(cmd->status, scsi::Status::kGood);
  const auto image = read(dir.file("lu.sanitize"));
  ASSERT_TRUE(image.has_value());
  auto r = sbc::decode_sanitize_record(*image);
  ASSERT_TRUE(bool(r)) << r.error();
  EXPECT_EQ(r->state, SanitizeRecord::State::kRunning);
  EXPECT_TRUE(r->ause);
  EXPECT_EQ(r->request.kind, SanitizeRequest::Kind::kOverwrite);
  EXPECT_TRUE(r->request.invert);
  EXPECT_EQ(r->request.passes, 2);
  ASSERT_EQ(r->request.pattern.size(), 4096u);
  EXPECT_EQ(r->request.pattern[2], 0x12);
  while (!h.store->held.empty())
    h.store->release_writes(true);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  EXPECT_FALSE(read(dir.file("lu.sanitize")).has_value());
}

// A failed sanitize records failure mode with its AUSE; EXIT FAILURE MODE removes it.
TEST(SanitizeRecord, FailureModeRecordedUntilExit) {
  TempDir dir;
  Harness h;
  h.disk->set_sanitize_record_path(dir.file("lu.sanitize"));
  h.store->write_result = -EIO;
  auto cmd = h.run(sanitize_cdb(kOverwrite, 5, kAuse), 0, overwrite_list(0x01, {0x11}));
  EXPECT_EQ(test::sense_of(*cmd).asc, 0x31);
  auto r = sbc::decode_sanitize_record(read(dir.file("lu.sanitize")).value_or(""));
  ASSERT_TRUE(bool(r)) << r.error();
  EXPECT_EQ(r->state, SanitizeRecord::State::kFailed);
  EXPECT_TRUE(r->ause);
  h.store->write_result = 0;
  EXPECT_EQ(h.run(sanitize_cdb(kExitFailureMode))->status, scsi::Status::kGood);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  EXPECT_FALSE(read(dir.file("lu.sanitize")).has_value());
}

// A sanitize that cannot be made durable does not start: no block changes, the LU stays
// as it was, and the initiator gets HARDWARE ERROR, INTERNAL TARGET FAILURE.
TEST(SanitizeRecord, NotStartedWhenItCannotBeRecorded) {
  TempDir dir;
  Harness h;
  h.disk->set_sanitize_record_path(dir.file("missing-dir/lu.sanitize"));
  auto cmd = h.run(sanitize_cdb(kBlockErase));
  ASSERT_EQ(cmd->status, scsi::Status::kCheckCondition);
  EXPECT_EQ(test::sense_of(*cmd).key, 0x4);
  EXPECT_EQ(test::sense_of(*cmd).asc, 0x44);
  EXPECT_EQ(h.store->writes, 0);
  EXPECT_EQ(h.store->unmaps, 0);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  EXPECT_EQ(h.run(kTur)->status, scsi::Status::kGood);
}

// Failure mode whose record cannot be removed is not left.
TEST(SanitizeRecord, ExitFailureModeKeepsFailureWhenTheRecordStays) {
  TempDir dir;
  Harness h;
  const std::string path = dir.file("lu.sanitize");
  h.disk->set_sanitize_record_path(path);
  h.disk->enter_sanitize_failure(true);
  std::filesystem::create_directory(path);  // remove() of a non-empty directory fails
  { std::ofstream(path + "/x") << "x"; }
  auto exit = h.run(sanitize_cdb(kExitFailureMode));
  EXPECT_EQ(test::sense_of(*exit).key, 0x4);
  EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
}

// What an LU opened with a record comes back as.
TEST(SanitizeRecord, Restore) {
  TempDir dir;
  const std::string path = dir.file("lu.sanitize");
  {
    SCOPED_TRACE("nothing recorded");
    Harness h;
    h.disk->set_sanitize_record_path(path);
    EXPECT_FALSE(sbc::restore_sanitize(*h.disk, "test").has_value());
    EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  }
  {
    SCOPED_TRACE("running: resumes from the beginning, NOT READY meanwhile");
    ASSERT_TRUE(
        bool(base::write_file_atomic(path, sbc::encode_sanitize_record(overwrite_record()))));
    Harness h;
    h.disk->set_sanitize_record_path(path);
    auto request = sbc::restore_sanitize(*h.disk, "test");
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->pattern.size(), 512u);  // repeated to the block length
    EXPECT_EQ(request->pattern[5], 0x5a);
    EXPECT_EQ(request->passes, 31);
    EXPECT_EQ(h.disk->sanitize_state(), State::kRunning);
    EXPECT_TRUE(h.disk->sanitize_ause());
    auto tur = h.run(kTur);
    EXPECT_EQ(test::sense_of(*tur).asc, 0x04);
    EXPECT_EQ(test::sense_of(*tur).ascq, 0x1b);
  }
  {
    SCOPED_TRACE("failed: failure mode with its AUSE");
    SanitizeRecord failed;
    failed.state = SanitizeRecord::State::kFailed;
    failed.ause = true;
    ASSERT_TRUE(bool(base::write_file_atomic(path, sbc::encode_sanitize_record(failed))));
    Harness h;
    h.disk->set_sanitize_record_path(path);
    EXPECT_FALSE(sbc::restore_sanitize(*h.disk, "test").has_value());
    EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
    EXPECT_EQ(test::sense_of(*h.run(test::cdb10(0x28, 0, 1), 512)).asc, 0x31);
    EXPECT_EQ(h.run(sanitize_cdb(kExitFailureMode))->status, scsi::Status::kGood);
    EXPECT_FALSE(read(path).has_value());
  }
  {
    SCOPED_TRACE("damaged: failure mode, AUSE clear, file kept");
    ASSERT_TRUE(bool(base::write_file_atomic(path, "stgt-sanitize 1\nstate runn")));
    Harness h;
    h.disk->set_sanitize_record_path(path);
    EXPECT_FALSE(sbc::restore_sanitize(*h.disk, "test").has_value());
    EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
    EXPECT_FALSE(h.disk->sanitize_ause());
    EXPECT_EQ(test::sense_of(*h.run(sanitize_cdb(kExitFailureMode))).asc, 0x24);
    EXPECT_TRUE(read(path).has_value());
    // A new sanitize is the way out; its success removes the damaged file.
    EXPECT_EQ(h.run(sanitize_cdb(kBlockErase))->status, scsi::Status::kGood);
    EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
    EXPECT_FALSE(read(path).has_value());
  }
  {
    SCOPED_TRACE("running on a read-only LU: failure mode, record kept");
    ASSERT_TRUE(
        bool(base::write_file_atomic(path, sbc::encode_sanitize_record(overwrite_record()))));
    Harness h(512, scsi::LuSettings{.read_only = true});
    h.disk->set_sanitize_record_path(path);
    EXPECT_FALSE(sbc::restore_sanitize(*h.disk, "test").has_value());
    EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
    EXPECT_TRUE(read(path).has_value());
  }
}

// An interrupted CRYPTOGRAPHIC ERASE resumes (the key is replaced again) where the store still
// encrypts; where it no longer does, the LU comes up in failure mode instead of serving the
// data the erase was meant to destroy.
TEST(SanitizeRecord, RestoreCryptoErase) {
  TempDir dir;
  const std::string path = dir.file("lu.sanitize");
  SanitizeRecord crypto;
  crypto.request.kind = SanitizeRequest::Kind::kCryptoErase;
  {
    ASSERT_TRUE(bool(base::write_file_atomic(path, sbc::encode_sanitize_record(crypto))));
    Harness h;
    h.store->crypto_capable = true;
    h.disk->set_sanitize_record_path(path);
    auto request = sbc::restore_sanitize(*h.disk, "test");
    ASSERT_TRUE(request.has_value());
    EXPECT_EQ(request->kind, SanitizeRequest::Kind::kCryptoErase);
    EXPECT_EQ(h.disk->sanitize_state(), State::kRunning);
    sbc::SanitizeJob::start(nullptr, nullptr, h.disk, std::move(*request), nullptr);
    EXPECT_EQ(h.store->crypto_erases, 1);
    EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
    EXPECT_FALSE(read(path).has_value());  // done: record removed
  }
  {
    ASSERT_TRUE(bool(base::write_file_atomic(path, sbc::encode_sanitize_record(crypto))));
    Harness h;  // a store that does not encrypt
    h.disk->set_sanitize_record_path(path);
    EXPECT_FALSE(sbc::restore_sanitize(*h.disk, "test").has_value());
    EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
    EXPECT_FALSE(h.disk->sanitize_ause());
    EXPECT_TRUE(read(path).has_value());
  }
}

// A removed LU takes its record along, and a job still running on it leaves none behind.
TEST(SanitizeRecord, DroppedRecordIsNotWrittenAgain) {
  TempDir dir;
  const std::string path = dir.file("lu.sanitize");
  Harness h;
  h.disk->set_sanitize_record_path(path);
  h.store->hold_writes = true;
  ASSERT_EQ(h.run(sanitize_cdb(kBlockErase, 0, kImmed))->status, scsi::Status::kGood);
  EXPECT_TRUE(read(path).has_value());
  ASSERT_TRUE(bool(h.disk->drop_sanitize_record()));
  EXPECT_FALSE(read(path).has_value());
  h.store->write_result = -EIO;
  while (!h.store->held.empty())
    h.store->release_writes(true);
  EXPECT_EQ(h.disk->sanitize_state(), State::kFailed);
  EXPECT_FALSE(read(path).has_value());
}

// Checkpoints: the job flushes the store and then records how far it got, chunk by chunk on
// a small LU (the interval is a 64th of the operation, at least one chunk).
TEST(SanitizeRecord, CheckpointsRecordTheResumePointAfterAFlush) {
  TempDir dir;
  Harness h(4096);  // 4 MiB: four 1 MiB chunks
  const std::string path = dir.file("lu.sanitize");
  h.disk->set_sanitize_record_path(path);
  h.store->hold_writes = true;
  auto cmd = h.run(sanitize_cdb(kOverwrite, 5, kImmed), 0, overwrite_list(0x02, {0x6b}));
  ASSERT_EQ(cmd->status, scsi::Status::kGood);
  for (uint64_t chunk = 0; chunk < 4; ++chunk) {
    SCOPED_TRACE(chunk);
    auto r = sbc::decode_sanitize_record(read(path).value_or(""));
    ASSERT_TRUE(bool(r)) << r.error();
    EXPECT_EQ(r->state, SanitizeRecord::State::kRunning);
    EXPECT_EQ(r->request.passes, 2);
    // Before pass 2, chunk k: k chunks of pass 1 durable (or all of pass 1 and k - 4 of 2).
    EXPECT_EQ(r->request.resume_pass, 0);
    EXPECT_EQ(r->request.resume_offset, chunk << 20);
    EXPECT_EQ(h.store->flushes, int(chunk));  // each checkpoint came after its flush
    ASSERT_EQ(h.store->held.size(), 1u);
    h.store->release_writes(true);
  }
  auto r = sbc::decode_sanitize_record(read(path).value_or(""));
  ASSERT_TRUE(bool(r)) << r.error();
  EXPECT_EQ(r->request.resume_pass, 1);
  EXPECT_EQ(r->request.resume_offset, 0u);
  while (!h.store->held.empty())
    h.store->release_writes(true);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  EXPECT_FALSE(read(path).has_value());
}

// A restored operation resumes at its checkpoint: the blocks before it are not written again,
// the ones after it are, and the progress indication starts where it left off.
TEST(SanitizeRecord, RestoredOperationResumesAtItsCheckpoint) {
  TempDir dir;
  const std::string path = dir.file("lu.sanitize");
  SanitizeRecord running;
  running.request.kind = SanitizeRequest::Kind::kOverwrite;
  running.request.pattern = {0x3c};
  running.request.passes = 1;
  running.request.resume_pass = 0;
  running.request.resume_offset = uint64_t{2} << 20;  // half of the 4 MiB LU
  ASSERT_TRUE(bool(base::write_file_atomic(path, sbc::encode_sanitize_record(running))));
  Harness h(4096);
  h.disk->set_sanitize_record_path(path);
  auto request = sbc::restore_sanitize(*h.disk, "test");
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->resume_offset, uint64_t{2} << 20);
  h.store->hold_writes = true;
  sbc::SanitizeJob::start(nullptr, &h.pool, h.disk, std::move(*request), nullptr);
  auto tur = h.run(kTur);
  EXPECT_EQ(test::sense_of(*tur).ascq, 0x1b);
  EXPECT_EQ(base::load_be16(&tur->sense[16]), 32768);  // half done already
  ASSERT_EQ(h.store->held.size(), 1u);
  while (!h.store->held.empty())
    h.store->release_writes(true);
  EXPECT_EQ(h.disk->sanitize_state(), State::kIdle);
  EXPECT_EQ(h.store->writes, 2);  // the second half only
  EXPECT_TRUE(test::blocks_are(*h.store, 512, 512, 0x3c, 4096));
  EXPECT_FALSE(test::blocks_are(*h.store, 0, 1, 0x3c, 4096));
  EXPECT_FALSE(read(path).has_value());
}

// Shutdown (SanitizeJob::park_all): the job stops at its next chunk boundary, but not before
// the writes since its last checkpoint are flushed and recorded, so the next start resumes
// exactly there; nothing is left in flight for the reactors to abandon.
TEST(SanitizeRecord, ParkedJobRecordsWhereItStopped) {
  TempDir dir;
  Harness h(4096);  // 4 MiB; 31 passes: a checkpoint every 124 MiB / 64, about two chunks
  const std::string path = dir.file("lu.sanitize");
  h.disk->set_sanitize_record_path(path);
  h.store->hold_writes = true;
  auto cmd = h.run(sanitize_cdb(kOverwrite, 5, kImmed), 0, overwrite_list(0x1f, {0x6b}));
  ASSERT_EQ(cmd->status, scsi::Status::kGood);
  ASSERT_EQ(h.store->held.size(), 1u);
  // The first chunk is in flight: the job cannot park yet.
  EXPECT_EQ(sbc::SanitizeJob::park_all(std::chrono::milliseconds(0)), 1u);
  h.store->release_writes(true);
  EXPECT_TRUE(h.store->held.empty()) << "a parked job started another chunk";
  EXPECT_EQ(sbc::SanitizeJob::park_all(std::chrono::milliseconds(0)), 0u);
  EXPECT_EQ(h.store->flushes, 1);  // the stop's checkpoint, before its record
  auto r = sbc::decode_sanitize_record(read(path).value_or(""));
  ASSERT_TRUE(bool(r)) << r.error();
  EXPECT_EQ(r->state, SanitizeRecord::State::kRunning);
  EXPECT_EQ(r->request.resume_pass, 0);
  EXPECT_EQ(r->request.resume_offset, uint64_t{1} << 20);
  EXPECT_EQ(sbc::SanitizeJob::drop_stopped(), 1u);
  EXPECT_TRUE(read(path).has_value()) << "dropping a parked job removed its record";
}

}  // namespace
}  // namespace stgt::devices
