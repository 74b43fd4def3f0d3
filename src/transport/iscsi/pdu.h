// iSCSI PDU codec (RFC 7143 11): the 48-byte Basic Header Segment as a value with typed
// accessors, and builders for every PDU the target sends. All byte order goes through
// base/byte_order.h. No allocation; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/byte_order.h"

namespace stgt::iscsi {

inline constexpr size_t kBhsLength = 48;
inline constexpr size_t kDigestLength = 4;
inline constexpr uint32_t kReservedTag = 0xffffffffu;  // RFC 7143 11.2.1.8
inline constexpr uint32_t kMaxDataSegmentLength = (1u << 24) - 1;

enum class Opcode : uint8_t {
  // initiator -> target (RFC 7143 11.1.1)
  kNopOut = 0x00,
  kScsiCommand = 0x01,
  kTaskManagementRequest = 0x02,
  kLoginRequest = 0x03,
  kTextRequest = 0x04,
  kDataOut = 0x05,
  kLogoutRequest = 0x06,
  kSnackRequest = 0x10,
  // target -> initiator
  kNopIn = 0x20,
  kScsiResponse = 0x21,
  kTaskManagementResponse = 0x22,
  kLoginResponse = 0x23,
  kTextResponse = 0x24,
  kDataIn = 0x25,
  kLogoutResponse = 0x26,
  kR2t = 0x31,
  kAsyncMessage = 0x32,
  kReject = 0x3f,
};

std::string_view to_string(Opcode op);

// RFC 7143 11.17.1
enum class RejectReason : uint8_t {
  kDataDigestError = 0x02,
  kSnackReject = 0x03,
  kProtocolError = 0x04,
  kCommandNotSupported = 0x05,
  kImmediateCommandReject = 0x06,
  kTaskInProgress = 0x07,
  kInvalidDataAck = 0x08,
  kInvalidPduField = 0x09,
  kLongOperationReject = 0x0a,
  kWaitingForLogout = 0x0c,
};

// Round a data segment length up to the 4-byte boundary (RFC 7143 11.1: padding).
inline constexpr uint32_t padded(uint32_t len) { return (len + 3) & ~3u; }

class Bhs {
 public:
  std::array<uint8_t, kBhsLength> bytes{};

  // ---- common fields (RFC 7143 11.2.1) ----
  Opcode opcode() const { return Opcode(bytes[0] & 0x3f); }
  bool immediate() const { return (bytes[0] & 0x40) != 0; }
  bool final_bit() const { return (bytes[1] & 0x80) != 0; }
  uint8_t flags() const { return bytes[1]; }
  uint8_t total_ahs_length() const { return bytes[4]; }  // in 4-byte words
  uint32_t data_segment_length() const { return base::load_be24(&bytes[5]); }
  uint64_t lun() const { return base::load_be64(&bytes[8]); }
  uint32_t itt() const { return base::load_be32(&bytes[16]); }
  uint32_t field32(size_t off) const { return base::load_be32(&bytes[off]); }

  // ---- SCSI Command (11.3) ----
  bool read_bit() const { return (bytes[1] & 0x40) != 0; }
  bool write_bit() const { return (bytes[1] & 0x20) != 0; }
  uint8_t task_attribute() const { return bytes[1] & 0x07; }
  uint32_t expected_data_transfer_length() const { return field32(20); }
  uint32_t cmd_sn() const { return field32(24); }
  uint32_t exp_stat_sn() const { return field32(28); }
  const uint8_t* cdb() const { return &bytes[32]; }

  // ---- Data-Out (11.8) / NOP-Out / Text ----
  uint32_t ttt() const { return field32(20); }
  uint32_t data_sn() const { return field32(36); }
  uint32_t buffer_offset() const { return field32(40); }
  bool continue_bit() const { return (bytes[1] & 0x40) != 0; }  // Text/Login C bit

  // ---- Login Request (11.12) ----
  bool transit() const { return (bytes[1] & 0x80) != 0; }
  uint8_t csg() const { return (bytes[1] >> 2) & 0x3; }
  uint8_t nsg() const { return bytes[1] & 0x3; }
  uint8_t version_max() const { return bytes[2]; }
  uint8_t version_min() const { return bytes[3]; }
  uint64_t isid() const { return base::load_be48(&bytes[8]); }
  uint16_t tsih() const { return base::load_be16(&bytes[14]); }
  uint16_t cid() const { return base::load_be16(&bytes[20]); }

  // ---- Logout Request (11.14) / Task Management (11.5) ----
  uint8_t function() const { return bytes[1] & 0x7f; }
  uint32_t referenced_task_tag() const { return field32(20); }
  uint32_t ref_cmd_sn() const { return field32(32); }

  // ---- setters used by builders ----
  void set_opcode(Opcode op, bool imm = false) {
    bytes[0] = uint8_t(uint8_t(op) | (imm ? 0x40 : 0));
  }
  void set_data_segment_length(uint32_t len) { base::store_be24(&bytes[5], len); }
  void set_lun(uint64_t lun) { base::store_be64(&bytes[8], lun); }
  void set_itt(uint32_t itt) { base::store_be32(&bytes[16], itt); }
  void set32(size_t off, uint32_t v) { base::store_be32(&bytes[off], v); }
};

// Sequence numbers the target stamps on every response (RFC 7143 11.2.1).
struct SequenceNumbers {
  uint32_t stat_sn = 0;
  uint32_t exp_cmd_sn = 0;
  uint32_t max_cmd_sn = 0;
};

// Serial number arithmetic (RFC 1982, as required by RFC 7143 4.2.2.1).
inline bool sn_lt(uint32_t a, uint32_t b) { return a != b && uint32_t(b - a) < (1u << 31); }
inline bool sn_le(uint32_t a, uint32_t b) { return a == b || sn_lt(a, b); }

// ---- builders for target PDUs; each returns a complete BHS ----

struct ScsiResponseFields {
  uint32_t itt = 0;
  uint8_t status = 0;
  uint8_t response = 0;  // 0x00 command completed at target
  bool overflow = false;
  bool underflow = false;
  uint32_t residual = 0;
  uint32_t exp_data_sn = 0;
  uint32_t data_segment_length = 0;  // sense (2-byte length + sense) if any
};
Bhs make_scsi_response(const ScsiResponseFields& f, const SequenceNumbers& sn);

struct DataInFields {
  uint32_t itt = 0;
  uint64_t lun = 0;
  uint32_t data_sn = 0;
  uint32_t buffer_offset = 0;
  uint32_t length = 0;
  bool final_pdu = false;      // F: last PDU of the sequence
  bool with_status = false;    // S: status carried here (then F is set too)
  uint8_t status = 0;
  bool overflow = false;
  bool underflow = false;
  uint32_t residual = 0;
};
// StatSN is stamped only when with_status (RFC 7143 11.7.4).
Bhs make_data_in(const DataInFields& f, const SequenceNumbers& sn);

struct R2tFields {
  uint32_t itt = 0;
  uint64_t lun = 0;
  uint32_t ttt = 0;
  uint32_t r2t_sn = 0;
  uint32_t buffer_offset = 0;
  uint32_t desired_length = 0;
};
Bhs make_r2t(const R2tFields& f, const SequenceNumbers& sn);

Bhs make_nop_in(uint32_t itt, uint32_t ttt, uint64_t lun, uint32_t data_length,
                const SequenceNumbers& sn);
Bhs make_reject(RejectReason reason, uint32_t data_length, const SequenceNumbers& sn);
Bhs make_logout_response(uint32_t itt, uint8_t response, uint16_t time2wait, uint16_t time2retain,
                         const SequenceNumbers& sn);
Bhs make_text_response(uint32_t itt, uint32_t ttt, bool final_pdu, bool cont, uint64_t lun,
                       uint32_t data_length, const SequenceNumbers& sn);
Bhs make_task_management_response(uint32_t itt, uint8_t response, const SequenceNumbers& sn);
Bhs make_async_message(uint8_t event, uint16_t param1, uint16_t param2, uint16_t param3,
                       uint64_t lun, uint32_t data_length, const SequenceNumbers& sn);

struct LoginResponseFields {
  bool transit = false;
  bool cont = false;
  uint8_t csg = 0;
  uint8_t nsg = 0;
  uint8_t version_max = 0;
  uint8_t version_active = 0;
  uint64_t isid = 0;
  uint16_t tsih = 0;
  uint32_t itt = 0;
  uint8_t status_class = 0;
  uint8_t status_detail = 0;
  uint32_t data_segment_length = 0;
};
Bhs make_login_response(const LoginResponseFields& f, const SequenceNumbers& sn);

}  // namespace stgt::iscsi
