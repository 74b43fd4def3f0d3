// Task sets and task management end to end: SAM-5 8.6 ordering (ORDERED, HEAD OF QUEUE, a
// write whose data is still arriving), every RFC 7143 / RFC 7144 task management function,
// an abort in the middle of a data transfer, and the unit attentions other initiators get
// after a logical unit reset or a target reset.
//
// Ordering and aborts are driven with raw PDUs (RawIscsi), which makes them deterministic:
// a write stays "data still arriving" for exactly as long as the test withholds its
// Data-Out. Cross-initiator effects use libiscsi sessions where that is enough.
#include <iscsi/iscsi.h>
#include <iscsi/scsi-lowlevel.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "iscsi_session.h"
#include "raw_iscsi.h"
#include "stgtadm_runner.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using iscsi::Bhs;
using iscsi::kReservedTag;
using iscsi::Opcode;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kLunSize = 16ull << 20;
constexpr std::array<uint8_t, 6> kTur{};
constexpr uint8_t kSimple = 1;
constexpr uint8_t kOrdered = 2;
constexpr uint8_t kHeadOfQueue = 3;
constexpr uint8_t kTaskAborted = 0x40;

// RFC 7143 11.5.1 / RFC 7144 4.1 function codes and 11.6.1 / 4.2 responses.
constexpr uint8_t kAbortTask = 1, kAbortTaskSet = 2, kClearAca = 3, kClearTaskSet = 4, kLuReset = 5,
                  kWarmReset = 6, kColdReset = 7, kTaskReassign = 8, kQueryTask = 9,
                  kQueryTaskSet = 10, kItNexusReset = 11, kQueryAsyncEvent = 12;
constexpr uint8_t kComplete = 0, kNoTask = 1, kNoLun = 2, kReassignNotSupported = 4,
                  kNotSupported = 5, kSucceeded = 7;

std::array<uint8_t, 10> write10(uint32_t lba, uint16_t blocks) {
  return {0x2a,         0, uint8_t(lba >> 24),   uint8_t(lba >> 16), uint8_t(lba >> 8),
          uint8_t(lba), 0, uint8_t(blocks >> 8), uint8_t(blocks),    0};
}
std::array<uint8_t, 10> read10(uint32_t lba, uint16_t blocks) {
  auto c = write10(lba, blocks);
  c[0] = 0x28;
  return c;
}

Bhs with_attribute(Bhs b, uint8_t attr) {
  b.bytes[1] = uint8_t((b.bytes[1] & ~0x07) | attr);
  return b;
}

// An immediate Task Management Function Request (RFC 7143 11.5).
Bhs tmf_request(const RawIscsi& raw, uint8_t function, uint32_t itt, uint16_t lun = 1,
                uint32_t ref_itt = kReservedTag, uint32_t ref_cmd_sn = 0) {
  Bhs b;
  b.set_opcode(Opcode::kTaskManagementRequest, true);
  b.bytes[1] = uint8_t(0x80 | function);
  b.set_lun(lun_field(lun));
  b.set_itt(itt);
  b.set32(20, ref_itt);
  b.set32(24, raw.cmd_sn());
  b.set32(28, raw.exp_stat_sn());
  b.set32(32, ref_cmd_sn);
  return b;
}

// The next PDU that is not an unsolicited window update.
testing::AssertionResult next_pdu(RawIscsi& raw, RawPdu& out, Millis timeout = Millis(5000)) {
  while (true) {
    const RecvStatus st = raw.receive(out, timeout);
    if (st == RecvStatus::kTimeout) return testing::AssertionFailure() << "nothing arrived";
    if (st == RecvStatus::kClosed) return testing::AssertionFailure() << "connection closed";
    if (out.opcode() == Opcode::kNopIn && out.bhs.itt() == kReservedTag) continue;
    return testing::AssertionSuccess();
  }
}

// Nothing but window updates for `quiet`.
testing::AssertionResult quiet_for(RawIscsi& raw, Millis quiet) {
  const auto until = Clock::now() + quiet;
  while (Clock::now() < until) {
    RawPdu p;
    const auto left = std::chrono::duration_cast<Millis>(until - Clock::now());
    const RecvStatus st = raw.receive(p, std::max(left, Millis(1)));
    if (st == RecvStatus::kTimeout) break;
    if (st == RecvStatus::kClosed) return testing::AssertionFailure() << "connection closed";
    if (p.opcode() == Opcode::kNopIn && p.bhs.itt() == kReservedTag) continue;
    return testing::AssertionFailure() << "unexpected " << p.describe();
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult expect_status(RawIscsi& raw, uint32_t itt, uint8_t status) {
  RawPdu p;
  auto ok = next_pdu(raw, p);
  if (!ok) return ok << " (waiting for the response to ITT " << hex(itt) << ")";
  if (p.bhs.itt() != itt ||
      (p.opcode() != Opcode::kScsiResponse && p.opcode() != Opcode::kDataIn)) {
    return testing::AssertionFailure()
           << "expected the response to ITT " << hex(itt) << ", got " << p.describe();
  }
  while (p.opcode() == Opcode::kDataIn && (p.bhs.flags() & 0x01) == 0) {
    ok = next_pdu(raw, p);
    if (!ok) return ok;
  }
  if (p.scsi_status() != status) {
    return testing::AssertionFailure() << "ITT " << hex(itt) << ": status " << hex(p.scsi_status())
                                       << ", expected " << hex(status);
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult expect_tmf(RawIscsi& raw, uint32_t itt, uint8_t response,
                                    RawPdu* out = nullptr) {
  RawPdu p;
  auto ok = next_pdu(raw, p);
  if (!ok) return ok << " (waiting for the TMF response)";
  if (p.opcode() != Opcode::kTaskManagementResponse || p.bhs.itt() != itt) {
    return testing::AssertionFailure() << "expected a TMF response, got " << p.describe();
  }
  if (p.response() != response) {
    return testing::AssertionFailure()
           << "TMF response " << int(p.response()) << ", expected " << int(response);
  }
  if (out != nullptr) *out = p;
  return testing::AssertionSuccess();
}

// TEST UNIT READY; `key`/`asc`/`ascq` of its CHECK CONDITION (0 for GOOD).
testing::AssertionResult tur_sense(RawIscsi& raw, uint8_t key, uint8_t asc, uint8_t ascq) {
  RawScsiResult r;
  auto ok = raw.scsi(kTur, 0, r);
  if (!ok) return ok;
  if (key == 0) {
    if (r.status == 0) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "TEST UNIT READY status " << hex(r.status);
  }
  DecodedSense s;
  ok = decode_sense(r.sense, s);
  if (!ok) return ok;
  if (r.status != 0x02 || s.key != key || s.asc != asc || s.ascq != ascq) {
    return testing::AssertionFailure() << "TEST UNIT READY: status " << hex(r.status) << " sense "
                                       << hex(s.key) << "/" << hex(s.asc) << "/" << hex(s.ascq);
  }
  return testing::AssertionSuccess();
}

class TaskManagementTest : public StgtdTest {
 protected:
  void SetUp() override {
    StgtdTest::SetUp();
    stgtd_.write_config(stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)}));
    ASSERT_TRUE(stgtd_.start());
    const auto deadline = Clock::now() + Millis(5000);
    while (Clock::now() < deadline && stgtd_.log().find("stgtd ready") == std::string::npos) {
      std::this_thread::sleep_for(Millis(10));
    }
  }

  // A raw session of its own initiator port, logged in, with its power-on UA cleared.
  testing::AssertionResult open(RawIscsi& raw, const std::string& initiator, uint64_t isid) {
    auto ok = raw.connect(stgtd_.port());
    if (!ok) return ok;
    RawLoginParams p;
    p.initiator = initiator;
    p.isid = isid;
    ok = raw.login(p);
    if (!ok) return ok;
    return raw.clear_unit_attention();
  }

  // Sends a WRITE(10) of `blocks` without data and returns its ITT and R2T.
  testing::AssertionResult start_write(RawIscsi& raw, uint32_t lba, uint16_t blocks, uint8_t attr,
                                       uint32_t& itt, uint32_t& cmd_sn, RawPdu& r2t) {
    itt = raw.next_itt();
    cmd_sn = raw.take_cmd_sn();
    const uint32_t bytes = uint32_t(blocks) * kBlockSize;
    auto ok = raw.send(with_attribute(
        raw.scsi_command(write10(lba, blocks), itt, cmd_sn, bytes, false, true), attr));
    if (!ok) return ok;
    ok = next_pdu(raw, r2t);
    if (!ok) return ok << " (waiting for the R2T)";
    if (r2t.opcode() != Opcode::kR2t || r2t.bhs.itt() != itt) {
      return testing::AssertionFailure() << "expected an R2T, got " << r2t.describe();
    }
    return testing::AssertionSuccess();
  }

  // Sends a data-less command with an attribute; returns its ITT.
  uint32_t send_tur(RawIscsi& raw, uint8_t attr) {
    const uint32_t itt = raw.next_itt();
    EXPECT_TRUE(raw.send(
        with_attribute(raw.scsi_command(kTur, itt, raw.take_cmd_sn(), 0, false, false), attr)));
    return itt;
  }
};

// SAM-5 8.6: an ORDERED command waits for every older command (here a SIMPLE write whose
// data has not arrived) and holds back every newer one; HEAD OF QUEUE runs at once.
TEST_F(TaskManagementTest, OrderedAndHeadOfQueue) {
  RawIscsi raw;
  ASSERT_TRUE(open(raw, kRawInitiatorIqn, 0x800000000001));
  uint32_t w_itt = 0, w_sn = 0;
  RawPdu r2t;
  ASSERT_TRUE(start_write(raw, 0, 8, kSimple, w_itt, w_sn, r2t));
  // A SIMPLE command is not held back by an older SIMPLE write.
  const uint32_t s0 = send_tur(raw, kSimple);
  ASSERT_TRUE(expect_status(raw, s0, 0));
  const uint32_t o = send_tur(raw, kOrdered);
  const uint32_t s = send_tur(raw, kSimple);
  ASSERT_TRUE(quiet_for(raw, Millis(300)));  // o waits for the write, s for o
  // Task sets are per I_T nexus (TST 001b): another session is not held back.
  IscsiSession other("iqn.2026-11.org.stgt.test:other");
  ASSERT_TRUE(other.login(stgtd_.portal(), kTargetIqn));
  EXPECT_TRUE(other.write(1024, make_pattern(10, 4096)));
  const uint32_t h = send_tur(raw, kHeadOfQueue);
  ASSERT_TRUE(expect_status(raw, h, 0));
  ASSERT_TRUE(quiet_for(raw, Millis(200)));
  const auto data = make_pattern(11, 8 * kBlockSize);
  ASSERT_TRUE(raw.send(raw.data_out(w_itt, r2t.ttt(), 0, 0, uint32_t(data.size()), true), data));
  ASSERT_TRUE(expect_status(raw, w_itt, 0));
  ASSERT_TRUE(expect_status(raw, o, 0));
  ASSERT_TRUE(expect_status(raw, s, 0));
}

// A READ behind an ORDERED WRITE of the same blocks whose data is still arriving waits for
// it and returns the new data.
TEST_F(TaskManagementTest, ReadNeverOvertakesAnOrderedWriteStillReceivingData) {
  RawIscsi raw;
  ASSERT_TRUE(open(raw, kRawInitiatorIqn, 0x800000000002));
  uint32_t w_itt = 0, w_sn = 0;
  RawPdu r2t;
  ASSERT_TRUE(start_write(raw, 64, 8, kOrdered, w_itt, w_sn, r2t));
  const uint32_t r_itt = raw.next_itt();
  ASSERT_TRUE(raw.send(
      raw.scsi_command(read10(64, 8), r_itt, raw.take_cmd_sn(), 8 * kBlockSize, true, false)));
  ASSERT_TRUE(quiet_for(raw, Millis(300)));
  const auto data = make_pattern(12, 8 * kBlockSize);
  // Half, a pause, then the rest: the READ must not slip in between.
  ASSERT_TRUE(raw.send(raw.data_out(w_itt, r2t.ttt(), 0, 0, 2048, false), {data.data(), 2048}));
  ASSERT_TRUE(quiet_for(raw, Millis(200)));
  ASSERT_TRUE(
      raw.send(raw.data_out(w_itt, r2t.ttt(), 1, 2048, 2048, true), {data.data() + 2048, 2048}));
  ASSERT_TRUE(expect_status(raw, w_itt, 0));
  std::vector<uint8_t> got;
  while (true) {
    RawPdu p;
    ASSERT_TRUE(next_pdu(raw, p));
    ASSERT_EQ(p.bhs.itt(), r_itt) << p.describe();
    if (p.opcode() == Opcode::kDataIn) got.insert(got.end(), p.data.begin(), p.data.end());
    if (p.opcode() == Opcode::kScsiResponse || (p.bhs.flags() & 0x01) != 0) {
      EXPECT_EQ(p.scsi_status(), 0);
      break;
    }
  }
  EXPECT_EQ(got, data);
}

// RFC 7143 11.5.1: ABORT TASK of a write in the middle of its data transfer. The initiator
// finishes the R2T sequence it was sent; only then does the TMF response come, the write gets
// no response, and nothing of it reaches the medium.
TEST_F(TaskManagementTest, AbortTaskInTheMiddleOfItsDataTransfer) {
  RawIscsi raw;
  ASSERT_TRUE(open(raw, kRawInitiatorIqn, 0x800000000003));
  uint32_t w_itt = 0, w_sn = 0;
  RawPdu r2t;
  ASSERT_TRUE(start_write(raw, 128, 16, kSimple, w_itt, w_sn, r2t));
  const auto data = make_pattern(13, 16 * kBlockSize);
  ASSERT_TRUE(raw.send(raw.data_out(w_itt, r2t.ttt(), 0, 0, 4096, false), {data.data(), 4096}));
  // QUERY TASK sees it.
  const uint32_t q = raw.next_itt();
  ASSERT_TRUE(raw.send(tmf_request(raw, kQueryTask, q, 1, w_itt, w_sn)));
  ASSERT_TRUE(expect_tmf(raw, q, kSucceeded));
  const uint32_t a = raw.next_itt();
  ASSERT_TRUE(raw.send(tmf_request(raw, kAbortTask, a, 1, w_itt, w_sn)));
  // Meanwhile another initiator's I/O to the same LU goes on.
  IscsiSession other("iqn.2026-11.org.stgt.test:other");
  ASSERT_TRUE(other.login(stgtd_.portal(), kTargetIqn));
  const auto theirs = make_pattern(18, 8192);
  ASSERT_TRUE(other.write(2048, theirs));
  std::vector<uint8_t> back;
  ASSERT_TRUE(other.read(2048, theirs.size(), back));
  EXPECT_EQ(back, theirs);
  ASSERT_TRUE(quiet_for(raw, Millis(300)));  // the R2T's sequence is still open
  ASSERT_TRUE(
      raw.send(raw.data_out(w_itt, r2t.ttt(), 1, 4096, 4096, true), {data.data() + 4096, 4096}));
  ASSERT_TRUE(expect_tmf(raw, a, kComplete));
  ASSERT_TRUE(quiet_for(raw, Millis(200)));  // no response for the aborted write
  // Statistics count the abort once: on the LU and on this session, not on the other one.
  const nlohmann::json lu = adm_json(stgtd_, {"stats", "lun", kTargetIqn, "1"});
  EXPECT_EQ(lu["luns"][0]["aborts"], 1) << lu.dump();
  const nlohmann::json sessions = adm_json(stgtd_, {"stats", "session"});
  ASSERT_EQ(sessions["sessions"].size(), 2u) << sessions.dump();
  for (const nlohmann::json& e : sessions["sessions"]) {
    EXPECT_EQ(e["aborts"], e["initiator"] == kRawInitiatorIqn ? 1 : 0) << e.dump();
  }
  ASSERT_TRUE(raw.send(tmf_request(raw, kQueryTask, q, 1, w_itt, w_sn)));
  ASSERT_TRUE(expect_tmf(raw, q, kComplete));
  RawScsiResult r;
  ASSERT_TRUE(raw.scsi(read10(128, 16), 16 * kBlockSize, r));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.data_in, std::vector<uint8_t>(16 * kBlockSize, 0));
  // ABORT TASK of a task that is gone and whose CmdSN is behind: Task does not exist.
  ASSERT_TRUE(raw.send(tmf_request(raw, kAbortTask, a, 1, w_itt, w_sn)));
  ASSERT_TRUE(expect_tmf(raw, a, kNoTask));
}

// ABORT TASK SET takes out a dormant command (behind an ORDERED write still waiting for its
// data) and the write; none of them answers, and the session goes on.
TEST_F(TaskManagementTest, AbortTaskSetClearsEveryTaskOfTheNexus) {
  RawIscsi raw;
  ASSERT_TRUE(open(raw, kRawInitiatorIqn, 0x800000000004));
  uint32_t w_itt = 0, w_sn = 0;
  RawPdu r2t;
  ASSERT_TRUE(start_write(raw, 0, 8, kOrdered, w_itt, w_sn, r2t));
  send_tur(raw, kSimple);
  const uint32_t q = raw.next_itt();
  ASSERT_TRUE(raw.send(tmf_request(raw, kQueryTaskSet, q)));
  ASSERT_TRUE(expect_tmf(raw, q, kSucceeded));
  const uint32_t a = raw.next_itt();
  ASSERT_TRUE(raw.send(tmf_request(raw, kAbortTaskSet, a)));
  // The write's R2T is answered (F=1) before the response may go.
  const auto data = make_pattern(14, 8 * kBlockSize);
  ASSERT_TRUE(raw.send(raw.data_out(w_itt, r2t.ttt(), 0, 0, uint32_t(data.size()), true), data));
  ASSERT_TRUE(expect_tmf(raw, a, kComplete));
  ASSERT_TRUE(quiet_for(raw, Millis(200)));
  ASSERT_TRUE(raw.send(tmf_request(raw, kQueryTaskSet, q)));
  ASSERT_TRUE(expect_tmf(raw, q, kComplete));
  ASSERT_TRUE(raw.send(tmf_request(raw, kClearTaskSet, a)));
  ASSERT_TRUE(expect_tmf(raw, a, kComplete));
  EXPECT_TRUE(tur_sense(raw, 0, 0, 0));
}

// Responses of the functions that need no task: RFC 7143 11.6.1, RFC 7144 4.2.
TEST_F(TaskManagementTest, ResponseCodes) {
  RawIscsi raw;
  ASSERT_TRUE(open(raw, kRawInitiatorIqn, 0x800000000005));
  const uint32_t t = raw.next_itt();
  ASSERT_TRUE(raw.send(tmf_request(raw, kClearAca, t)));
  EXPECT_TRUE(expect_tmf(raw, t, kComplete));
  ASSERT_TRUE(raw.send(tmf_request(raw, kTaskReassign, t, 1, 0x1234, raw.cmd_sn() - 1)));
  EXPECT_TRUE(expect_tmf(raw, t, kReassignNotSupported));
  ASSERT_TRUE(raw.send(tmf_request(raw, 13, t)));
  EXPECT_TRUE(expect_tmf(raw, t, kNotSupported));
  ASSERT_TRUE(raw.send(tmf_request(raw, kAbortTaskSet, t, 9)));
  EXPECT_TRUE(expect_tmf(raw, t, kNoLun));
  ASSERT_TRUE(raw.send(tmf_request(raw, kLuReset, t, 9)));
  EXPECT_TRUE(expect_tmf(raw, t, kNoLun));
  ASSERT_TRUE(raw.send(tmf_request(raw, kQueryTask, t, 1, 0x4242, raw.cmd_sn() - 1)));
  EXPECT_TRUE(expect_tmf(raw, t, kComplete));
  // QUERY ASYNCHRONOUS EVENT: nothing pending, then the LU reset's unit attention.
  ASSERT_TRUE(raw.send(tmf_request(raw, kQueryAsyncEvent, t)));
  EXPECT_TRUE(expect_tmf(raw, t, kComplete));
  ASSERT_TRUE(raw.send(tmf_request(raw, kLuReset, t)));
  EXPECT_TRUE(expect_tmf(raw, t, kComplete));
  RawPdu p;
  ASSERT_TRUE(raw.send(tmf_request(raw, kQueryAsyncEvent, t)));
  EXPECT_TRUE(expect_tmf(raw, t, kSucceeded, &p));
  EXPECT_EQ(p.bhs.bytes[8], 0x06);  // UNIT ATTENTION
  EXPECT_EQ(p.bhs.bytes[9], 0x29);
  EXPECT_EQ(p.bhs.bytes[10], 0x03);
  EXPECT_TRUE(tur_sense(raw, 0x06, 0x29, 0x03));
  EXPECT_TRUE(tur_sense(raw, 0, 0, 0));
}

// RFC 7143 4.2.2.1: a non-immediate request waits for the commands numbered before it, and
// those are not affected by it.
TEST_F(TaskManagementTest, NonImmediateRequestRunsInCmdSnOrder) {
  RawIscsi raw;
  ASSERT_TRUE(open(raw, kRawInitiatorIqn, 0x80000000000f));
  const uint32_t gap = raw.take_cmd_sn();  // sent last
  Bhs req = tmf_request(raw, kAbortTaskSet, raw.next_itt());
  req.bytes[0] &= uint8_t(~0x40);  // not immediate: CmdSN-ordered
  req.set32(24, raw.take_cmd_sn());
  ASSERT_TRUE(raw.send(req));
  ASSERT_TRUE(quiet_for(raw, Millis(300)));
  const uint32_t tur = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.scsi_command(kTur, tur, gap, 0, false, false)));
  ASSERT_TRUE(expect_status(raw, tur, 0));
  ASSERT_TRUE(expect_tmf(raw, req.itt(), kComplete));
  EXPECT_TRUE(tur_sense(raw, 0, 0, 0));
}

// SAM-5 5.11: a command that reuses a live task's ITT aborts the nexus's tasks and is
// answered with OVERLAPPED COMMANDS ATTEMPTED.
TEST_F(TaskManagementTest, ReusedTaskTagIsAnOverlappedCommand) {
  RawIscsi raw;
  ASSERT_TRUE(open(raw, kRawInitiatorIqn, 0x800000000006));
  uint32_t w_itt = 0, w_sn = 0;
  RawPdu r2t;
  ASSERT_TRUE(start_write(raw, 0, 8, kSimple, w_itt, w_sn, r2t));
  ASSERT_TRUE(raw.send(raw.scsi_command(kTur, w_itt, raw.take_cmd_sn(), 0, false, false)));
  RawPdu p;
  ASSERT_TRUE(next_pdu(raw, p));
  ASSERT_EQ(p.opcode(), Opcode::kScsiResponse) << p.describe();
  ASSERT_EQ(p.bhs.itt(), w_itt);
  ASSERT_EQ(p.scsi_status(), 0x02);
  DecodedSense s;
  ASSERT_GE(p.data.size(), 2u);
  ASSERT_TRUE(decode_sense({p.data.data() + 2, p.data.size() - 2}, s));
  EXPECT_EQ(s.key, 0x0b);
  EXPECT_EQ(s.asc, 0x4e);
  ASSERT_TRUE(quiet_for(raw, Millis(200)));  // the first command got no answer
  EXPECT_TRUE(tur_sense(raw, 0, 0, 0));
}

// LOGICAL UNIT RESET from one initiator: another initiator's write waiting for its data ends
// with TASK ABORTED (TAS=1), and every initiator, the requester too, gets BUS DEVICE RESET
// FUNCTION OCCURRED once.
TEST_F(TaskManagementTest, LuResetAbortsOtherInitiatorsAndRaisesUnitAttention) {
  RawIscsi a, b;
  ASSERT_TRUE(open(a, "iqn.2026-11.org.stgt.test:a", 0x800000000007));
  ASSERT_TRUE(open(b, "iqn.2026-11.org.stgt.test:b", 0x800000000008));
  IscsiSession c("iqn.2026-11.org.stgt.test:c");
  ASSERT_TRUE(c.login(stgtd_.portal(), kTargetIqn));
  uint32_t w_itt = 0, w_sn = 0;
  RawPdu r2t;
  ASSERT_TRUE(start_write(b, 256, 8, kSimple, w_itt, w_sn, r2t));
  const uint32_t t = a.next_itt();
  ASSERT_TRUE(a.send(tmf_request(a, kLuReset, t)));
  ASSERT_TRUE(expect_tmf(a, t, kComplete));
  const auto data = make_pattern(15, 8 * kBlockSize);
  ASSERT_TRUE(b.send(b.data_out(w_itt, r2t.ttt(), 0, 0, uint32_t(data.size()), true), data));
  ASSERT_TRUE(expect_status(b, w_itt, kTaskAborted));
  EXPECT_TRUE(tur_sense(b, 0x06, 0x29, 0x03));
  EXPECT_TRUE(tur_sense(b, 0, 0, 0));
  EXPECT_TRUE(tur_sense(a, 0x06, 0x29, 0x03));
  EXPECT_TRUE(tur_sense(a, 0, 0, 0));
  // A libiscsi session sees it too.
  scsi_task* task = iscsi_testunitready_sync(c.get(), 1);
  ASSERT_NE(task, nullptr);
  EXPECT_EQ(task->status, SCSI_STATUS_CHECK_CONDITION);
  EXPECT_EQ(task->sense.key, SCSI_SENSE_UNIT_ATTENTION);
  EXPECT_EQ(task->sense.ascq, 0x2903);
  scsi_free_scsi_task(task);
  // The write never reached the medium.
  RawScsiResult r;
  ASSERT_TRUE(b.scsi(read10(256, 8), 8 * kBlockSize, r));
  EXPECT_EQ(r.data_in, std::vector<uint8_t>(8 * kBlockSize, 0));
}

// With TAS=0 (MODE SELECT, control page) another initiator's aborted task vanishes: no
// status at all, only the reset's unit attention.
TEST_F(TaskManagementTest, WithTasClearedAbortedTasksOfOthersVanish) {
  RawIscsi a, b;
  ASSERT_TRUE(open(a, "iqn.2026-11.org.stgt.test:a", 0x80000000000d));
  ASSERT_TRUE(open(b, "iqn.2026-11.org.stgt.test:b", 0x80000000000e));
  RawScsiResult sense;
  ASSERT_TRUE(a.scsi(std::array<uint8_t, 6>{0x1a, 0x08, 0x0a, 0, 255, 0}, 255, sense));
  ASSERT_EQ(sense.status, 0);
  ASSERT_EQ(sense.data_in.size(), 16u);  // header + control page, no block descriptor
  std::vector<uint8_t> list = sense.data_in;
  ASSERT_EQ(list[4 + 5] & 0x40, 0x40);  // TAS=1 by default
  list[0] = 0;                          // MODE DATA LENGTH is reserved in MODE SELECT
  list[2] = 0;
  list[4] &= 0x7f;  // PS
  list[4 + 5] &= uint8_t(~0x40);
  const uint32_t sel = a.next_itt();
  const std::array<uint8_t, 6> select6{0x15, 0x10, 0, 0, uint8_t(list.size()), 0};
  ASSERT_TRUE(a.send(a.scsi_command(select6, sel, a.take_cmd_sn(), uint32_t(list.size()), false,
                                    true, uint32_t(list.size())),
                     list));
  ASSERT_TRUE(expect_status(a, sel, 0));
  uint32_t w_itt = 0, w_sn = 0;
  RawPdu r2t;
  ASSERT_TRUE(start_write(b, 300, 8, kSimple, w_itt, w_sn, r2t));
  const uint32_t t = a.next_itt();
  ASSERT_TRUE(a.send(tmf_request(a, kLuReset, t)));
  ASSERT_TRUE(expect_tmf(a, t, kComplete));
  const auto data = make_pattern(17, 8 * kBlockSize);
  ASSERT_TRUE(b.send(b.data_out(w_itt, r2t.ttt(), 0, 0, uint32_t(data.size()), true), data));
  ASSERT_TRUE(quiet_for(b, Millis(300)));  // no TASK ABORTED, nothing
  EXPECT_TRUE(tur_sense(b, 0x06, 0x29, 0x03));
  // The reset brought the mode parameters back to their defaults: TAS=1 again.
  EXPECT_TRUE(tur_sense(a, 0x06, 0x29, 0x03));
  ASSERT_TRUE(a.scsi(std::array<uint8_t, 6>{0x1a, 0x08, 0x0a, 0, 255, 0}, 255, sense));
  ASSERT_EQ(sense.data_in.size(), 16u);
  EXPECT_EQ(sense.data_in[4 + 5] & 0x40, 0x40);
}

// TARGET WARM RESET through libiscsi: every session stays, and each gets POWER ON, RESET, OR
// BUS DEVICE RESET OCCURRED.
TEST_F(TaskManagementTest, TargetWarmResetRaisesPowerOnResetEverywhere) {
  IscsiSession a("iqn.2026-11.org.stgt.test:a");
  IscsiSession b("iqn.2026-11.org.stgt.test:b");
  ASSERT_TRUE(a.login(stgtd_.portal(), kTargetIqn));
  ASSERT_TRUE(b.login(stgtd_.portal(), kTargetIqn));
  ASSERT_EQ(iscsi_task_mgmt_target_warm_reset_sync(a.get()), 0) << a.error();
  for (IscsiSession* s : {&b, &a}) {
    scsi_task* task = iscsi_testunitready_sync(s->get(), 1);
    ASSERT_NE(task, nullptr);
    EXPECT_EQ(task->status, SCSI_STATUS_CHECK_CONDITION);
    EXPECT_EQ(task->sense.key, SCSI_SENSE_UNIT_ATTENTION);
    EXPECT_EQ(task->sense.ascq, 0x2900);
    scsi_free_scsi_task(task);
    task = iscsi_testunitready_sync(s->get(), 1);
    ASSERT_NE(task, nullptr);
    EXPECT_EQ(task->status, SCSI_STATUS_GOOD);
    scsi_free_scsi_task(task);
  }
  const auto pattern = make_pattern(16, 64 * 1024);
  EXPECT_TRUE(a.write(512, pattern));
}

// TARGET COLD RESET: the response, then every session is dropped (RFC 7143 11.5.1).
TEST_F(TaskManagementTest, TargetColdResetDropsEverySession) {
  RawIscsi a, b;
  ASSERT_TRUE(open(a, "iqn.2026-11.org.stgt.test:a", 0x800000000009));
  ASSERT_TRUE(open(b, "iqn.2026-11.org.stgt.test:b", 0x80000000000a));
  const uint32_t t = a.next_itt();
  ASSERT_TRUE(a.send(tmf_request(a, kColdReset, t, 0)));
  ASSERT_TRUE(expect_tmf(a, t, kComplete));
  EXPECT_TRUE(a.expect_closed(Millis(3000)));
  EXPECT_TRUE(b.expect_closed(Millis(3000)));
  IscsiSession c;
  EXPECT_TRUE(c.login(stgtd_.portal(), kTargetIqn));
}

// I_T NEXUS RESET (RFC 7144): the response, then the session ends; others are untouched.
TEST_F(TaskManagementTest, ItNexusResetEndsOnlyThatSession) {
  RawIscsi a, b;
  ASSERT_TRUE(open(a, "iqn.2026-11.org.stgt.test:a", 0x80000000000b));
  ASSERT_TRUE(open(b, "iqn.2026-11.org.stgt.test:b", 0x80000000000c));
  const uint32_t t = a.next_itt();
  ASSERT_TRUE(a.send(tmf_request(a, kItNexusReset, t, 0)));
  ASSERT_TRUE(expect_tmf(a, t, kComplete));
  EXPECT_TRUE(a.expect_closed(Millis(3000)));
  EXPECT_TRUE(tur_sense(b, 0, 0, 0));
  // The same initiator port logs in again: I_T NEXUS LOSS OCCURRED (SAM-5 6.3.4).
  RawIscsi again;
  ASSERT_TRUE(again.connect(stgtd_.port()));
  RawLoginParams p;
  p.initiator = "iqn.2026-11.org.stgt.test:a";
  p.isid = 0x80000000000b;
  ASSERT_TRUE(again.login(p));
  EXPECT_TRUE(tur_sense(again, 0x06, 0x29, 0x07));
  EXPECT_TRUE(tur_sense(again, 0, 0, 0));
}

}  // namespace
}  // namespace stgt::functional
