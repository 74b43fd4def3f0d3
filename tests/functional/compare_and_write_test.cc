// COMPARE AND WRITE through stgtd, as VMware ATS uses it: one block is a lock word that
// several sessions, each on its own thread (and, with two reactors, its own reactor), update
// only through COMPARE AND WRITE. Every update increments a counter in the block when the
// compare wins; a lost update (a CAW that compared against a value another CAW had already
// replaced) would leave the counter below the number of successful CAWs.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <poll.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "base/byte_order.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

constexpr uint64_t kLunSize = 4 << 20;
constexpr uint64_t kLockLba = 7;
constexpr int kSessions = 2;
constexpr int kAttempts = 400;

using Bytes = std::vector<uint8_t>;

// The lock block: the counter (big-endian) and a body derived from it, so that a torn or
// stale block never compares equal to a well-formed one.
Bytes lock_block(uint64_t counter) {
  Bytes b = make_pattern(counter + 1, kBlockSize);
  base::store_be64(b.data(), counter);
  return b;
}

uint64_t counter_of(const Bytes& block) {
  return base::load_be64(block.data());
}

struct CawResult {
  int status = -1;
  int sense_key = 0;
  int ascq = 0;
  std::optional<uint64_t> information;
};

// The INFORMATION field of the sense data libiscsi keeps in datain (2-byte length first).
std::optional<uint64_t> information_of(const scsi_task* task) {
  if (task->datain.size < 2 + 8) return std::nullopt;
  const uint8_t* s = task->datain.data + 2;
  if ((s[0] & 0x7f) == 0x70 && (s[0] & 0x80) != 0) return base::load_be32(s + 3);
  if ((s[0] & 0x7f) == 0x72) {
    for (size_t at = 8; at + 12 <= size_t(task->datain.size - 2); at += 2 + s[at + 1]) {
      if (s[at] == 0x00 && (s[at + 2] & 0x80) != 0) return base::load_be64(s + at + 4);
    }
  }
  return std::nullopt;
}

CawResult compare_and_write(IscsiSession& session, uint64_t lba, const Bytes& verify,
                            const Bytes& write) {
  Bytes data = verify;
  data.insert(data.end(), write.begin(), write.end());
  scsi_task* task = iscsi_compareandwrite_sync(
      session.get(), 1, lba, data.data(), uint32_t(data.size()), int(kBlockSize), 0, 0, 0, 0, 0);
  CawResult r;
  if (task == nullptr) return r;
  r.status = task->status;
  r.sense_key = task->sense.key;
  r.ascq = task->sense.ascq;
  if (task->status == SCSI_STATUS_CHECK_CONDITION) r.information = information_of(task);
  scsi_free_scsi_task(task);
  return r;
}

struct Tally {
  testing::AssertionResult result = testing::AssertionSuccess();
  int wins = 0;
  int misses = 0;
};

void hammer(const std::string& portal, int index, Tally& tally) {
  IscsiSession session("iqn.2026-11.org.stgt.test:ats-" + std::to_string(index));
  tally.result = session.login(portal, kTargetIqn);
  if (!tally.result) return;
  Bytes block;
  tally.result = session.read(kLockLba, kBlockSize, block);
  if (!tally.result) return;
  uint64_t known = counter_of(block);
  for (int i = 0; i < kAttempts; ++i) {
    const CawResult r =
        compare_and_write(session, kLockLba, lock_block(known), lock_block(known + 1));
    if (r.status == SCSI_STATUS_GOOD) {
      ++tally.wins;
      ++known;
      continue;
    }
    if (r.status != SCSI_STATUS_CHECK_CONDITION || r.sense_key != SCSI_SENSE_MISCOMPARE ||
        r.ascq != SCSI_SENSE_ASCQ_MISCOMPARE_DURING_VERIFY) {
      tally.result = testing::AssertionFailure()
                     << "session " << index << " CAW status " << r.status << " sense "
                     << r.sense_key << "/" << std::hex << r.ascq << ": " << session.error();
      return;
    }
    // Lost the race: learn the current value, as an ATS initiator re-reads the lock.
    ++tally.misses;
    tally.result = session.read(kLockLba, kBlockSize, block);
    if (!tally.result) return;
    if (block != lock_block(counter_of(block))) {
      tally.result = testing::AssertionFailure() << "torn lock block at " << counter_of(block);
      return;
    }
    known = counter_of(block);
  }
  tally.result = session.logout();
}

class CompareAndWriteTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    // A file LUN: its I/O completes asynchronously, so an unprotected CAW would lose updates
    // (checked by running this test with the CAW taking a shared hold: it fails every time).
    stgtd_.write_config(stgtd_.base_config({stgtd_.file_lun(kLunSize)}));
    // Two reactors: the two sessions' connections are handed out round-robin.
    ASSERT_TRUE(stgtd_.start({"--reactors", "2"}));
  }
};

TEST_F(CompareAndWriteTest, TwoSessionsUseOneBlockAsALock) {
  IscsiSession setup;
  ASSERT_TRUE(setup.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(setup.write(kLockLba, lock_block(0)));

  std::vector<Tally> tallies(kSessions);
  std::vector<std::thread> threads;
  for (int i = 0; i < kSessions; ++i)
    threads.emplace_back(hammer, stgtd_.portal(), i, std::ref(tallies[size_t(i)]));
  for (std::thread& t : threads)
    t.join();
  int wins = 0;
  for (const Tally& t : tallies) {
    ASSERT_TRUE(t.result);
    wins += t.wins;
  }
  Bytes block;
  ASSERT_TRUE(setup.read(kLockLba, kBlockSize, block));
  EXPECT_EQ(counter_of(block), uint64_t(wins));
  EXPECT_TRUE(block == lock_block(uint64_t(wins)));
  EXPECT_GE(wins, kAttempts);  // every session wins whenever it holds the current value
  std::cout << "wins " << wins << ", misses " << tallies[0].misses + tallies[1].misses << "\n";
}

TEST_F(CompareAndWriteTest, MiscompareReportsTheFirstDifferingByte) {
  IscsiSession s;
  ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  const Bytes medium = make_pattern(42, 2 * kBlockSize);
  ASSERT_TRUE(s.write(3, medium));

  Bytes verify = medium;
  verify[kBlockSize + 10] ^= 0x01;  // second block, byte 10
  const CawResult bad = compare_and_write(s, 3, verify, Bytes(2 * kBlockSize, 0xee));
  EXPECT_EQ(bad.status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(bad.sense_key, SCSI_SENSE_MISCOMPARE);
  EXPECT_EQ(bad.ascq, SCSI_SENSE_ASCQ_MISCOMPARE_DURING_VERIFY);
  ASSERT_TRUE(bad.information.has_value());
  EXPECT_EQ(*bad.information, kBlockSize + 10);
  Bytes back;
  ASSERT_TRUE(s.read(3, 2 * kBlockSize, back));
  EXPECT_EQ(back, medium);  // nothing written

  const CawResult good = compare_and_write(s, 3, medium, Bytes(2 * kBlockSize, 0xee));
  EXPECT_EQ(good.status, SCSI_STATUS_GOOD);
  ASSERT_TRUE(s.read(3, 2 * kBlockSize, back));
  EXPECT_EQ(back, Bytes(2 * kBlockSize, 0xee));
}

// One session's share of the queued test below: its CAWs compare with `from` and write
// `to`; its READs must see one of the two whole blocks.
struct QueuedLoad {
  Bytes caw_data;  // from, then to (libiscsi sends from this buffer: it must outlive the run)
  const Bytes* a = nullptr;
  const Bytes* b = nullptr;
  int dispatched = 0;
  int completed = 0;
  int wins = 0;
  int reads = 0;
  std::string error;  // the first unexpected outcome
};

std::string describe_status(int status) {
  // libiscsi's own outcome when the target never answered within the session's timeout.
  if (status == SCSI_STATUS_TIMEOUT) return "timed out (never answered)";
  return "status " + std::to_string(status);
}

void on_queued_caw(iscsi_context*, int status, void* command_data, void* private_data) {
  auto& load = *static_cast<QueuedLoad*>(private_data);
  auto* task = static_cast<scsi_task*>(command_data);
  ++load.completed;
  if (status == SCSI_STATUS_GOOD) {
    ++load.wins;
  } else if (status != SCSI_STATUS_CHECK_CONDITION || task->sense.key != SCSI_SENSE_MISCOMPARE) {
    if (load.error.empty()) load.error = "CAW " + describe_status(status);
  }
  scsi_free_scsi_task(task);
}

void on_queued_read(iscsi_context*, int status, void* command_data, void* private_data) {
  auto& load = *static_cast<QueuedLoad*>(private_data);
  auto* task = static_cast<scsi_task*>(command_data);
  ++load.completed;
  ++load.reads;
  const Bytes got(task->datain.data, task->datain.data + task->datain.size);
  if (status != SCSI_STATUS_GOOD) {
    if (load.error.empty()) load.error = "READ " + describe_status(status);
  } else if (got != *load.a && got != *load.b && load.error.empty()) {
    load.error = "torn or foreign block read";
  }
  scsi_free_scsi_task(task);
}

// What libiscsi's MultipathIO.CompareAndWriteAsync does, plus READs of the same block: two
// sessions (one per reactor) each queue far more commands than the CmdSN window at once,
// COMPARE AND WRITEs that flip one block between two values and READs of it. Every command
// must complete, each CAW GOOD or MISCOMPARE, each READ a whole block. (With responses
// batched per reactor iteration, before the CmdSN window stopped moving back, commands timed
// out here in about one run of five; the deterministic test of that bug is
// HostilePeerTest.CmdSnWindowOnceAdvertisedIsHonouredWhileTheTaskTableFills.)
TEST_F(CompareAndWriteTest, TwoSessionsQueueCawsAndReadsOfOneBlockAndAllComplete) {
  constexpr uint64_t kLba = 11;
  constexpr int kCawsPerSession = 1000;
  constexpr int kReadsPerSession = 200;
  const Bytes a = make_pattern(101, kBlockSize);
  const Bytes b = make_pattern(202, kBlockSize);
  IscsiSession sessions[kSessions] = {IscsiSession("iqn.2026-11.org.stgt.test:queued-0"),
                                      IscsiSession("iqn.2026-11.org.stgt.test:queued-1")};
  for (IscsiSession& s : sessions)
    ASSERT_TRUE(s.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(sessions[0].write(kLba, a));
  QueuedLoad loads[kSessions];
  for (int i = 0; i < kSessions; ++i) {
    QueuedLoad& load = loads[i];
    load.a = &a;
    load.b = &b;
    load.caw_data = i == 0 ? a : b;
    const Bytes& to = i == 0 ? b : a;
    load.caw_data.insert(load.caw_data.end(), to.begin(), to.end());
    for (int n = 0; n < kCawsPerSession; ++n) {
      ASSERT_NE(iscsi_compareandwrite_task(sessions[i].get(), 1, kLba, load.caw_data.data(),
                                           uint32_t(load.caw_data.size()), int(kBlockSize), 0, 0, 0,
                                           0, 0, on_queued_caw, &load),
                nullptr);
      ++load.dispatched;
    }
    // Then READs of the block, queued behind them: they meet the last CAWs of both sessions.
    for (int n = 0; n < kReadsPerSession; ++n) {
      ASSERT_NE(iscsi_read16_task(sessions[i].get(), 1, kLba, kBlockSize, int(kBlockSize), 0, 0, 0,
                                  0, 0, on_queued_read, &load),
                nullptr);
      ++load.dispatched;
    }
  }
  // A liveness bound, not a timing: the whole run takes well under a second when it works.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto pending = [&] {
    return loads[0].completed < loads[0].dispatched || loads[1].completed < loads[1].dispatched;
  };
  while (pending() && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[kSessions];
    for (int i = 0; i < kSessions; ++i)
      fds[i] =
          pollfd{iscsi_get_fd(sessions[i].get()), short(iscsi_which_events(sessions[i].get())), 0};
    ASSERT_GE(::poll(fds, kSessions, 1000), 0);
    for (int i = 0; i < kSessions; ++i) {
      if (fds[i].revents == 0) continue;
      ASSERT_EQ(iscsi_service(sessions[i].get(), fds[i].revents), 0);
    }
  }
  for (int i = 0; i < kSessions; ++i) {
    SCOPED_TRACE(testing::Message() << "session " << i);
    EXPECT_EQ(loads[i].completed, loads[i].dispatched) << "commands never answered";
    EXPECT_EQ(loads[i].error, "");
    EXPECT_EQ(loads[i].reads, kReadsPerSession);
  }
  EXPECT_GT(loads[0].wins + loads[1].wins, 0);
  Bytes block;
  ASSERT_TRUE(sessions[0].read(kLba, kBlockSize, block));
  EXPECT_TRUE(block == a || block == b);
  std::cout << "wins " << loads[0].wins << " + " << loads[1].wins << "\n";
}

}  // namespace
}  // namespace stgt::functional
