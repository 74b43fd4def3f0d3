// The iSCSI limits a hostile or greedy initiator meets, each configurable in [iscsi] with a
// safe default, and the protocol's answer past each: connections per session (MaxConnections
// is 1: a second connection is refused "too many connections"), the CmdSN window
// (queue_depth), outstanding R2Ts and burst lengths (MaxOutstandingR2T, MaxBurstLength,
// FirstBurstLength negotiated down to the target's settings). Sessions, the session write
// buffer and the memory budget are in throttling_test.cc and hostile_peer_test.cc; the LU's
// task-set depth (TASK SET FULL / BUSY) in tests/unit/scsi/scsi_layer_test.cc.
#include <algorithm>
#include <array>
#include <chrono>
#include <string>
#include <vector>

#include "base/byte_order.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"

namespace stgt::functional {
namespace {

using iscsi::kReservedTag;
using iscsi::Opcode;
using iscsi::RejectReason;

std::array<uint8_t, 10> write10(uint32_t lba, uint16_t blocks) {
  std::array<uint8_t, 10> c{0x2a, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  base::store_be32(&c[2], lba);
  base::store_be16(&c[7], blocks);
  return c;
}

class LimitsTest : public StgtdTest {
 protected:
  testing::AssertionResult start_daemon(const config::IscsiConfig& iscsi) {
    config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(16ull << 20)});
    c.iscsi = iscsi;
    stgtd_.write_config(c);
    auto ok = stgtd_.start();
    if (!ok) return ok;
    return stgtd_.wait_for_log("stgtd ready");
  }
};

TEST(LimitsDefaults, EveryLimitHasASafeDefault) {
  const config::IscsiConfig d;
  EXPECT_EQ(d.max_sessions, 4096u);
  EXPECT_EQ(d.queue_depth, 128u);
  EXPECT_EQ(d.max_outstanding_r2t, 16u);
  EXPECT_EQ(d.max_burst_length, 1u << 20);
  EXPECT_EQ(d.first_burst_length, 256u << 10);
  EXPECT_EQ(d.max_recv_data_segment_length, 256u << 10);
  EXPECT_EQ(d.session_write_buffer, 256ull << 20);
  EXPECT_EQ(d.login_timeout, 15u);
  EXPECT_EQ(config::DaemonConfig{}.memory_budget, 0u);  // a quarter of RAM, >= 64 MiB
}

// RFC 7143 6.3.3 / 11.13.5: MaxConnections is 1, so a login that names a live session's TSIH
// (adding a connection) is refused 0x0206 "too many connections"; an unknown TSIH is 0x020a
// "session does not exist". The session itself is untouched.
TEST_F(LimitsTest, SecondConnectionToASessionIsTooManyConnections) {
  ASSERT_TRUE(start_daemon({}));
  RawIscsi first;
  ASSERT_TRUE(first.connect(stgtd_.port()));
  ASSERT_TRUE(first.login());
  ASSERT_NE(first.tsih(), 0);
  for (const uint16_t tsih : {first.tsih(), uint16_t(first.tsih() + 100)}) {
    SCOPED_TRACE(testing::Message() << "TSIH " << tsih);
    RawIscsi second;
    ASSERT_TRUE(second.connect(stgtd_.port()));
    RawLoginParams p;
    p.tsih = tsih;
    RawPdu r;
    ASSERT_TRUE(second.login_first(p, r));
    EXPECT_EQ(r.login_status(), tsih == first.tsih() ? 0x0206 : 0x020a)
        << hex(r.login_status());
    EXPECT_TRUE(second.expect_closed(Millis(3000)));
  }
  EXPECT_TRUE(first.ping("still one connection"));
}

// RFC 7143 4.2.2.1: the window the target opens is [ExpCmdSN, ExpCmdSN + queue_depth - 1];
// a command past it is ignored, one inside it runs.
TEST_F(LimitsTest, CmdSnWindowIsTheConfiguredQueueDepth) {
  config::IscsiConfig iscsi;
  iscsi.queue_depth = 8;
  ASSERT_TRUE(start_daemon(iscsi));
  RawIscsi raw;
  ASSERT_TRUE(raw.connect(stgtd_.port()));
  ASSERT_TRUE(raw.login());
  // As the final Login Response opened it (later responses may count their own task, still
  // being sent, against the window).
  EXPECT_EQ(raw.max_cmd_sn() - raw.exp_cmd_sn() + 1, 8u);
  ASSERT_TRUE(raw.clear_unit_attention());
  const std::array<uint8_t, 6> tur{};
  ASSERT_TRUE(raw.send(raw.scsi_command(tur, raw.next_itt(), raw.max_cmd_sn() + 1, 0, false, false)));
  EXPECT_TRUE(raw.expect_silence(Millis(300)));
  RawScsiResult r;
  ASSERT_TRUE(raw.scsi(tur, 0, r));
  EXPECT_EQ(r.status, 0);
}

// RFC 7143 13.17, 13.13, 13.14: the initiator offers more than the target allows; the
// negotiated values are the target's, and a large write is solicited with at most
// MaxOutstandingR2T R2Ts at a time, each for at most MaxBurstLength bytes.
TEST_F(LimitsTest, R2tsStayWithinMaxOutstandingR2tAndMaxBurstLength) {
  config::IscsiConfig iscsi;
  iscsi.max_outstanding_r2t = 2;
  iscsi.max_burst_length = 64 * 1024;
  iscsi.first_burst_length = 16 * 1024;
  ASSERT_TRUE(start_daemon(iscsi));
  RawIscsi raw;
  ASSERT_TRUE(raw.connect(stgtd_.port()));
  RawLoginParams p;
  p.max_outstanding_r2t = 8;
  p.max_burst_length = 1 << 20;
  p.first_burst_length = 256 * 1024;
  ASSERT_TRUE(raw.login(p));
  ASSERT_TRUE(raw.clear_unit_attention());
  constexpr uint32_t kBytes = 512 * 1024;
  const std::vector<uint8_t> data(kBytes, 0x6b);
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.scsi_command(write10(0, kBytes / kBlockSize), itt, raw.take_cmd_sn(),
                                        kBytes, false, true, 0)));
  std::vector<RawPdu> open;
  size_t most_open = 0;
  uint32_t answered = 0;
  for (;;) {
    // Collect what the target sends while we answer nothing: never more than 2 R2Ts.
    RawPdu r;
    const RecvStatus got = raw.receive(r, Millis(100));
    ASSERT_NE(got, RecvStatus::kClosed);
    if (got == RecvStatus::kPdu) {
      if (r.opcode() == Opcode::kScsiResponse) {
        EXPECT_EQ(r.scsi_status(), 0) << r.describe();
        break;
      }
      ASSERT_EQ(r.opcode(), Opcode::kR2t) << r.describe();
      EXPECT_LE(r.bhs.field32(44), 64u * 1024) << "R2T past MaxBurstLength";
      open.push_back(r);
      most_open = std::max(most_open, open.size());
      ASSERT_LE(open.size(), 2u) << "more R2Ts outstanding than MaxOutstandingR2T";
      continue;
    }
    ASSERT_FALSE(open.empty()) << "nothing outstanding and no response";
    // Quiet: answer the oldest R2T, which lets the target send the next one.
    const RawPdu r2t = open.front();
    open.erase(open.begin());
    const uint32_t offset = r2t.bhs.field32(40);
    const uint32_t length = r2t.bhs.field32(44);
    // In PDUs of at most the target's MaxRecvDataSegmentLength.
    for (uint32_t at = 0, sn = 0; at < length; ++sn) {
      const uint32_t n = std::min(length - at, raw.target_max_recv_data_segment_length());
      ASSERT_TRUE(raw.send(raw.data_out(itt, r2t.ttt(), sn, offset + at, n, at + n == length),
                           {data.data() + offset + at, n}));
      at += n;
    }
    answered += length;
  }
  EXPECT_EQ(answered, kBytes);
  EXPECT_EQ(most_open, 2u);  // the limit was reached, not just respected
}

// RFC 7143 10.3, 13.14: immediate data past the negotiated FirstBurstLength is a protocol
// error: the command is rejected and the session goes on.
TEST_F(LimitsTest, ImmediateDataPastFirstBurstLengthIsRejected) {
  config::IscsiConfig iscsi;
  iscsi.first_burst_length = 8192;
  ASSERT_TRUE(start_daemon(iscsi));
  RawIscsi raw;
  ASSERT_TRUE(raw.connect(stgtd_.port()));
  ASSERT_TRUE(raw.login());  // offers FirstBurstLength 65536: 8192 is negotiated
  ASSERT_TRUE(raw.clear_unit_attention());
  const std::vector<uint8_t> data(16384, 0x11);
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.scsi_command(write10(0, 32), itt, raw.take_cmd_sn(), 16384, false,
                                        true, 16384),
                       data));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kReject, r));
  EXPECT_EQ(r.response(), uint8_t(RejectReason::kProtocolError));
  EXPECT_TRUE(raw.ping("after the reject"));
}

}  // namespace
}  // namespace stgt::functional
