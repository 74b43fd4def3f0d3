#include <vector>

#include "devices/sbc/provisioning.h"
#include "devices/spc/cdb.h"
#include "devices/spc/spc.h"
#include "scsi/logical_unit.h"
#include "scsi/opcode.h"

namespace stgt::devices::spc {
namespace {

using Usage = std::array<uint8_t, 16>;

// One command as RSOC reports it: an opcode, or an opcode with one service action.
struct Reported {
  uint8_t opcode;
  uint16_t action;
  bool has_action;
  uint8_t cdb_length;
  const Usage* usage;
};

constexpr uint8_t kUnmap = 0x42;
constexpr uint8_t kWriteAtomic16 = 0x9c;

// Commands in the table that this LU still does not offer (SPC-5 6.35: the list is what the
// LU supports): UNMAP exists only on a thin LU (SBC-4 5.32), WRITE ATOMIC (16) only over a
// store with an atomic write limit; both handlers answer INVALID COMMAND OPERATION CODE
// otherwise.
bool offered(const scsi::LogicalUnit& lu, uint8_t opcode) {
  if (opcode == kUnmap) return lu.thin();
  if (opcode == kWriteAtomic16) return sbc::max_atomic_transfer_blocks(lu) != 0;
  return true;
}

// A service action this LU supports (SANITIZE CRYPTOGRAPHIC ERASE only over an encrypting
// store).
bool action_offered(const scsi::LogicalUnit& lu, const scsi::ServiceAction& a) {
  return a.handler != nullptr && (a.offered == nullptr || a.offered(lu));
}

std::vector<Reported> all_commands(const scsi::LogicalUnit& lu) {
  const scsi::OpcodeTable& table = *lu.type().opcodes;
  std::vector<Reported> out;
  for (size_t op = 0; op < table.size(); ++op) {
    if (!offered(lu, uint8_t(op))) continue;
    const scsi::OpcodeEntry& e = table[op];
    for (const scsi::ServiceAction& a : e.service_actions) {
      if (action_offered(lu, a)) {
        out.push_back({uint8_t(op), a.action, true, a.cdb_length, &a.usage});
      }
    }
    if (e.service_actions.empty() && e.handler != nullptr) {
      out.push_back({uint8_t(op), 0, false, e.cdb_length, &e.usage});
    }
  }
  return out;
}

// SPC-5 6.35.4: command timeouts descriptor; we give no timeouts (0 = not specified).
void put_timeouts(std::vector<uint8_t>& out) {
  const size_t at = out.size();
  out.resize(at + 12, 0);
  put_be16(out, at, 0x000a);
}

// SPC-5 6.35.2: all_commands parameter data.
void report_all(scsi::Command& cmd, bool rctd, uint32_t allocation_length) {
  std::vector<uint8_t> out(4, 0);
  for (const Reported& r : all_commands(*cmd.lu)) {
    const size_t at = out.size();
    out.resize(at + 8, 0);
    out[at] = r.opcode;
    put_be16(out, at + 2, r.action);
    out[at + 5] = uint8_t((rctd ? 0x02 : 0) | (r.has_action ? 0x01 : 0));  // CTDP, SERVACTV
    put_be16(out, at + 6, r.cdb_length);
    if (rctd) put_timeouts(out);
  }
  put_be32(out, 0, uint32_t(out.size() - 4));
  cmd.complete_data(out, allocation_length);
}

// SPC-5 6.35.3: one_command parameter data. Returns false when the request itself is
// invalid for this opcode (reporting option vs. service actions).
bool report_one(scsi::Command& cmd, uint8_t options, bool rctd, uint32_t allocation_length) {
  const uint8_t opcode = cmd.cdb[3];
  const uint16_t action = cdb_be16(cmd, 4);
  const scsi::OpcodeEntry& e = (*cmd.lu->type().opcodes)[opcode];
  const bool has_actions = !e.service_actions.empty();
  if ((options == 1 && has_actions) || (options == 2 && !has_actions)) return false;
  const Usage* use = nullptr;
  uint8_t length = 0;
  if (has_actions) {
    for (const scsi::ServiceAction& a : e.service_actions) {
      if (a.action == action && action_offered(*cmd.lu, a)) {
        use = &a.usage;
        length = a.cdb_length;
      }
    }
  } else if (e.handler != nullptr && offered(*cmd.lu, opcode)) {
    use = &e.usage;
    length = e.cdb_length;
  }
  std::vector<uint8_t> out(4, 0);
  if (use == nullptr) {
    out[1] = 0x01;  // SUPPORT 001b: not supported
  } else {
    out[1] = uint8_t((rctd ? 0x80 : 0) | 0x03);  // CTDP, SUPPORT 011b
    put_be16(out, 2, length);
    out.insert(out.end(), use->begin(), use->begin() + length);
    if (rctd) put_timeouts(out);
  }
  cmd.complete_data(out, allocation_length);
  return true;
}

}  // namespace

// SPC-5 6.35: REPORT SUPPORTED OPERATION CODES, straight from the device type's table.
void report_supported_opcodes(scsi::Command& cmd) {
  const bool rctd = (cmd.cdb[2] & 0x80) != 0;
  const uint8_t options = cmd.cdb[2] & 0x07;
  const uint32_t allocation_length = cdb_be32(cmd, 6);
  if (options == 0) {
    report_all(cmd, rctd, allocation_length);
    return;
  }
  if (options > 3) {
    cmd.fail_cdb_field(2, 2);
    return;
  }
  if (!report_one(cmd, options, rctd, allocation_length)) cmd.fail_cdb_field(2, 2);
}

}  // namespace stgt::devices::spc
