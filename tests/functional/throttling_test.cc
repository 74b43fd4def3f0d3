// Throttling under hostile load: the daemon-wide memory budget for data buffers ([daemon]
// memory_budget) and the session limit ([iscsi] max_sessions). Raw sessions flood writes
// whose data arrives unsolicited (immediate data) while a CmdSN gap keeps every one of them
// from running, so each holds its buffer: past the budget the writes get TASK SET FULL with
// their data drained, and the daemon's resident memory stays under the budget.
#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "proc_stats.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using iscsi::Opcode;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kBudget = 64ull << 20;
constexpr uint32_t kWriteBytes = 64 * 1024;  // = RawIscsi's FirstBurstLength: all immediate
constexpr uint32_t kWritesPerSession = 1000;
constexpr int kSessions = 2;  // 2 x 1000 x 64 KiB = 125 MiB offered against 64 MiB

uint64_t resident_bytes(pid_t pid) { return resident_kib(pid) * 1024; }

class ThrottlingTest : public StgtdTest {
 protected:
  testing::AssertionResult start_daemon(uint32_t max_sessions = 4096) {
    // The null store keeps the LU out of the resident set: what grows is buffers only.
    config::Config c =
        stgtd_.base_config({{.id = 1, .store = "null", .size = 1ull << 30, .block_size = 512}});
    c.daemon.memory_budget = kBudget;
    c.iscsi.queue_depth = 1024;
    c.iscsi.session_write_buffer = 1ull << 30;
    c.iscsi.max_sessions = max_sessions;
    stgtd_.write_config(c);
    auto started = stgtd_.start();
    if (!started) return started;
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    while (Clock::now() < deadline && stgtd_.log().find("stgtd ready") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return testing::AssertionSuccess();
  }
};

std::array<uint8_t, 10> write10(uint32_t lba, uint16_t blocks) {
  return {0x2a, 0, uint8_t(lba >> 24), uint8_t(lba >> 16), uint8_t(lba >> 8), uint8_t(lba),
          0, uint8_t(blocks >> 8), uint8_t(blocks), 0};
}

TEST_F(ThrottlingTest, WriteFloodGetsTaskSetFullAndMemoryStaysUnderTheBudget) {
  ASSERT_TRUE(start_daemon());
  const uint64_t baseline = resident_bytes(stgtd_.pid());
  ASSERT_GT(baseline, 0u);
  std::vector<RawIscsi> sessions(kSessions);
  std::vector<uint32_t> gap_cmd_sn(kSessions);
  const std::vector<uint8_t> data(kWriteBytes, 0x5a);
  for (int s = 0; s < kSessions; ++s) {
    RawIscsi& raw = sessions[s];
    ASSERT_TRUE(raw.connect(stgtd_.port()));
    RawLoginParams p;
    p.isid = 0x800000c0ff00 + uint64_t(s);
    ASSERT_TRUE(raw.login(p));
    ASSERT_TRUE(raw.clear_unit_attention());
    // Leave out one CmdSN: every later write waits for it, holding its (full) buffer.
    gap_cmd_sn[s] = raw.take_cmd_sn();
    for (uint32_t i = 0; i < kWritesPerSession; ++i) {
      const auto cdb = write10(i * (kWriteBytes / 512), kWriteBytes / 512);
      ASSERT_TRUE(raw.send(raw.scsi_command(cdb, raw.next_itt(), raw.take_cmd_sn(), kWriteBytes,
                                            false, true, kWriteBytes),
                           data))
          << "session " << s << " write " << i;
    }
  }
  // Every write's data is in (or drained); nothing has run yet. Give the reactors a moment
  // to read the last bytes from the sockets, then measure.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t resident = resident_bytes(stgtd_.pid());
  const uint64_t offered = uint64_t(kSessions) * kWritesPerSession * kWriteBytes;
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan (CI stage 2) freed blocks sit in its quarantine, so resident memory overstates
  // what is live (130.9 MiB seen against a 130.4 MiB bound): more slack, still well under
  // what the flood offers past the budget.
  constexpr uint64_t kSlack = 40ull << 20;
#else
  constexpr uint64_t kSlack = 24ull << 20;
#endif
  static_assert(kBudget + kSlack < uint64_t(kSessions) * kWritesPerSession * kWriteBytes);
  EXPECT_LT(resident, baseline + kBudget + kSlack)
      << "resident " << (resident >> 20) << " MiB, baseline " << (baseline >> 20)
      << " MiB, offered " << (offered >> 20) << " MiB";

  // Fill the gaps: every write is answered, GOOD while the budget lasted, TASK SET FULL after.
  constexpr std::array<uint8_t, 6> kTestUnitReady{};
  int good = 0;
  int task_set_full = 0;
  for (int s = 0; s < kSessions; ++s) {
    RawIscsi& raw = sessions[s];
    ASSERT_TRUE(raw.send(raw.scsi_command(kTestUnitReady, raw.next_itt(), gap_cmd_sn[s], 0, false,
                                          false)));
    for (uint32_t answered = 0; answered < kWritesPerSession + 1;) {
      RawPdu r;
      ASSERT_EQ(raw.receive(r, std::chrono::milliseconds(10000)), RecvStatus::kPdu)
          << "session " << s << " after " << answered << " answers";
      if (r.opcode() == Opcode::kNopIn) continue;
      ASSERT_EQ(r.opcode(), Opcode::kScsiResponse) << r.describe();
      ++answered;
      if (r.scsi_status() == 0x00) ++good;
      if (r.scsi_status() == 0x28) ++task_set_full;
    }
  }
  EXPECT_EQ(good + task_set_full, kSessions * (int(kWritesPerSession) + 1));
  EXPECT_GT(task_set_full, 0);
  EXPECT_LE(uint64_t(good - kSessions) * kWriteBytes, kBudget);
  EXPECT_GT(good, kSessions);  // the budget was used, not refused outright

  // Backed off, the same session writes again.
  RawIscsi& raw = sessions[0];
  const auto cdb = write10(0, kWriteBytes / 512);
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.scsi_command(cdb, itt, raw.take_cmd_sn(), kWriteBytes, false, true,
                                        kWriteBytes),
                       data));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kScsiResponse, r));
  EXPECT_EQ(r.scsi_status(), 0x00) << r.describe();
}

// RFC 7143 11.13.5: past [iscsi] max_sessions a login is refused "out of resources" (0x0302);
// a closed session gives its slot back.
TEST_F(ThrottlingTest, LoginsPastMaxSessionsAreRefusedOutOfResources) {
  ASSERT_TRUE(start_daemon(2));
  RawIscsi a;
  RawIscsi b;
  ASSERT_TRUE(a.connect(stgtd_.port()));
  ASSERT_TRUE(a.login());
  ASSERT_TRUE(b.connect(stgtd_.port()));
  RawLoginParams pb;
  pb.isid = 0x800000c0ff01;
  ASSERT_TRUE(b.login(pb));
  RawIscsi c;
  ASSERT_TRUE(c.connect(stgtd_.port()));
  RawLoginParams pc;
  pc.isid = 0x800000c0ff02;
  RawPdu r;
  ASSERT_TRUE(c.login_first(pc, r));
  EXPECT_EQ(r.login_status(), 0x0302) << hex(r.login_status());
  EXPECT_TRUE(c.expect_closed(std::chrono::milliseconds(3000)));

  b.close();
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  bool logged_in = false;
  while (!logged_in && Clock::now() < deadline) {
    RawIscsi d;
    ASSERT_TRUE(d.connect(stgtd_.port()));
    RawPdu first;
    ASSERT_TRUE(d.login_first(pc, first));
    logged_in = first.login_status() == 0;
    if (!logged_in) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(logged_in) << "the closed session's slot was not given back";
  EXPECT_TRUE(a.ping("still here"));
}

}  // namespace
}  // namespace stgt::functional
