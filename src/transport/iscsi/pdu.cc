#include "transport/iscsi/pdu.h"

namespace stgt::iscsi {
namespace {

void stamp(Bhs& b, const SequenceNumbers& sn, bool with_stat_sn = true) {
  if (with_stat_sn) b.set32(24, sn.stat_sn);
  b.set32(28, sn.exp_cmd_sn);
  b.set32(32, sn.max_cmd_sn);
}

}  // namespace

std::string_view to_string(Opcode op) {
  switch (op) {
    case Opcode::kNopOut: return "NOP-Out";
    case Opcode::kScsiCommand: return "SCSI Command";
    case Opcode::kTaskManagementRequest: return "Task Management Request";
    case Opcode::kLoginRequest: return "Login Request";
    case Opcode::kTextRequest: return "Text Request";
    case Opcode::kDataOut: return "Data-Out";
    case Opcode::kLogoutRequest: return "Logout Request";
    case Opcode::kSnackRequest: return "SNACK Request";
    case Opcode::kNopIn: return "NOP-In";
    case Opcode::kScsiResponse: return "SCSI Response";
    case Opcode::kTaskManagementResponse: return "Task Management Response";
    case Opcode::kLoginResponse: return "Login Response";
    case Opcode::kTextResponse: return "Text Response";
    case Opcode::kDataIn: return "Data-In";
    case Opcode::kLogoutResponse: return "Logout Response";
    case Opcode::kR2t: return "R2T";
    case Opcode::kAsyncMessage: return "Async Message";
    case Opcode::kReject: return "Reject";
  }
  return "unknown";
}

// RFC 7143 11.4
Bhs make_scsi_response(const ScsiResponseFields& f, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kScsiResponse);
  b.bytes[1] = uint8_t(0x80 | (f.overflow ? 0x04 : 0) | (f.underflow ? 0x02 : 0));
  b.bytes[2] = f.response;
  b.bytes[3] = f.status;
  b.set_data_segment_length(f.data_segment_length);
  b.set_itt(f.itt);
  stamp(b, sn);
  b.set32(36, f.exp_data_sn);
  b.set32(44, (f.overflow || f.underflow) ? f.residual : 0);
  return b;
}

// RFC 7143 11.7
Bhs make_data_in(const DataInFields& f, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kDataIn);
  uint8_t flags = 0;
  if (f.final_pdu || f.with_status) flags |= 0x80;
  if (f.with_status) {
    flags |= 0x01;
    if (f.overflow) flags |= 0x04;
    if (f.underflow) flags |= 0x02;
    b.bytes[3] = f.status;
    b.set32(44, (f.overflow || f.underflow) ? f.residual : 0);
  }
  b.bytes[1] = flags;
  b.set_data_segment_length(f.length);
  b.set_lun(f.lun);
  b.set_itt(f.itt);
  b.set32(20, kReservedTag);
  stamp(b, sn, f.with_status);
  b.set32(36, f.data_sn);
  b.set32(40, f.buffer_offset);
  return b;
}

// RFC 7143 11.8
Bhs make_r2t(const R2tFields& f, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kR2t);
  b.bytes[1] = 0x80;
  b.set_lun(f.lun);
  b.set_itt(f.itt);
  b.set32(20, f.ttt);
  stamp(b, sn);
  b.set32(36, f.r2t_sn);
  b.set32(40, f.buffer_offset);
  b.set32(44, f.desired_length);
  return b;
}

// RFC 7143 11.19
Bhs make_nop_in(uint32_t itt, uint32_t ttt, uint64_t lun, uint32_t data_length,
                const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kNopIn);
  b.bytes[1] = 0x80;
  b.set_data_segment_length(data_length);
  b.set_lun(lun);
  b.set_itt(itt);
  b.set32(20, ttt);
  stamp(b, sn);
  return b;
}

// RFC 7143 11.17: the data segment carries the complete rejected header.
Bhs make_reject(RejectReason reason, uint32_t data_length, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kReject);
  b.bytes[1] = 0x80;
  b.bytes[2] = uint8_t(reason);
  b.set_data_segment_length(data_length);
  b.set_itt(kReservedTag);
  stamp(b, sn);
  return b;
}

// RFC 7143 11.15
Bhs make_logout_response(uint32_t itt, uint8_t response, uint16_t time2wait, uint16_t time2retain,
                         const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kLogoutResponse);
  b.bytes[1] = 0x80;
  b.bytes[2] = response;
  b.set_itt(itt);
  stamp(b, sn);
  base::store_be16(&b.bytes[40], time2wait);
  base::store_be16(&b.bytes[42], time2retain);
  return b;
}

// RFC 7143 11.11
Bhs make_text_response(uint32_t itt, uint32_t ttt, bool final_pdu, bool cont, uint64_t lun,
                       uint32_t data_length, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kTextResponse);
  b.bytes[1] = uint8_t((final_pdu ? 0x80 : 0) | (cont ? 0x40 : 0));
  b.set_data_segment_length(data_length);
  b.set_lun(lun);
  b.set_itt(itt);
  b.set32(20, ttt);
  stamp(b, sn);
  return b;
}

// RFC 7143 11.6
Bhs make_task_management_response(uint32_t itt, uint8_t response, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kTaskManagementResponse);
  b.bytes[1] = 0x80;
  b.bytes[2] = response;
  b.set_itt(itt);
  stamp(b, sn);
  return b;
}

// RFC 7143 11.9
Bhs make_async_message(uint8_t event, uint16_t param1, uint16_t param2, uint16_t param3,
                       uint64_t lun, uint32_t data_length, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kAsyncMessage);
  b.bytes[1] = 0x80;
  b.set_data_segment_length(data_length);
  b.set_lun(lun);
  b.set_itt(kReservedTag);
  stamp(b, sn);
  b.bytes[36] = event;
  base::store_be16(&b.bytes[38], param1);
  base::store_be16(&b.bytes[40], param2);
  base::store_be16(&b.bytes[42], param3);
  return b;
}

// RFC 7143 11.13
Bhs make_login_response(const LoginResponseFields& f, const SequenceNumbers& sn) {
  Bhs b;
  b.set_opcode(Opcode::kLoginResponse);
  b.bytes[1] = uint8_t((f.transit ? 0x80 : 0) | (f.cont ? 0x40 : 0) | (f.csg & 3) << 2 |
                       (f.transit ? (f.nsg & 3) : 0));
  b.bytes[2] = f.version_max;
  b.bytes[3] = f.version_active;
  b.set_data_segment_length(f.data_segment_length);
  base::store_be48(&b.bytes[8], f.isid);
  base::store_be16(&b.bytes[14], f.tsih);
  b.set_itt(f.itt);
  stamp(b, sn);
  b.bytes[36] = f.status_class;
  b.bytes[37] = f.status_detail;
  return b;
}

}  // namespace stgt::iscsi
