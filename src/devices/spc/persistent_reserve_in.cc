// SPC-5 6.16: PERSISTENT RESERVE IN. Each service action reports a snapshot of the LU's
// reservation state (scsi/reservations.h) taken under its lock.
#include <vector>

#include "devices/spc/cdb.h"
#include "devices/spc/persistent_reserve.h"
#include "devices/spc/spc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::spc {
namespace {

// 6.16.2: READ KEYS. ADDITIONAL LENGTH counts every key, whatever the allocation length.
std::vector<uint8_t> read_keys(const scsi::PrSnapshot& s) {
  std::vector<uint8_t> out(8 + 8 * s.registrations.size(), 0);
  put_be32(out, 0, s.generation);
  put_be32(out, 4, uint32_t(8 * s.registrations.size()));
  for (size_t i = 0; i < s.registrations.size(); ++i) {
    put_be64(out, 8 + 8 * i, s.registrations[i].key);
  }
  return out;
}

// 6.16.3: READ RESERVATION. The key of an all-registrants reservation is reported as zero.
std::vector<uint8_t> read_reservation(const scsi::PrSnapshot& s) {
  std::vector<uint8_t> out(s.type ? 24 : 8, 0);
  put_be32(out, 0, s.generation);
  if (!s.type) return out;
  put_be32(out, 4, 16);
  put_be64(out, 8, s.holder_key);
  out[21] = uint8_t(*s.type);  // SCOPE 0h (LU_SCOPE) in bits 7..4
  return out;
}

// 6.16.4: REPORT CAPABILITIES.
std::vector<uint8_t> report_capabilities(const scsi::LogicalUnit& lu, const scsi::PrSnapshot& s) {
  std::vector<uint8_t> out(8, 0);
  put_be16(out, 0, 8);
  // CRH (RESERVE/RELEASE per 5.13.3), SIP_C, ATP_C, PTPL_C when there is a state directory.
  out[2] = uint8_t(0x10 | 0x08 | 0x04 | (lu.aptpl_path().empty() ? 0 : 0x01));
  // TMV; ALLOW COMMANDS 011b (TEST UNIT READY through every type, MODE SENSE, REPORT
  // SUPPORTED OPERATION CODES and friends through write exclusive); PTPL_A.
  out[3] = uint8_t(0x80 | (0x3 << 4) | (s.aptpl ? 0x01 : 0));
  // PERSISTENT RESERVATION TYPE MASK: every type.
  out[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;  // WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX
  out[5] = 0x01;                              // EX_AC_AR
  return out;
}

// 6.16.5: READ FULL STATUS, one descriptor per registration.
std::vector<uint8_t> read_full_status(const scsi::PrSnapshot& s) {
  std::vector<uint8_t> out(8, 0);
  put_be32(out, 0, s.generation);
  for (const scsi::FullStatus& f : s.full) {
    const std::vector<uint8_t> tid = encode_transport_id(f.reg.port);
    const size_t at = out.size();
    out.resize(at + 24 + tid.size(), 0);
    put_be64(out, at, f.reg.key);
    out[at + 12] = uint8_t((f.reg.all_tg_pt ? 0x02 : 0) | (f.holder ? 0x01 : 0));
    if (f.holder && s.type) out[at + 13] = uint8_t(*s.type);
    put_be16(out, at + 18, f.reg.all_tg_pt ? 0 : f.reg.relative_port_id);
    put_be32(out, at + 20, uint32_t(tid.size()));
    std::copy(tid.begin(), tid.end(), out.begin() + ptrdiff_t(at + 24));
  }
  put_be32(out, 4, uint32_t(out.size() - 8));
  return out;
}

}  // namespace

void persistent_reserve_in(scsi::Command& cmd) {
  // Bytes 2..6 are reserved (6.16.1).
  for (uint16_t at = 2; at <= 6; ++at) {
    if (cmd.cdb[at] != 0) {
      cmd.fail_cdb_field(at);
      return;
    }
  }
  const uint16_t allocation_length = cdb_be16(cmd, 7);
  const scsi::PrSnapshot s = cmd.lu->reservations().snapshot();
  switch (cmd.cdb[1] & 0x1f) {
    case kPrinReadKeys:
      cmd.complete_data(read_keys(s), allocation_length);
      return;
    case kPrinReadReservation:
      cmd.complete_data(read_reservation(s), allocation_length);
      return;
    case kPrinReportCapabilities:
      cmd.complete_data(report_capabilities(*cmd.lu, s), allocation_length);
      return;
    case kPrinReadFullStatus:
      cmd.complete_data(read_full_status(s), allocation_length);
      return;
    default:
      cmd.fail_cdb_field(1, 4);
      return;
  }
}

}  // namespace stgt::devices::spc
