// A hostile or broken initiator on a raw TCP socket: every case checks the RFC 7143 answer
// (Login Response status, Reject reason, silence, NOP-In, close), that only the offending
// connection suffers, and that stgtd still serves a fresh libiscsi session with intact data
// afterwards. Where a good session was opened before the attack, its data is checked too.
#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "iscsi_session.h"
#include "raw_iscsi.h"
#include "stgtd_fixture.h"
#include "transport/iscsi/text.h"

namespace stgt::functional {
namespace {

using iscsi::kReservedTag;
using iscsi::Opcode;
using iscsi::RejectReason;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kLunSize = 16ull << 20;
constexpr uint64_t kBystanderLba = 1024;
constexpr size_t kPatternBytes = 64 * 1024;
constexpr std::array<uint8_t, 6> kInquiry36{0x12, 0, 0, 0, 36, 0};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

testing::AssertionResult write_and_check(IscsiSession& s, uint64_t lba, uint64_t seed) {
  const auto pattern = make_pattern(seed, kPatternBytes);
  auto ok = s.write(lba, pattern);
  if (!ok) return ok;
  std::vector<uint8_t> back;
  ok = s.read(lba, pattern.size(), back);
  if (!ok) return ok;
  if (back != pattern) return testing::AssertionFailure() << "data read back differs at " << lba;
  return testing::AssertionSuccess();
}

// A good libiscsi session opened before the attack; its data must come through unharmed.
class Bystander {
 public:
  testing::AssertionResult open(const std::string& portal) {
    auto ok = session_.login(portal, kTargetIqn);
    if (!ok) return ok;
    return write_and_check(session_, kBystanderLba, 1);
  }
  testing::AssertionResult still_works() {
    std::vector<uint8_t> back;
    auto ok = session_.read(kBystanderLba, kPatternBytes, back);
    if (!ok) return ok << " (bystander session)";
    if (back != make_pattern(1, kPatternBytes)) {
      return testing::AssertionFailure() << "bystander data changed";
    }
    return write_and_check(session_, kBystanderLba + 256, 2);
  }

 private:
  IscsiSession session_{"iqn.2026-11.org.stgt.test:bystander"};
};

class HostilePeerTest : public StgtdTest {
 protected:
  testing::AssertionResult start_daemon(const std::function<void(config::Config&)>& tweak = {}) {
    config::Config c = stgtd_.base_config({StgtdProcess::memory_lun(kLunSize)});
    if (tweak) tweak(c);
    stgtd_.write_config(c);
    auto started = stgtd_.start();
    if (!started) return started;
    // StgtdProcess::start() returns once the portal accepts TCP connections, but stgtd
    // listens before it publishes its targets (daemon.cc: add_portal, then publish), so a
    // login in between is answered "not found". Wait for the daemon to say it is ready;
    // if that line ever changes, carry on after the wait rather than fail.
    const auto deadline = Clock::now() + Millis(5000);
    while (Clock::now() < deadline && stgtd_.log().find("stgtd ready") == std::string::npos) {
      std::this_thread::sleep_for(Millis(10));
    }
    return testing::AssertionSuccess();
  }

  // A new libiscsi session logs in and writes and reads back data.
  testing::AssertionResult fresh_session_works(uint64_t seed = 7) {
    IscsiSession s;
    auto ok = s.login(stgtd_.portal(), kTargetIqn);
    if (!ok) return ok << " (fresh session after the attack)";
    ok = write_and_check(s, 4096 + seed * 256, seed);
    if (!ok) return ok;
    return s.logout();
  }

  testing::AssertionResult raw_connect(RawIscsi& raw) { return raw.connect(stgtd_.port()); }

  // RFC 7143 11.13.5: a failing Login Response, then the target closes the connection.
  void expect_login_refused(const RawLoginParams& p, uint16_t status) {
    RawIscsi raw;
    ASSERT_TRUE(raw_connect(raw));
    RawPdu r;
    ASSERT_TRUE(raw.login_first(p, r));
    EXPECT_EQ(r.login_status(), status) << "got " << hex(r.login_status());
    EXPECT_TRUE(raw.expect_closed(Millis(3000)));
  }
};

// RFC 7143 11.17: a Reject's data segment is the complete header of the rejected PDU.
void expect_reject(const RawPdu& pdu, RejectReason reason, uint8_t rejected_opcode,
                   uint32_t rejected_itt) {
  ASSERT_EQ(pdu.opcode(), Opcode::kReject) << pdu.describe();
  EXPECT_EQ(pdu.response(), uint8_t(reason)) << pdu.describe();
  EXPECT_EQ(pdu.bhs.itt(), kReservedTag);
  ASSERT_GE(pdu.data.size(), iscsi::kBhsLength);
  EXPECT_EQ(pdu.data[0] & 0x3f, rejected_opcode);
  EXPECT_EQ(base::load_be32(&pdu.data[16]), rejected_itt);
}

// ---- before and during login ----

TEST_F(HostilePeerTest, GarbageBeforeLoginClosesTheConnection) {
  ASSERT_TRUE(start_daemon());
  Bystander bystander;
  ASSERT_TRUE(bystander.open(stgtd_.portal()));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  std::string garbage = "GET / HTTP/1.1\r\nHost: stgt\r\n\r\n";
  garbage.resize(96, '\xaa');
  ASSERT_TRUE(raw.send_bytes({reinterpret_cast<const uint8_t*>(garbage.data()), garbage.size()}));
  EXPECT_TRUE(raw.expect_closed(Millis(3000)));
  EXPECT_TRUE(bystander.still_works());
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, NonLoginPduDuringLoginClosesTheConnection) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.send(raw.nop_out(raw.next_itt(), kReservedTag, 0)));
  std::vector<RawPdu> seen;
  EXPECT_TRUE(raw.expect_closed(Millis(3000), &seen));
  // RFC 7143 6.3: nothing but Login Responses in the login phase.
  for (const RawPdu& p : seen)
    EXPECT_EQ(p.opcode(), Opcode::kLoginResponse) << p.describe();
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, LoginWithoutInitiatorNameIsMissingParameter) {
  ASSERT_TRUE(start_daemon());
  RawLoginParams p;
  p.initiator.clear();
  expect_login_refused(p, 0x0207);  // RFC 7143 13.5: InitiatorName MUST be sent
  EXPECT_TRUE(fresh_session_works());
}

// By default ([iscsi] conceal_targets) an unknown name is answered as a CHAP target answers
// a stranger (login.cc, LoginMachine::defer_refusal): 0x0201, and the log says why.
TEST_F(HostilePeerTest, LoginToUnknownTargetIsAnAuthenticationFailure) {
  ASSERT_TRUE(start_daemon());
  RawLoginParams p;
  p.target = "iqn.2026-11.org.stgt.test:no-such-target";
  expect_login_refused(p, 0x0201);
  EXPECT_TRUE(stgtd_.wait_for_log("not found (0x0203), concealed"));
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, LoginToUnknownTargetIsNotFoundWhenNotConcealed) {
  ASSERT_TRUE(start_daemon([](config::Config& c) { c.iscsi.conceal_targets = false; }));
  RawLoginParams p;
  p.target = "iqn.2026-11.org.stgt.test:no-such-target";
  expect_login_refused(p, 0x0203);
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, LoginByInitiatorNotInTheAclIsAnAuthenticationFailure) {
  ASSERT_TRUE(
      start_daemon([](config::Config& c) { c.targets[0].acls = {{.initiator = kInitiatorIqn}}; }));
  RawLoginParams p;
  p.initiator = "iqn.2026-11.org.stgt.test:intruder";
  expect_login_refused(p, 0x0201);
  EXPECT_TRUE(stgtd_.wait_for_log("authorization failure (0x0202), concealed"));
  EXPECT_TRUE(fresh_session_works());  // kInitiatorIqn is allowed
}

TEST_F(HostilePeerTest, LoginByInitiatorNotInTheAclIsAuthorizationFailureWhenNotConcealed) {
  ASSERT_TRUE(start_daemon([](config::Config& c) {
    c.targets[0].acls = {{.initiator = kInitiatorIqn}};
    c.iscsi.conceal_targets = false;
  }));
  RawLoginParams p;
  p.initiator = "iqn.2026-11.org.stgt.test:intruder";
  expect_login_refused(p, 0x0202);
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, LoginWithVersionMinAboveZeroIsUnsupportedVersion) {
  ASSERT_TRUE(start_daemon());
  RawLoginParams p;
  p.version_min = 1;
  expect_login_refused(p, 0x0205);  // RFC 7143 11.12.4
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, SilentConnectionIsDroppedAfterLoginTimeout) {
  ASSERT_TRUE(start_daemon([](config::Config& c) { c.iscsi.login_timeout = 2; }));
  RawIscsi raw;
  const auto connected = Clock::now();
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.expect_closed(Millis(5000)));
  const double elapsed = seconds_since(connected);
  EXPECT_GE(elapsed, 1.9);
  EXPECT_LE(elapsed, 4.5);
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, TruncatedHeadersThenCloseLeaveTheDaemonUp) {
  ASSERT_TRUE(start_daemon());
  Bystander bystander;
  ASSERT_TRUE(bystander.open(stgtd_.portal()));
  {
    // Half a Login Request header.
    RawIscsi raw;
    ASSERT_TRUE(raw_connect(raw));
    iscsi::Bhs b;
    b.set_opcode(Opcode::kLoginRequest, true);
    ASSERT_TRUE(raw.send_bytes({b.bytes.data(), 20}));
  }
  {
    // Half a SCSI Command header in the full feature phase.
    RawIscsi raw;
    ASSERT_TRUE(raw_connect(raw));
    ASSERT_TRUE(raw.login());
    const auto b = raw.scsi_command(kInquiry36, raw.next_itt(), raw.take_cmd_sn(), 36, true, false);
    ASSERT_TRUE(raw.send_bytes({b.bytes.data(), 30}));
  }
  {
    // A WRITE announcing 4 KiB of immediate data, of which 100 bytes arrive.
    RawIscsi raw;
    ASSERT_TRUE(raw_connect(raw));
    ASSERT_TRUE(raw.login());
    const std::array<uint8_t, 10> write10{0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0};
    const auto b =
        raw.scsi_command(write10, raw.next_itt(), raw.take_cmd_sn(), 4096, false, true, 4096);
    ASSERT_TRUE(raw.send_bytes(b.bytes));
    const std::vector<uint8_t> some(100, 0x5a);
    ASSERT_TRUE(raw.send_bytes(some));
  }
  EXPECT_TRUE(bystander.still_works());
  EXPECT_TRUE(fresh_session_works());
}

// ---- full feature phase ----

TEST_F(HostilePeerTest, UnknownOpcodeIsRejectedAndTheSessionContinues) {
  ASSERT_TRUE(start_daemon());
  Bystander bystander;
  ASSERT_TRUE(bystander.open(stgtd_.portal()));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  // Reserved (0x07..0x0f) and vendor-specific (0x1c..0x1e) initiator opcodes.
  for (const uint8_t op : {uint8_t(0x0a), uint8_t(0x1c), uint8_t(0x1e)}) {
    SCOPED_TRACE(testing::Message() << "opcode 0x" << std::hex << int(op));
    const uint32_t itt = raw.next_itt();
    auto b = raw.nop_out(itt, kReservedTag, 10);
    b.bytes[0] = op;
    const std::array<uint8_t, 10> junk{1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    ASSERT_TRUE(raw.send(b, junk));
    RawPdu r;
    ASSERT_TRUE(raw.expect(Opcode::kReject, r));
    expect_reject(r, RejectReason::kCommandNotSupported, op, itt);  // RFC 7143 11.17.1
    ASSERT_TRUE(raw.ping("still there?"));
  }
  ASSERT_TRUE(raw.clear_unit_attention());
  EXPECT_TRUE(bystander.still_works());
  EXPECT_TRUE(fresh_session_works());
}

// RFC 7143 6.3: a Login Request after the login phase is a protocol error: Reject, and the
// session goes on. (It used to reach the login machine freed at the end of the login: a
// null dereference that killed the daemon; found by tests/faults/hostile_soak_test.cc.)
TEST_F(HostilePeerTest, LoginRequestInFullFeaturePhaseIsRejected) {
  ASSERT_TRUE(start_daemon());
  Bystander bystander;
  ASSERT_TRUE(bystander.open(stgtd_.portal()));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  iscsi::Bhs b;
  b.set_opcode(Opcode::kLoginRequest, true);
  b.bytes[1] = 0x87;  // T=1, CSG operational, NSG full feature
  const uint32_t itt = raw.next_itt();
  b.set_itt(itt);
  b.set32(24, raw.cmd_sn());
  const std::string text = "MaxRecvDataSegmentLength=8192";
  const std::vector<uint8_t> data(text.begin(), text.end() + 1);
  b.set_data_segment_length(uint32_t(data.size()));
  ASSERT_TRUE(raw.send(b, data));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kReject, r));
  expect_reject(r, RejectReason::kProtocolError, uint8_t(Opcode::kLoginRequest), itt);
  ASSERT_TRUE(raw.ping("after a late login request"));
  EXPECT_TRUE(bystander.still_works());
  EXPECT_TRUE(fresh_session_works());
}

// A write to a LUN without a logical unit joins no task set; if the connection closes while
// it waits for its Data-Out, it must still be let go. It used to count as started forever:
// the connection object was never freed and shutdown waited 5 s for it (found by
// tests/faults/hostile_soak_test.cc). The fixture's stop() fails if SIGTERM takes over 5 s.
TEST_F(HostilePeerTest, ClosingWhileAWriteToAMissingLunWaitsForDataFreesTheConnection) {
  ASSERT_TRUE(start_daemon());
  for (int i = 0; i < 3; ++i) {
    RawIscsi raw;
    ASSERT_TRUE(raw_connect(raw));
    ASSERT_TRUE(raw.login());
    const std::array<uint8_t, 10> write10{0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0};
    auto cmd = raw.scsi_command(write10, raw.next_itt(), raw.take_cmd_sn(), 4096, false, true, 0,
                                7);
    cmd.bytes[1] &= 0x7f;  // F=0: unsolicited Data-Out would follow; it never does
    ASSERT_TRUE(raw.send(cmd));
    ASSERT_TRUE(raw.ping("command queued"));
  }
  EXPECT_TRUE(fresh_session_works());
  const auto asked = Clock::now();
  EXPECT_TRUE(stgtd_.stop());
  EXPECT_LT(seconds_since(asked), 4.0) << "shutdown waited for the abandoned commands";
}

TEST_F(HostilePeerTest, DataSegmentLongerThanDeclaredClosesOnlyThatConnection) {
  ASSERT_TRUE(start_daemon());
  Bystander bystander;
  ASSERT_TRUE(bystander.open(stgtd_.portal()));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  const uint32_t itt = raw.next_itt();
  const uint32_t too_long = raw.target_max_recv_data_segment_length() + 4;
  ASSERT_TRUE(raw.send(raw.nop_out(itt, kReservedTag, too_long)));
  std::vector<RawPdu> seen;
  ASSERT_TRUE(raw.expect_closed(Millis(3000), &seen));
  // RFC 7143 11.2.1.5 / 13.12: a protocol error; the Reject (if the target gets it out
  // before closing) names it.
  ASSERT_FALSE(seen.empty()) << "no Reject before the close";
  for (const RawPdu& p : seen)
    expect_reject(p, RejectReason::kProtocolError, 0x00, itt);
  EXPECT_TRUE(bystander.still_works());
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, DataOutForAnUnknownTaskIsRejectedAndTheSessionContinues) {
  ASSERT_TRUE(start_daemon());
  Bystander bystander;
  ASSERT_TRUE(bystander.open(stgtd_.portal()));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  const std::vector<uint8_t> data = make_pattern(99, 512);
  // Unsolicited (reserved TTT) and solicited (a TTT never issued) data for an ITT never used.
  for (const uint32_t ttt : {kReservedTag, 0x7770u}) {
    SCOPED_TRACE(testing::Message() << "TTT 0x" << std::hex << ttt);
    const uint32_t itt = 0xdead0000 | (ttt & 0xffff);
    ASSERT_TRUE(raw.send(raw.data_out(itt, ttt, 0, 0, uint32_t(data.size()), true), data));
    RawPdu r;
    ASSERT_TRUE(raw.expect(Opcode::kReject, r));
    expect_reject(r, RejectReason::kInvalidPduField, uint8_t(Opcode::kDataOut), itt);
    ASSERT_TRUE(raw.ping());
  }
  ASSERT_TRUE(raw.clear_unit_attention());
  EXPECT_TRUE(bystander.still_works());
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, CommandOutsideTheCmdSnWindowIsIgnored) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  const uint32_t next = raw.cmd_sn();
  ASSERT_EQ(raw.exp_cmd_sn(), next);
  // RFC 7143 4.2.2.1: beyond MaxCmdSN, and an old CmdSN below ExpCmdSN: silently ignored.
  for (const uint32_t cmd_sn : {raw.max_cmd_sn() + 1, raw.max_cmd_sn() + 1000, next - 1}) {
    SCOPED_TRACE(testing::Message()
                 << "CmdSN " << cmd_sn << ", window [" << next << ", " << raw.max_cmd_sn() << "]");
    ASSERT_TRUE(raw.send(raw.scsi_command(kInquiry36, raw.next_itt(), cmd_sn, 36, true, false)));
    EXPECT_TRUE(raw.expect_silence(Millis(300)));
  }
  RawScsiResult r;
  ASSERT_TRUE(raw.scsi(kInquiry36, 36, r));  // CmdSN == ExpCmdSN
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.data_in.size(), 36u);
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, ScsiCommandInADiscoverySessionIsRejected) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login_discovery());
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.scsi_command(kInquiry36, itt, raw.take_cmd_sn(), 36, true, false)));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kReject, r));
  // RFC 7143 4.3: a discovery session carries only Text, Logout and NOP.
  expect_reject(r, RejectReason::kProtocolError, uint8_t(Opcode::kScsiCommand), itt);
  // The session still answers SendTargets (numbered from the ExpCmdSN the target reported).
  raw.set_cmd_sn(r.exp_cmd_sn());
  std::vector<uint8_t> query;
  iscsi::append_key(query, "SendTargets", "All");
  const uint32_t text_itt = raw.next_itt();
  ASSERT_TRUE(raw.send(
      raw.text_request(text_itt, kReservedTag, raw.take_cmd_sn(), uint32_t(query.size())), query));
  ASSERT_TRUE(raw.expect(Opcode::kTextResponse, r));
  EXPECT_NE(r.text().find(kTargetIqn), std::string::npos) << r.text();
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, UnsupportedCdbOpcodeIsInvalidCommandOperationCode) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  const std::array<uint8_t, 6> unsupported{0x02, 0, 0, 0, 0, 0};  // not in SBC-4
  RawScsiResult r;
  ASSERT_TRUE(raw.scsi(unsupported, 0, r));
  EXPECT_EQ(r.status, 0x02);  // CHECK CONDITION
  DecodedSense s;
  ASSERT_TRUE(decode_sense(r.sense, s));
  EXPECT_EQ(s.key, 0x05);  // ILLEGAL REQUEST
  EXPECT_EQ(s.asc, 0x20);  // INVALID COMMAND OPERATION CODE
  EXPECT_EQ(s.ascq, 0x00);
  // SPC-5 4.4.2.4.2: the field pointer names CDB byte 0.
  EXPECT_TRUE(s.sksv);
  EXPECT_TRUE(s.command_data);
  EXPECT_EQ(s.field_pointer, 0);
  ASSERT_TRUE(raw.clear_unit_attention());  // the session goes on
  EXPECT_TRUE(fresh_session_works());
}

// RFC 7143 11.3.1: F=1 on a write command means no unsolicited Data-Out follows; with
// InitialR2T=No the immediate data may be less than FirstBurstLength (13.14 is an upper
// bound) or absent, and the target solicits the rest with R2T. (libiscsi and open-iscsi
// always fill the first burst, so only a raw initiator reaches this path.)
TEST_F(HostilePeerTest, WriteWithLessUnsolicitedDataThanFirstBurstIsSolicited) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  constexpr uint32_t kBytes = 8192;  // below the FirstBurstLength we offer (65536)
  struct Case {
    uint32_t immediate;
    uint32_t unsolicited_data_out;
  };
  uint32_t lba = 64;
  for (const Case c : {Case{0, 0}, Case{512, 0}, Case{1024, 7168}}) {
    SCOPED_TRACE(testing::Message()
                 << "immediate " << c.immediate << ", Data-Out " << c.unsolicited_data_out);
    const auto data = make_pattern(lba, kBytes);
    const std::array<uint8_t, 10> write10{
        0x2a, 0, 0, 0, 0, uint8_t(lba), 0, 0, uint8_t(kBytes / kBlockSize), 0};
    const uint32_t itt = raw.next_itt();
    auto cmd = raw.scsi_command(write10, itt, raw.take_cmd_sn(), kBytes, false, true, c.immediate);
    if (c.unsolicited_data_out > 0) cmd.bytes[1] &= 0x7f;  // F=0: unsolicited Data-Out follows
    ASSERT_TRUE(raw.send(cmd, {data.data(), c.immediate}));
    if (c.unsolicited_data_out > 0) {
      ASSERT_TRUE(
          raw.send(raw.data_out(itt, kReservedTag, 0, c.immediate, c.unsolicited_data_out, true),
                   {data.data() + c.immediate, c.unsolicited_data_out}));
    }
    uint32_t sent = c.immediate + c.unsolicited_data_out;
    while (true) {
      RawPdu r;
      ASSERT_EQ(raw.receive(r, Millis(3000)), RecvStatus::kPdu) << "no R2T or response";
      if (r.opcode() == Opcode::kScsiResponse) {
        EXPECT_EQ(r.scsi_status(), 0) << r.describe();
        break;
      }
      ASSERT_EQ(r.opcode(), Opcode::kR2t) << r.describe();
      const uint32_t offset = r.bhs.field32(40);
      const uint32_t length = r.bhs.field32(44);
      ASSERT_EQ(offset, sent);
      ASSERT_LE(offset + length, kBytes);
      ASSERT_TRUE(raw.send(raw.data_out(itt, r.ttt(), 0, offset, length, true),
                           {data.data() + offset, length}));
      sent += length;
    }
    EXPECT_EQ(sent, kBytes);
    const std::array<uint8_t, 10> read10{
        0x28, 0, 0, 0, 0, uint8_t(lba), 0, 0, uint8_t(kBytes / kBlockSize), 0};
    RawScsiResult back;
    ASSERT_TRUE(raw.scsi(read10, kBytes, back));
    EXPECT_EQ(back.status, 0);
    EXPECT_TRUE(back.data_in == data);
    lba += kBytes / kBlockSize;
  }
  EXPECT_TRUE(fresh_session_works());
}

// RFC 7143 11.8.1: the F bit ends a solicited sequence. One that ends before the R2T's
// length leaves a hole: the command is answered with CHECK CONDITION (ABORTED COMMAND) and
// the session goes on.
TEST_F(HostilePeerTest, SolicitedSequenceEndingShortFailsOnlyThatCommand) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  constexpr uint32_t kBytes = 4096;
  const auto data = make_pattern(7, kBytes);
  const std::array<uint8_t, 10> write10{0x2a, 0, 0, 0, 0, 10, 0, 0, kBytes / kBlockSize, 0};
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.scsi_command(write10, itt, raw.take_cmd_sn(), kBytes, false, true, 0),
                       {}));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kR2t, r, Millis(3000)));
  ASSERT_EQ(r.bhs.field32(40), 0u);
  // Half of what the R2T asked for, with F set.
  ASSERT_TRUE(raw.send(raw.data_out(itt, r.ttt(), 0, 0, kBytes / 2, true), {data.data(), kBytes / 2}));
  ASSERT_TRUE(raw.expect(Opcode::kScsiResponse, r, Millis(3000)));
  EXPECT_EQ(r.scsi_status(), 0x02) << r.describe();
  // The session still works.
  const std::array<uint8_t, 6> tur{0, 0, 0, 0, 0, 0};
  RawScsiResult result;
  ASSERT_TRUE(raw.scsi(tur, 0, result));
  EXPECT_EQ(result.status, 0);
  EXPECT_TRUE(fresh_session_works());
}

// RFC 7143 4.2.2.1: with queue_depth 1, the response to a command closes the window
// (MaxCmdSN = ExpCmdSN - 1) because the task is still being sent; once it is released the
// target opens the window again with an unsolicited NOP-In, so the initiator never stalls.
TEST_F(HostilePeerTest, ClosedCmdSnWindowIsReopenedByNopIn) {
  ASSERT_TRUE(start_daemon([](config::Config& c) { c.iscsi.queue_depth = 1; }));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  for (int round = 0; round < 3; ++round) {
    const uint32_t cmd_sn = raw.take_cmd_sn();
    // The previous command's release reopened the window: a NOP-In with both tags reserved
    // and MaxCmdSN == the CmdSN we are about to use (earlier updates may precede it).
    for (;;) {
      RawPdu update;
      ASSERT_TRUE(raw.expect(Opcode::kNopIn, update, Millis(3000)));
      ASSERT_EQ(update.bhs.itt(), kReservedTag);
      ASSERT_EQ(update.ttt(), kReservedTag);
      if (update.max_cmd_sn() == cmd_sn) break;
    }
    const std::array<uint8_t, 6> tur{0, 0, 0, 0, 0, 0};
    ASSERT_TRUE(raw.send(raw.scsi_command(tur, raw.next_itt(), cmd_sn, 0, false, false, 0), {}));
    RawPdu r;
    ASSERT_TRUE(raw.expect(Opcode::kScsiResponse, r, Millis(3000)));
    EXPECT_EQ(r.exp_cmd_sn(), cmd_sn + 1);
    EXPECT_EQ(r.max_cmd_sn(), cmd_sn) << "window should be closed while the task is in use";
  }
  EXPECT_TRUE(fresh_session_works());
}

// RFC 7143 4.2.2.1: an initiator ignores a MaxCmdSN lower than the one it holds, so the
// target must go on accepting every CmdSN up to the highest MaxCmdSN it ever sent, even
// while its task table is fuller than when it sent it. Here a command held behind a CmdSN
// gap and an immediate command fill the table (queue_depth 4) when the immediate command's
// response is built; the initiator then uses the top of the window it was given. (Found as
// libiscsi MultipathIO.CompareAndWriteAsync hanging: responses batched per reactor
// iteration kept completed tasks in the table while a response was built; the command at
// the old MaxCmdSN was dropped and everything after it waited behind the gap.)
TEST_F(HostilePeerTest, CmdSnWindowOnceAdvertisedIsHonouredWhileTheTaskTableFills) {
  ASSERT_TRUE(start_daemon([](config::Config& c) { c.iscsi.queue_depth = 4; }));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  const uint32_t first = raw.cmd_sn();
  const uint32_t granted = raw.max_cmd_sn();
  ASSERT_EQ(raw.exp_cmd_sn(), first);
  ASSERT_TRUE(iscsi::sn_le(first + 2, granted)) << "window [" << first << ", " << granted << "]";
  const std::array<uint8_t, 6> tur{0, 0, 0, 0, 0, 0};
  std::vector<uint32_t> itts;
  auto send_tur = [&](uint32_t cmd_sn) {
    itts.push_back(raw.next_itt());
    return raw.send(raw.scsi_command(tur, itts.back(), cmd_sn, 0, false, false));
  };
  // CmdSN first + 1 waits for `first`, holding a task.
  ASSERT_TRUE(send_tur(first + 1));
  // An immediate command runs at once; its response is built with two tasks in use.
  iscsi::Bhs immediate = raw.scsi_command(tur, raw.next_itt(), first, 0, false, false);
  immediate.bytes[0] |= 0x40;  // RFC 7143 11.3: I bit
  ASSERT_TRUE(raw.send(immediate));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kScsiResponse, r, Millis(3000)));
  EXPECT_EQ(r.bhs.itt(), immediate.itt());
  EXPECT_TRUE(iscsi::sn_le(granted, r.max_cmd_sn()))
      << "MaxCmdSN went back from " << granted << " to " << r.max_cmd_sn();
  // The top of the window granted before, then the missing CmdSN: all three are answered.
  ASSERT_TRUE(send_tur(granted));
  ASSERT_TRUE(send_tur(first));
  std::vector<uint32_t> answered;
  while (answered.size() < itts.size()) {
    ASSERT_TRUE(raw.expect(Opcode::kScsiResponse, r, Millis(3000)))
        << "answered " << answered.size() << " of " << itts.size() << " (the command at CmdSN "
        << granted << " was dropped?)";
    answered.push_back(r.bhs.itt());
  }
  std::sort(answered.begin(), answered.end());
  std::sort(itts.begin(), itts.end());
  EXPECT_EQ(answered, itts);
  EXPECT_TRUE(fresh_session_works());
}

// Throttling: a session may hold at most [iscsi] session_write_buffer bytes of write data.
// A write that would go past it is answered TASK SET FULL without its buffer being taken;
// once the first write completes, the next one is accepted again.
TEST_F(HostilePeerTest, WritesPastTheSessionBufferGetTaskSetFull) {
  ASSERT_TRUE(start_daemon([](config::Config& c) { c.iscsi.session_write_buffer = 16ull << 20; }));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  // A 12 MiB write whose data we hold back: its buffer stays taken.
  constexpr uint32_t kBig = 12u << 20;
  const std::array<uint8_t, 10> big{0x2a, 0, 0, 0, 0, 0, 0, uint8_t((kBig / kBlockSize) >> 8),
                                    uint8_t(kBig / kBlockSize), 0};
  const uint32_t big_itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.scsi_command(big, big_itt, raw.take_cmd_sn(), kBig, false, true, 0), {}));
  RawPdu r2t;
  ASSERT_TRUE(raw.expect(Opcode::kR2t, r2t, Millis(3000)));
  // 8 MiB more does not fit in 16 MiB: TASK SET FULL (SAM-5 status 28h), no sense.
  constexpr uint32_t kMore = 8u << 20;
  const std::array<uint8_t, 10> more{0x2a, 0, 0, 0, 0x80, 0, 0, uint8_t((kMore / kBlockSize) >> 8),
                                     uint8_t(kMore / kBlockSize), 0};
  ASSERT_TRUE(raw.send(raw.scsi_command(more, raw.next_itt(), raw.take_cmd_sn(), kMore, false, true, 0), {}));
  RawPdu r;
  for (;;) {
    ASSERT_TRUE(raw.receive(r, Millis(3000)) == RecvStatus::kPdu);
    if (r.opcode() == Opcode::kScsiResponse) break;
    ASSERT_EQ(r.opcode(), Opcode::kR2t) << r.describe();  // more R2Ts of the big write
  }
  EXPECT_EQ(r.scsi_status(), 0x28) << r.describe();
  EXPECT_TRUE(fresh_session_works());
}

// ---- NOP (RFC 7143 11.18, 11.19) ----

void nop_timers(config::Config& c) {
  c.iscsi.nop_interval = 1;
  c.iscsi.nop_timeout = 2;
}

// Waits for the target's ping: a NOP-In with the reserved ITT and a real TTT.
testing::AssertionResult wait_for_ping(RawIscsi& raw, Millis timeout, RawPdu& ping) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    auto ok = raw.expect(Opcode::kNopIn, ping,
                         std::chrono::duration_cast<Millis>(deadline - Clock::now()));
    if (!ok) return ok;
    if (ping.bhs.itt() != kReservedTag) {
      return testing::AssertionFailure() << "unsolicited NOP-In with ITT: " << ping.describe();
    }
    if (ping.ttt() != kReservedTag) return testing::AssertionSuccess();
    // TTT reserved too: a window update, no answer wanted.
  }
  return testing::AssertionFailure() << "no NOP-In ping within " << timeout.count() << " ms";
}

TEST_F(HostilePeerTest, AnsweredNopInKeepsTheSessionAlive) {
  ASSERT_TRUE(start_daemon(nop_timers));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  // Answer every ping for 4.5 s: the first comes after ~nop_interval, and had its answer
  // not counted the connection would be gone nop_timeout later, well before the end.
  const auto end = Clock::now() + Millis(4500);
  int answered = 0;
  while (Clock::now() < end) {
    RawPdu ping;
    const auto left = std::chrono::duration_cast<Millis>(end - Clock::now());
    const RecvStatus got = raw.receive(ping, left);
    if (got == RecvStatus::kTimeout) break;
    ASSERT_EQ(got, RecvStatus::kPdu) << "closed after " << answered << " answered pings";
    ASSERT_EQ(ping.opcode(), Opcode::kNopIn) << ping.describe();
    ASSERT_EQ(ping.bhs.itt(), kReservedTag) << ping.describe();
    if (ping.ttt() == kReservedTag) continue;  // a window update
    EXPECT_EQ(ping.bhs.lun(), 0u);
    // RFC 7143 11.18: the answer has the reserved ITT, the ping's TTT and I=1.
    ASSERT_TRUE(raw.send(raw.nop_out(kReservedTag, ping.ttt(), 0)));
    ++answered;
  }
  EXPECT_GE(answered, 1);
  EXPECT_TRUE(raw.ping("alive after pings"));
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, UnansweredNopInClosesTheConnection) {
  ASSERT_TRUE(start_daemon(nop_timers));
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  RawPdu ping;
  ASSERT_TRUE(wait_for_ping(raw, Millis(4000), ping));
  const auto pinged = Clock::now();
  ASSERT_TRUE(raw.expect_closed(Millis(4000)));  // nop_timeout + 2 s
  EXPECT_GE(seconds_since(pinged), 1.5);
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, NopOutWithPingDataIsEchoed) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  EXPECT_TRUE(raw.ping("odd-length ping"));  // 15 bytes: padded on the wire
  const auto big = make_pattern(5, 3001);
  EXPECT_TRUE(raw.ping({reinterpret_cast<const char*>(big.data()), big.size()}));
  EXPECT_TRUE(fresh_session_works());
}

// ---- Text and Logout ----

TEST_F(HostilePeerTest, SendTargetsInADiscoverySessionListsTheTarget) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login_discovery());
  std::vector<uint8_t> query;
  iscsi::append_key(query, "SendTargets", "All");
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(
      raw.text_request(itt, kReservedTag, raw.take_cmd_sn(), uint32_t(query.size())), query));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kTextResponse, r));
  EXPECT_EQ(r.bhs.itt(), itt);
  EXPECT_EQ(r.bhs.flags() & 0xc0, 0x80);  // F=1, C=0
  EXPECT_EQ(r.ttt(), kReservedTag);
  const auto keys = iscsi::parse_text(r.data);
  ASSERT_TRUE(bool(keys)) << r.text();
  const std::vector<iscsi::KeyValue> want{{"TargetName", kTargetIqn},
                                          {"TargetAddress", stgtd_.portal() + ",1"}};
  EXPECT_EQ(*keys, want);
}

TEST_F(HostilePeerTest, LongSendTargetsResponseIsContinuedOverSeveralPdus) {
  constexpr int kExtraTargets = 24;
  const auto long_name = [](int i) {
    std::string name = "iqn.2026-11.org.stgt.test:" + std::string(180, 'x');
    return name + "-" + std::to_string(i);
  };
  ASSERT_TRUE(start_daemon([&](config::Config& c) {
    for (int i = 0; i < kExtraTargets; ++i) {
      config::TargetConfig t{.iqn = long_name(i)};
      t.luns.push_back({.id = 0, .store = "null", .size = 1 << 20, .block_size = kBlockSize});
      t.acls.push_back({.initiator = "ALL"});
      c.targets.push_back(std::move(t));
    }
  }));
  constexpr uint32_t kOurMaxRecv = 512;
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login_discovery(kOurMaxRecv));
  std::vector<uint8_t> query;
  iscsi::append_key(query, "SendTargets", "All");
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(
      raw.text_request(itt, kReservedTag, raw.take_cmd_sn(), uint32_t(query.size())), query));
  std::vector<uint8_t> text;
  int pdus = 0;
  while (true) {
    RawPdu r;
    ASSERT_TRUE(raw.expect(Opcode::kTextResponse, r));
    ++pdus;
    ASSERT_LE(pdus, 100);
    ASSERT_EQ(r.bhs.itt(), itt);
    ASSERT_LE(r.data.size(), kOurMaxRecv);
    text.insert(text.end(), r.data.begin(), r.data.end());
    const bool final_pdu = (r.bhs.flags() & 0x80) != 0;
    const bool cont = (r.bhs.flags() & 0x40) != 0;
    if (!cont) {
      // RFC 7143 11.11.4: the last response has F=1 and the reserved TTT.
      EXPECT_TRUE(final_pdu);
      EXPECT_EQ(r.ttt(), kReservedTag);
      break;
    }
    // RFC 7143 11.11.2, 11.10.4: C=1 means F=0 and a TTT to send back in an empty request.
    ASSERT_FALSE(final_pdu);
    ASSERT_NE(r.ttt(), kReservedTag);
    ASSERT_TRUE(raw.send(raw.text_request(itt, r.ttt(), raw.take_cmd_sn(), 0)));
  }
  EXPECT_GE(pdus, 2);
  const auto keys = iscsi::parse_text(text);
  ASSERT_TRUE(bool(keys));
  std::vector<std::string> names;
  for (const iscsi::KeyValue& kv : *keys) {
    if (kv.key == "TargetName") names.push_back(kv.value);
  }
  EXPECT_EQ(names.size(), size_t(kExtraTargets + 1));
  EXPECT_NE(std::find(names.begin(), names.end(), kTargetIqn), names.end());
  for (int i = 0; i < kExtraTargets; ++i) {
    EXPECT_NE(std::find(names.begin(), names.end(), long_name(i)), names.end()) << i;
  }
  EXPECT_TRUE(raw.ping());  // the session is still usable
  EXPECT_TRUE(fresh_session_works());
}

TEST_F(HostilePeerTest, LogoutIsAnsweredAndTheConnectionCloses) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.logout_request(itt, raw.cmd_sn(), 0)));  // close the session
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kLogoutResponse, r));
  EXPECT_EQ(r.bhs.itt(), itt);
  EXPECT_EQ(r.response(), 0);  // RFC 7143 11.15.1: connection or session closed successfully
  EXPECT_TRUE(raw.expect_closed(Millis(2000)));
  EXPECT_TRUE(fresh_session_works());
}

// RFC 7143 11.14.1: on "close the session" the target terminates every pending command,
// acknowledged via ExpCmdSN or not; one stuck behind a CmdSN gap must not hold the Logout
// Response back.
TEST_F(HostilePeerTest, LogoutWithACommandBehindACmdSnGapIsAnswered) {
  ASSERT_TRUE(start_daemon());
  RawIscsi raw;
  ASSERT_TRUE(raw_connect(raw));
  ASSERT_TRUE(raw.login());
  ASSERT_TRUE(raw.clear_unit_attention());
  const uint32_t gap = raw.cmd_sn();
  ASSERT_TRUE(raw.send(raw.scsi_command(kInquiry36, raw.next_itt(), gap + 1, 36, true, false)));
  EXPECT_TRUE(raw.expect_silence(Millis(200)));  // waits for CmdSN `gap`
  const uint32_t itt = raw.next_itt();
  ASSERT_TRUE(raw.send(raw.logout_request(itt, gap, 0)));
  RawPdu r;
  ASSERT_TRUE(raw.expect(Opcode::kLogoutResponse, r, Millis(3000)));
  EXPECT_EQ(r.bhs.itt(), itt);
  EXPECT_EQ(r.response(), 0);
  EXPECT_TRUE(raw.expect_closed(Millis(2000)));
  EXPECT_TRUE(fresh_session_works());
}

}  // namespace
}  // namespace stgt::functional
