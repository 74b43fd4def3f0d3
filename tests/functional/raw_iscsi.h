// RawIscsi: a deliberately dumb iSCSI initiator for hostile-peer functional tests. It owns one
// blocking TCP socket to stgtd on 127.0.0.1, sends whatever bytes or PDUs a test builds (no
// checking), receives one PDU at a time with a deadline, and does a minimal login
// (AuthMethod=None, the usual operational keys as text, no digests unless asked for).
//
// Sequence numbers: it remembers the CmdSN it should use next, the ExpStatSN it should send
// and the last ExpCmdSN/MaxCmdSN the target told it; builders stamp those, and tests that
// want to misbehave pass their own values. It never answers anything by itself (no NOP-In
// replies, no R2T handling): every exchange is spelled out by the test.
//
// Threads: one object per test thread. Every wait is bounded by a deadline; nothing blocks
// longer than the caller's timeout (sends by SO_SNDTIMEO, 5 s).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.h"
#include "iscsi_session.h"
#include "stgtd_fixture.h"
#include "transport/iscsi/login.h"
#include "transport/iscsi/pdu.h"

namespace stgt::functional {

using Millis = std::chrono::milliseconds;

inline constexpr const char* kRawInitiatorIqn = "iqn.2026-11.org.stgt.test:raw";

// "0x1f": for AssertionResult messages, which drop stream manipulators such as std::hex.
std::string hex(uint64_t value);

// One PDU as received: the 48-byte BHS and the data segment without padding.
struct RawPdu {
  iscsi::Bhs bhs;
  std::vector<uint8_t> data;

  iscsi::Opcode opcode() const { return bhs.opcode(); }
  uint32_t ttt() const { return bhs.ttt(); }
  uint32_t stat_sn() const { return bhs.field32(24); }
  uint32_t exp_cmd_sn() const { return bhs.field32(28); }
  uint32_t max_cmd_sn() const { return bhs.field32(32); }
  // Login Response status (RFC 7143 11.13.5) as 0xCCDD.
  uint16_t login_status() const { return uint16_t(bhs.bytes[36] << 8 | bhs.bytes[37]); }
  // Reject reason / Logout and SCSI response code (RFC 7143 11.17.1, 11.15.1, 11.4.3).
  uint8_t response() const { return bhs.bytes[2]; }
  uint8_t scsi_status() const { return bhs.bytes[3]; }
  std::string text() const { return std::string(data.begin(), data.end()); }
  std::string describe() const;
};

enum class RecvStatus : uint8_t { kPdu, kTimeout, kClosed };

struct RawLoginParams {
  std::string initiator = kRawInitiatorIqn;  // empty: InitiatorName is left out
  std::string target = kTargetIqn;           // empty (or discovery): TargetName is left out
  bool discovery = false;
  uint64_t isid = 0x800000c0ffee;  // RFC 7143 11.12.5: T=10b "random" format
  uint8_t version_min = 0;
  uint32_t max_recv_data_segment_length = 8192;  // what we declare (RFC 7143 13.12)
  // Offered in the operational stage (RFC 7143 13.13, 13.14, 13.17).
  uint32_t max_burst_length = 262144;
  uint32_t first_burst_length = 65536;
  uint32_t max_outstanding_r2t = 1;
  uint16_t tsih = 0;  // non-zero: add a connection to that session (RFC 7143 6.3.3)
  // Offer DataDigest=CRC32C only (RFC 7143 13.1): the test appends the digest of each data
  // segment it sends itself; receive() skips the target's.
  bool data_digest = false;
};

// What a SCSI command came back with: its status, Data-In bytes and sense (if any).
struct RawScsiResult {
  uint8_t status = 0xff;
  std::vector<uint8_t> data_in;
  std::vector<uint8_t> sense;  // without the 2-byte SenseLength
};

// Sense data decoded from fixed (70h/71h) or descriptor (72h/73h) format (SPC-5 4.4).
struct DecodedSense {
  uint8_t key = 0;
  uint8_t asc = 0;
  uint8_t ascq = 0;
  bool sksv = false;
  bool command_data = false;  // C/D: the field pointer points into the CDB
  uint16_t field_pointer = 0;
};
testing::AssertionResult decode_sense(std::span<const uint8_t> sense, DecodedSense& out);

// RFC 7143 11.3.1 / SAM-5 4.7: a single-level LUN (peripheral device addressing).
constexpr uint64_t lun_field(uint16_t lun) {
  return uint64_t(lun) << 48;
}

class RawIscsi {
 public:
  RawIscsi() = default;
  RawIscsi(const RawIscsi&) = delete;
  RawIscsi& operator=(const RawIscsi&) = delete;

  testing::AssertionResult connect(uint16_t port);
  void close() { fd_.reset(); }
  // Abortive close: SO_LINGER 0, so the target sees a TCP reset instead of an orderly EOF.
  void reset();
  // Half-close (shutdown SHUT_WR): the target reads EOF while we can still receive.
  void shutdown_send();
  bool connected() const { return fd_.valid(); }

  testing::AssertionResult send_bytes(std::span<const uint8_t> bytes);
  // BHS, then `data` padded to 4 bytes (RFC 7143 11.1). DataSegmentLength is the caller's.
  testing::AssertionResult send(const iscsi::Bhs& bhs, std::span<const uint8_t> data = {});

  RecvStatus receive(RawPdu& out, Millis timeout);
  // The next PDU, which must have opcode `op`.
  testing::AssertionResult expect(iscsi::Opcode op, RawPdu& out, Millis timeout = Millis(5000));
  // Nothing at all arrives for `quiet`.
  testing::AssertionResult expect_silence(Millis quiet);
  // The target closes the connection within `timeout`; PDUs before the close go to `seen`.
  testing::AssertionResult expect_closed(Millis timeout, std::vector<RawPdu>* seen = nullptr);

  // Sends the first Login Request (security stage, T=1 to the operational stage) and
  // receives its Login Response, whatever its status.
  testing::AssertionResult login_first(const RawLoginParams& p, RawPdu& response);
  // Both stages through to the full feature phase; fails unless every status is success.
  testing::AssertionResult login(const RawLoginParams& p = {});
  testing::AssertionResult login_discovery(uint32_t max_recv_data_segment_length = 8192);

  // ---- sequence state ----
  uint32_t next_itt() { return itt_++; }
  uint32_t take_cmd_sn() { return cmd_sn_++; }
  uint32_t cmd_sn() const { return cmd_sn_; }
  void set_cmd_sn(uint32_t cmd_sn) { cmd_sn_ = cmd_sn; }
  uint32_t exp_cmd_sn() const { return exp_cmd_sn_; }
  uint32_t exp_stat_sn() const { return exp_stat_sn_; }
  uint32_t max_cmd_sn() const { return max_cmd_sn_; }
  uint32_t target_max_recv_data_segment_length() const { return target_mrdsl_; }
  uint16_t tsih() const { return tsih_; }

  // ---- builders (RFC 7143 11.3, 11.7, 11.18, 11.10, 11.14) ----
  // A SCSI Command with F=1, SIMPLE attribute; `cdb` is at most 16 bytes.
  iscsi::Bhs scsi_command(std::span<const uint8_t> cdb, uint32_t itt, uint32_t cmd_sn,
                          uint32_t edtl, bool read, bool write, uint32_t immediate_length = 0,
                          uint16_t lun = 1) const;
  iscsi::Bhs data_out(uint32_t itt, uint32_t ttt, uint32_t data_sn, uint32_t offset,
                      uint32_t length, bool final_pdu, uint16_t lun = 1) const;
  // Immediate NOP-Out (CmdSN not advanced).
  iscsi::Bhs nop_out(uint32_t itt, uint32_t ttt, uint32_t length) const;
  iscsi::Bhs text_request(uint32_t itt, uint32_t ttt, uint32_t cmd_sn, uint32_t length) const;
  iscsi::Bhs logout_request(uint32_t itt, uint32_t cmd_sn, uint8_t reason = 0) const;

  // ---- whole exchanges ----
  // A data-less or read command with the next ITT and CmdSN; collects Data-In and the status.
  testing::AssertionResult scsi(std::span<const uint8_t> cdb, uint32_t edtl, RawScsiResult& out);
  // TEST UNIT READY until GOOD (the first command of a new I_T nexus meets the power-on UA).
  testing::AssertionResult clear_unit_attention();
  // NOP-Out with a real ITT and `payload`; expects the NOP-In echoing it.
  testing::AssertionResult ping(std::string_view payload = "stgt");

 private:
  void track(const RawPdu& pdu);
  // Sends one Login Request and receives its response.
  testing::AssertionResult login_step(const RawLoginParams& p, uint8_t flags, uint32_t itt,
                                      const std::vector<uint8_t>& text, RawPdu& response);

  base::UniqueFd fd_;
  std::vector<uint8_t> rx_;  // bytes received ahead of the parser
  uint32_t itt_ = 0x1000;
  uint32_t cmd_sn_ = 0x100;
  uint32_t exp_stat_sn_ = 0;
  uint32_t exp_cmd_sn_ = 0;
  uint32_t max_cmd_sn_ = 0;
  uint32_t target_mrdsl_ = 8192;
  uint16_t tsih_ = 0;
  bool data_digest_ = false;  // negotiated: data segments carry a 4-byte digest
};

}  // namespace stgt::functional
