// SANITIZE through stgtd (SBC-4 5.30, 4.11). An OVERWRITE with IMMED completes at once and
// runs in the background: REQUEST SENSE reports NOT READY, SANITIZE IN PROGRESS with a
// growing progress indication, media access from every session gets the same answer,
// INQUIRY still works, and afterwards every block holds the pattern. An OVERWRITE without
// IMMED belongs to the LU, not to its task: ABORT TASK, LOGICAL UNIT RESET and the loss of
// the issuing session end the command at once, and the operation goes on to its end.
// The job writes at most 128 MiB/s (devices/sbc/sanitize_job.h), so a 256 MiB LU takes
// about two seconds. The operation survives a crash (devices/sbc/sanitize_record.h): after a
// SIGKILL (or a plain stop) mid-way, the restarted daemon answers SANITIZE IN PROGRESS at
// once and runs the operation again to its end; a recorded failure mode (or a damaged
// record) comes back as failure mode.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "base/crc32c.h"

#include "control_client.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kLunSize = uint64_t{256} << 20;
constexpr uint64_t kLunBlocks = kLunSize / kBlockSize;
constexpr int kSanitizeInProgress = 0x041b;
const Bytes kPattern = {0xde, 0xad, 0xbe, 0xef};

using Reply = ScsiReply;

Reply command(IscsiSession& s, Bytes cdb, Bytes out = {}, uint32_t in_length = 0) {
  return send_cdb(s, std::move(cdb), std::move(out), in_length);
}

// OVERWRITE parameter list: one pass of kPattern.
Bytes overwrite_list() {
  Bytes l(4 + kPattern.size(), 0);
  l[0] = 0x01;  // OVERWRITE COUNT 1
  l[3] = uint8_t(kPattern.size());
  std::copy(kPattern.begin(), kPattern.end(), l.begin() + 4);
  return l;
}

Bytes overwrite_cdb(bool immed) {
  return {0x48, uint8_t((immed ? 0x80 : 0) | 0x01), 0, 0, 0, 0, 0,
          0,    uint8_t(overwrite_list().size()),   0};
}

// REQUEST SENSE (fixed format): the progress indication while NOT READY, SANITIZE IN
// PROGRESS; -1 once the LU is ready (NO SENSE or anything else); -2 on no answer.
int sanitize_progress(IscsiSession& s) {
  const Reply r = command(s, {0x03, 0, 0, 0, 252, 0}, {}, 252);
  if (r.status != SCSI_STATUS_GOOD || r.data.size() < 18) return -2;
  if ((r.data[2] & 0x0f) != 0x02 || r.data[12] != 0x04 || r.data[13] != 0x1b) return -1;
  if ((r.data[15] & 0x80) == 0) return -2;  // SKSV: the progress indication must be there
  return r.data[16] << 8 | r.data[17];
}

// Waits (TEST UNIT READY, unit attentions cleared) until the LU is ready again.
testing::AssertionResult wait_until_ready(IscsiSession& s, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  int last = -1;
  while (Clock::now() < deadline) {
    last = tur_sense(s, 1);
    if (last == 0) return testing::AssertionSuccess();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return testing::AssertionFailure()
         << "not ready after " << limit.count() << " s, sense " << std::hex << last;
}

testing::AssertionResult holds_pattern(IscsiSession& s, uint64_t lba, size_t bytes) {
  Bytes back;
  if (testing::AssertionResult r = s.read(lba, bytes, back); !r) return r;
  for (size_t i = 0; i < back.size(); ++i) {
    if (back[i] != kPattern[i % kPattern.size()]) {
      return testing::AssertionFailure()
             << "LBA " << lba << " byte " << i << " is " << int(back[i]);
    }
  }
  return testing::AssertionSuccess();
}

class SanitizeTest : public StgtdTest {
 protected:
  void start(uint64_t size = kLunSize) {
    config::LunConfig lun = stgtd_.file_lun(size);
    stgtd_.write_config(stgtd_.base_config({lun}));
    ASSERT_TRUE(stgtd_.start({"--reactors", "2", "--var-dir", var_dir()}));
  }
  // Starts again after a stop or crash; returns once the targets are published.
  // Right after a SIGKILL the kernel may still hold the dead daemon's listening socket for a
  // moment (its io_uring is torn down asynchronously): the new daemon starts once the port
  // refuses connections, or its bind would fail.
  void restart(size_t starts) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (port_accepts()) {
      ASSERT_LT(Clock::now(), deadline) << "the dead daemon's portal still accepts";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(stgtd_.start({"--reactors", "2", "--var-dir", var_dir()}));
    ASSERT_TRUE(stgtd_.wait_for_log("stgtd ready", starts));
  }
  bool port_accepts() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(stgtd_.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }
  std::string var_dir() const { return stgtd_.dir() + "/var"; }
  // The LU's sanitize record ("<var>/pr/<NAA>.sanitize"), or "" if there is none.
  std::string record_path() const {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(var_dir() + "/pr", ec)) {
      if (e.path().extension() == ".sanitize") return e.path().string();
    }
    return {};
  }
  // Starts an OVERWRITE with IMMED and SIGKILLs the daemon once it is well under way (an
  // eighth done, far from the end); the record of the running operation is there.
  void crash_mid_sanitize(bool graceful = false, uint64_t size = kLunSize) {
    start(size);
    IscsiSession a("iqn.2026-11.org.stgt.test:sanitize-a");
    ASSERT_TRUE(a.login(stgtd_.portal(), kTargetIqn));
    ASSERT_TRUE(a.write(0, make_pattern(5, 64 << 10)));
    ASSERT_TRUE(a.write(size / kBlockSize - 128, make_pattern(6, 64 << 10)));
    ASSERT_EQ(command(a, overwrite_cdb(true), overwrite_list()).status, SCSI_STATUS_GOOD);
    ASSERT_FALSE(record_path().empty()) << "no record while the sanitize runs";
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    int p = sanitize_progress(a);
    while (p >= 0 && p < 8192) {
      ASSERT_LT(Clock::now(), deadline) << "no progress";
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      p = sanitize_progress(a);
    }
    ASSERT_GE(p, 8192) << "the sanitize ended before the crash";
    ASSERT_LT(p, 49152) << "too close to the end to call it mid-way";
    a.abandon();  // no logout from a dead daemon (libiscsi would reconnect forever)
    if (graceful) {
      ASSERT_TRUE(stgtd_.stop());
      return;
    }
    ASSERT_TRUE(stgtd_.kill_hard());
  }
};

// A record with a valid checksum (the format of devices/sbc/sanitize_record.h).
std::string sealed(const std::string& body) {
  return body + fmt::format("crc32c {:08x}\n", base::crc32c(body.data(), body.size()));
}

void replace_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::trunc) << content;
}

Reply read_block(IscsiSession& s) {
  return command(s, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, kBlockSize);
}

TEST_F(SanitizeTest, OverwriteWithImmedReportsProgressAndLeavesThePattern) {
  start();
  IscsiSession a("iqn.2026-11.org.stgt.test:sanitize-a");
  IscsiSession b("iqn.2026-11.org.stgt.test:sanitize-b");
  ASSERT_TRUE(a.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(a.write(0, make_pattern(1, 64 << 10)));
  ASSERT_TRUE(a.write(kLunBlocks - 128, make_pattern(2, 64 << 10)));

  const Reply started = command(a, overwrite_cdb(true), overwrite_list());
  ASSERT_EQ(started.status, SCSI_STATUS_GOOD);

  std::vector<int> progress;
  bool other_nexus_refused = false, read_refused = false, inquiry_ran = false;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (int p = sanitize_progress(a); p != -1; p = sanitize_progress(a)) {
    ASSERT_GE(p, 0) << "REQUEST SENSE failed";
    ASSERT_LT(Clock::now(), deadline) << "the sanitize did not end";
    if (progress.empty() || progress.back() != p) progress.push_back(p);
    if (!other_nexus_refused) other_nexus_refused = tur_sense(b, 1) == kSanitizeInProgress;
    if (!read_refused) {
      const Reply r = command(b, {0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {}, kBlockSize);
      read_refused = r.status == SCSI_STATUS_CHECK_CONDITION && r.ascq == kSanitizeInProgress;
    }
    if (!inquiry_ran) inquiry_ran = command(b, {0x12, 0, 0, 0, 96, 0}, {}, 96).status == 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(other_nexus_refused);
  EXPECT_TRUE(read_refused);
  EXPECT_TRUE(inquiry_ran);
  ASSERT_GE(progress.size(), 2u) << "saw no progress while the sanitize ran";
  for (size_t i = 1; i < progress.size(); ++i)
    EXPECT_GT(progress[i], progress[i - 1]);

  ASSERT_TRUE(wait_until_ready(b, std::chrono::seconds(10)));
  EXPECT_TRUE(holds_pattern(b, 0, 64 << 10));
  EXPECT_TRUE(holds_pattern(b, kLunBlocks / 2, 64 << 10));
  EXPECT_TRUE(holds_pattern(b, kLunBlocks - 128, 64 << 10));
}

TEST_F(SanitizeTest, AbortTaskLuResetAndSessionLossDoNotStopIt) {
  start();
  auto a = std::make_unique<IscsiSession>("iqn.2026-11.org.stgt.test:sanitize-a");
  IscsiSession b("iqn.2026-11.org.stgt.test:sanitize-b");
  ASSERT_TRUE(a->login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(a->write(0, make_pattern(3, 64 << 10)));

  Bytes list = overwrite_list();
  iscsi_data data{list.size(), list.data()};
  scsi_task* sanitize = iscsi_sanitize_task(
      a->get(), 1, 0, 0, 0x01, int(list.size()), &data,
      // Called once, when the session is destroyed (the aborted task gets no response).
      [](iscsi_context*, int, void* task, void*) {
        scsi_free_scsi_task(static_cast<scsi_task*>(task));
      },
      nullptr);
  ASSERT_NE(sanitize, nullptr);
  // The next command on the same session sends the SANITIZE ahead of it (CmdSN order).
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (tur_sense(*a, 1) != kSanitizeInProgress) {
    ASSERT_LT(Clock::now(), deadline) << "the sanitize did not start";
  }

  const auto before_abort = Clock::now();
  ASSERT_EQ(iscsi_task_mgmt_abort_task_sync(a->get(), sanitize), 0) << a->error();
  EXPECT_LT(Clock::now() - before_abort, std::chrono::seconds(1))
      << "ABORT TASK waited for the whole sanitize";
  EXPECT_EQ(tur_sense(b, 1), kSanitizeInProgress);
  ASSERT_EQ(iscsi_task_mgmt_lun_reset_sync(a->get(), 1), 0) << a->error();
  EXPECT_EQ(tur_sense(b, 1), kSanitizeInProgress);

  // I_T nexus loss: the issuing session goes away; a new one still sees the sanitize,
  // before its unit attention.
  a.reset();
  IscsiSession c("iqn.2026-11.org.stgt.test:sanitize-a");
  ASSERT_TRUE(c.login(stgtd_.portal(), kTargetIqn));
  const int seen = tur_sense(c, 1);
  EXPECT_TRUE(seen == kSanitizeInProgress) << std::hex << seen;

  ASSERT_TRUE(wait_until_ready(b, std::chrono::seconds(60)));
  EXPECT_TRUE(holds_pattern(b, 0, 64 << 10));
  EXPECT_TRUE(holds_pattern(b, kLunBlocks - 128, 64 << 10));
}

// SBC-4 4.11.2: a sanitize interrupted by a power loss (here SIGKILL) resumes after power
// on. The restarted LU answers SANITIZE IN PROGRESS before anything else, resumes the
// operation at its last checkpoint (the job checkpoints every 1/64 of a 256 MiB LU, so an
// eighth in there is one at 28 MiB or later), and in the end every block holds the pattern:
// the part written before the crash and the part after it.
TEST_F(SanitizeTest, OverwriteInterruptedByACrashResumesAfterRestart) {
  ASSERT_NO_FATAL_FAILURE(crash_mid_sanitize());
  ASSERT_FALSE(record_path().empty());
  std::ifstream record_file(record_path());
  const std::string record((std::istreambuf_iterator<char>(record_file)), {});
  const size_t at = record.find("\nresume 0 ");
  ASSERT_NE(at, std::string::npos) << record;
  const uint64_t resume = std::stoull(record.substr(at + 10));
  EXPECT_GE(resume, kLunSize / 8 - kLunSize / 64) << record;
  EXPECT_EQ(resume % (kLunSize / 64), 0u) << record;
  ASSERT_NO_FATAL_FAILURE(restart(2));
  EXPECT_TRUE(stgtd_.wait_for_log(fmt::format("it resumes at pass 1 of 1, byte {} ", resume)));
  IscsiSession b("iqn.2026-11.org.stgt.test:sanitize-b");
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn));
  EXPECT_EQ(tur_sense(b, 1), kSanitizeInProgress);
  const Reply read = read_block(b);
  EXPECT_EQ(read.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(read.ascq, kSanitizeInProgress);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  int progress = 0;
  int first_progress = -1;
  for (int p = sanitize_progress(b); p != -1; p = sanitize_progress(b)) {
    ASSERT_GE(p, 0) << "REQUEST SENSE failed";
    ASSERT_LT(Clock::now(), deadline) << "the resumed sanitize did not end";
    if (first_progress < 0) first_progress = p;
    progress = std::max(progress, p);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GT(progress, 0);
  // Reported from the checkpoint on, not from zero.
  EXPECT_GE(uint64_t(first_progress), resume * 65536 / kLunSize);
  ASSERT_TRUE(wait_until_ready(b, std::chrono::seconds(10)));
  EXPECT_TRUE(record_path().empty()) << "the record outlived the sanitize";
  for (uint64_t lba = 0; lba < kLunBlocks; lba += (1 << 20) / kBlockSize) {
    ASSERT_TRUE(holds_pattern(b, lba, 1 << 20));
  }
  // Done for good: the next start does not sanitize again.
  ASSERT_TRUE(b.write(0, make_pattern(7, 64 << 10)));
  ASSERT_TRUE(b.logout());
  ASSERT_TRUE(stgtd_.stop());
  ASSERT_NO_FATAL_FAILURE(restart(3));
  IscsiSession c("iqn.2026-11.org.stgt.test:sanitize-c");
  ASSERT_TRUE(c.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(wait_until_ready(c, std::chrono::seconds(5)));
  Bytes back;
  ASSERT_TRUE(c.read(0, 64 << 10, back));
  EXPECT_EQ(back, make_pattern(7, 64 << 10));
}

// A plain stop (SIGTERM) while the job runs: the job parks at its next chunk after
// recording exactly where it is (not its last 1/64 checkpoint), and the operation resumes
// there at the next start. A 1 GiB LU (8 s a pass), so the job is still running when the
// stop's 2 s logout wait is over.
TEST_F(SanitizeTest, StoppedMidSanitizeResumesAtTheNextStart) {
  constexpr uint64_t kBig = uint64_t{1} << 30;
  ASSERT_NO_FATAL_FAILURE(crash_mid_sanitize(true, kBig));
  EXPECT_NE(stgtd_.log().find("1 sanitize operation(s) stopped; they resume where they stopped"),
            std::string::npos)
      << stgtd_.log();
  ASSERT_FALSE(record_path().empty());
  std::ifstream record_file(record_path());
  const std::string record((std::istreambuf_iterator<char>(record_file)), {});
  const size_t at = record.find("\nresume 0 ");
  ASSERT_NE(at, std::string::npos) << record;
  const uint64_t resume = std::stoull(record.substr(at + 10));
  EXPECT_GE(resume, kBig / 8) << record;  // at least what was reported before the stop
  EXPECT_EQ(resume % (uint64_t{1} << 20), 0u) << record;  // a chunk boundary
  ASSERT_NO_FATAL_FAILURE(restart(2));
  EXPECT_TRUE(stgtd_.wait_for_log(fmt::format("it resumes at pass 1 of 1, byte {} ", resume)));
  IscsiSession b("iqn.2026-11.org.stgt.test:sanitize-b");
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn, 0));
  EXPECT_EQ(tur_sense(b, 1), kSanitizeInProgress);
  ASSERT_TRUE(wait_until_ready(b, std::chrono::seconds(60)));
  EXPECT_TRUE(record_path().empty());
  IscsiSession c("iqn.2026-11.org.stgt.test:sanitize-c");
  ASSERT_TRUE(c.login(stgtd_.portal(), kTargetIqn));
  EXPECT_TRUE(holds_pattern(c, 0, 64 << 10));
  EXPECT_TRUE(holds_pattern(c, kBig / kBlockSize - 128, 64 << 10));
}

// Failure mode persists (SBC-4 4.11.4): a recorded failure comes back after a restart and is
// left by EXIT FAILURE MODE (it had AUSE set), which removes the record. A failure is hard
// to provoke through a healthy file store, so the record the crash left is replaced by the
// one a failed job writes (tests/unit/devices/sbc/sanitize_record_test.cc covers the job).
TEST_F(SanitizeTest, FailureModeSurvivesARestart) {
  ASSERT_NO_FATAL_FAILURE(crash_mid_sanitize());
  const std::string path = record_path();
  ASSERT_FALSE(path.empty());
  replace_file(path, sealed("stgt-sanitize 1\nstate failed\nause 1\n"));
  ASSERT_NO_FATAL_FAILURE(restart(2));
  // Logged in through LUN 0: libiscsi's login gives up on LUN 1's MEDIUM ERROR.
  IscsiSession b("iqn.2026-11.org.stgt.test:sanitize-b");
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn, 0));
  Reply read = read_block(b);
  for (int i = 0; i < 5 && read.key == SCSI_SENSE_UNIT_ATTENTION; ++i)
    read = read_block(b);
  EXPECT_EQ(read.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(read.key, SCSI_SENSE_MEDIUM_ERROR);
  EXPECT_EQ(read.ascq, 0x3103);
  EXPECT_FALSE(record_path().empty());
  const Reply exit = command(b, {0x48, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(exit.status, SCSI_STATUS_GOOD);
  EXPECT_TRUE(record_path().empty());
  EXPECT_EQ(read_block(b).status, SCSI_STATUS_GOOD);
}

// A damaged record is never guessed at: the LU comes up in failure mode with AUSE clear (the
// daemon does not crash and the other state is intact); a new SANITIZE is the way out.
TEST_F(SanitizeTest, DamagedRecordComesBackAsFailureMode) {
  ASSERT_NO_FATAL_FAILURE(crash_mid_sanitize());
  const std::string path = record_path();
  ASSERT_FALSE(path.empty());
  replace_file(path, "stgt-sanitize 1\nstate runn\x01garbage");
  ASSERT_NO_FATAL_FAILURE(restart(2));
  EXPECT_TRUE(stgtd_.wait_for_log("unusable"));
  // Logged in through LUN 0: libiscsi's login gives up on LUN 1's MEDIUM ERROR.
  IscsiSession b("iqn.2026-11.org.stgt.test:sanitize-b");
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn, 0));
  Reply read = read_block(b);
  for (int i = 0; i < 5 && read.key == SCSI_SENSE_UNIT_ATTENTION; ++i)
    read = read_block(b);
  EXPECT_EQ(read.key, SCSI_SENSE_MEDIUM_ERROR);
  EXPECT_EQ(read.ascq, 0x3103);
  const Reply exit = command(b, {0x48, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(exit.key, SCSI_SENSE_ILLEGAL_REQUEST);
  EXPECT_EQ(command(b, overwrite_cdb(false), overwrite_list()).status, SCSI_STATUS_GOOD);
  EXPECT_TRUE(record_path().empty());
  IscsiSession c("iqn.2026-11.org.stgt.test:sanitize-c");
  ASSERT_TRUE(c.login(stgtd_.portal(), kTargetIqn));
  EXPECT_TRUE(holds_pattern(c, kLunBlocks - 128, 64 << 10));
}

// The control plane removes an LU whose interrupted sanitize runs again: the record goes at
// once, and the job, which goes on to its end on the removed LU, leaves none behind.
TEST_F(SanitizeTest, RemovingTheLuRemovesItsRecord) {
  ASSERT_NO_FATAL_FAILURE(crash_mid_sanitize());
  ASSERT_NO_FATAL_FAILURE(restart(2));
  ASSERT_FALSE(record_path().empty());
  ControlClient control;
  ASSERT_TRUE(control.connect(stgtd_.control_socket()));
  const std::string answer =
      control.call(R"({"jsonrpc":"2.0","id":1,"method":"lun.remove","params":{"target":")" +
                   std::string(kTargetIqn) + R"(","lun":1,"force":true}})");
  EXPECT_NE(answer.find("\"applied\":true"), std::string::npos) << answer;
  EXPECT_TRUE(record_path().empty());
  // Longer than the whole operation takes (256 MiB at 128 MiB/s).
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_TRUE(record_path().empty());
}

// A memory LU keeps no record: nothing of its data outlives the daemon.
TEST_F(SanitizeTest, MemoryLuKeepsNoRecord) {
  stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)}));
  ASSERT_TRUE(stgtd_.start({"--reactors", "2", "--var-dir", var_dir()}));
  IscsiSession a("iqn.2026-11.org.stgt.test:sanitize-a");
  ASSERT_TRUE(a.login(stgtd_.portal(), kTargetIqn));
  ASSERT_EQ(command(a, overwrite_cdb(true), overwrite_list()).status, SCSI_STATUS_GOOD);
  EXPECT_GE(sanitize_progress(a), 0);
  EXPECT_TRUE(record_path().empty());
  ASSERT_TRUE(wait_until_ready(a, std::chrono::seconds(30)));
  EXPECT_TRUE(holds_pattern(a, kLunBlocks - 128, 64 << 10));
}

}  // namespace
}  // namespace stgt::functional
