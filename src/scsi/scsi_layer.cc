#include "scsi/scsi_layer.h"

#include <array>
#include <optional>

#include "base/byte_order.h"
#include "base/log.h"
#include "scsi/alua.h"
#include "scsi/io_stats.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/lun.h"
#include "scsi/opcode.h"
#include "scsi/task_set.h"

namespace stgt::scsi {
namespace {

constexpr uint8_t kInquiry = 0x12;
constexpr uint8_t kRequestSense = 0x03;
constexpr uint8_t kReportLuns = 0xa0;

// SPC-5 6.7.2: INQUIRY to a LUN with no logical unit: peripheral qualifier 011b, device
// type 1Fh, the rest of the standard data still well formed.
void inquiry_unmapped(Command& cmd) {
  if ((cmd.cdb[1] & 0x01) != 0) {
    cmd.complete_sense(SenseReason::kLunNotSupported);
    return;
  }
  std::array<uint8_t, 36> d{};
  d[0] = 0x7f;
  d[2] = 0x06;  // SPC-4
  d[3] = 0x02;  // response data format 2
  d[4] = uint8_t(d.size() - 5);
  cmd.complete_data(d, base::load_be16(&cmd.cdb[3]));
}

// SPC-5 6.39.1: REQUEST SENSE to an incorrect LUN returns sense data (as parameter data)
// with ILLEGAL REQUEST, LOGICAL UNIT NOT SUPPORTED.
void request_sense_unmapped(Command& cmd) {
  const bool desc = (cmd.cdb[1] & 0x01) != 0;
  std::array<uint8_t, kMaxSenseLength> s{};
  const size_t n = encode_sense(desc ? SenseFormat::kDescriptor : SenseFormat::kFixed,
                                SenseReason::kLunNotSupported, {}, s);
  cmd.complete_data(std::span<const uint8_t>(s.data(), n), cmd.cdb[4]);
}

// Commands addressed to a LUN without a logical unit (SPC-5 4.2.2).
void serve_unmapped(Command& cmd) {
  switch (cmd.cdb[0]) {
    case kInquiry:
      inquiry_unmapped(cmd);
      return;
    case kRequestSense:
      request_sense_unmapped(cmd);
      return;
    case kReportLuns: {
      // REPORT LUNS works at any LUN; LUN 0 (configured or the controller) answers it.
      LogicalUnit* lu0 = cmd.nexus != nullptr ? cmd.nexus->target().lookup(0) : nullptr;
      const Handler h = lu0 != nullptr ? (*lu0->type().opcodes)[kReportLuns].handler : nullptr;
      if (h != nullptr) {
        cmd.lu = lu0;
        h(cmd);
        return;
      }
      break;
    }
    default:
      break;
  }
  cmd.complete_sense(SenseReason::kLunNotSupported);
}

struct Resolved {
  Handler handler = nullptr;
  uint8_t cdb_length = 0;
};

// SBC-4 4.11.2: the commands a logical unit processes while a sanitize runs (SPC-5 opcodes,
// the same for every device type; only a disk LU can be sanitizing), and SANITIZE itself,
// the one command that still reaches the medium after a failed sanitize.
constexpr uint8_t kSanitize = 0x48;

bool runs_while_sanitizing(uint8_t opcode) {
  return opcode == kInquiry || opcode == kReportLuns || opcode == kRequestSense;
}

// Opcode table lookup; service-action opcodes by CDB byte 1 bits 4..0 (SPC-5 4.2.5.1).
// Fails the command and returns nullopt when the opcode or service action is unknown.
std::optional<Resolved> resolve(Command& cmd, const OpcodeEntry& entry) {
  if (!entry.service_actions.empty()) {
    const uint8_t sa = cmd.cdb[1] & 0x1f;
    for (const ServiceAction& a : entry.service_actions) {
      if (a.action != sa || a.handler == nullptr) continue;
      if (a.offered != nullptr && (cmd.lu == nullptr || !a.offered(*cmd.lu))) break;
      return Resolved{a.handler, a.cdb_length};
    }
    cmd.fail_cdb_field(1, 4);
    return std::nullopt;
  }
  if (entry.handler == nullptr) {
    cmd.complete_sense(SenseReason::kInvalidCommandOperationCode,
                       SenseDetail{.field = FieldPointer{.cdb = true, .byte = 0, .bit = 7}});
    return std::nullopt;
  }
  return Resolved{entry.handler, entry.cdb_length};
}

// SAM-5 5.2: CONTROL byte. We support neither NACA (no ACA) nor linked commands.
bool control_byte_ok(Command& cmd, uint8_t cdb_length) {
  if (cdb_length == 0 || cdb_length > Command::kMaxCdb) return true;
  const uint16_t at = cdb_length - 1;
  const uint8_t control = cmd.cdb[at];
  if ((control & 0x04) != 0) {
    cmd.fail_cdb_field(at, 2);
    return false;
  }
  if ((control & 0x01) != 0) {
    cmd.fail_cdb_field(at, 0);
    return false;
  }
  return true;
}

// SPC-5 5.16.2.4: in the standby, unavailable and transitioning states only the commands
// the opcode table marks for the state run (service-action opcodes by their action); the
// rest get NOT READY, LOGICAL UNIT NOT ACCESSIBLE with the state's ASCQ. The active states
// cost one atomic load.
bool alua_allows(Command& cmd, const OpcodeEntry& entry) {
  const AluaState state = cmd.nexus->alua_state();
  const uint8_t bit = alua_allow_bit(state);
  if (bit == 0) return true;
  uint8_t allowed = entry.alua_allowed;
  if (!entry.service_actions.empty()) {
    allowed = 0;
    for (const ServiceAction& a : entry.service_actions) {
      if (a.action == (cmd.cdb[1] & 0x1f)) allowed = a.alua_allowed;
    }
  }
  if ((allowed & bit) != 0) return true;
  cmd.complete_sense(state == AluaState::kStandby       ? SenseReason::kLunNotAccessibleStandby
                     : state == AluaState::kUnavailable ? SenseReason::kLunNotAccessibleUnavailable
                                                        : SenseReason::kLunNotAccessibleTransition);
  return false;
}

// SAM-5 5.3.1: the LU's task set has room for queue_depth commands from all nexuses. A
// command past it gets TASK SET FULL when its nexus already has commands in a task set (they
// will complete and make room), BUSY when it has none.
bool enter_task_set(Command& cmd, LogicalUnit& lu) {
  if (!lu.try_enter_task_set()) {
    cmd.complete_status(cmd.nexus->commands_in_task_sets() > 0 ? Status::kTaskSetFull
                                                               : Status::kBusy);
    return false;
  }
  cmd.in_task_set = true;
  cmd.nexus->entered_task_set();
  return true;
}

// SPC-5 5.13.1, SPC-2 5.5.1: one atomic load while the LU has no reservation and no
// registration; the reservation mutex only while something is held.
bool reservation_allows(const Command& cmd, const LogicalUnit& lu, const OpcodeEntry& entry) {
  const Reservations& r = lu.reservations();
  if (!r.held()) return true;
  return r.allows(cmd.nexus->initiator(), entry.reservation_by_cdb != nullptr
                                              ? entry.reservation_by_cdb(cmd)
                                              : entry.reservation);
}

}  // namespace

void arrive(Command& cmd) {
  cmd.arrived_ns = arrival_stamp_ns(cmd);
  const std::optional<uint32_t> lun = decode_lun(cmd.lun);
  LogicalUnit* lu = nullptr;
  if (lun && cmd.nexus != nullptr) lu = cmd.nexus->target().lookup(*lun, &cmd.read_only_view);
  if (lu == nullptr) {
    // Served by serve_unmapped, in no task set. Until its data is in, task management or a
    // closing connection may still take it back (abort_unstarted).
    cmd.unmapped_waiting = true;
    return;
  }
  cmd.lu = lu;
  cmd.nexus->task_set(*lu).add(cmd);
}

void data_ready(Command& cmd) {
  if (cmd.task_set != nullptr) {
    cmd.task_set->data_ready(cmd);
    return;
  }
  cmd.data_ready = true;
  cmd.unmapped_waiting = false;
  submit(cmd);
}

bool abort_unstarted(Command& cmd, bool release) {
  if (cmd.task_set == nullptr) {
    // A command for a LUN without an LU that still waits for its data has not started. It
    // used to be reported as started, so a connection closed before its Data-Out arrived
    // waited for it forever and was never freed (found by tests/faults/hostile_soak_test).
    const bool waiting = cmd.unmapped_waiting;
    cmd.unmapped_waiting = false;
    return waiting;
  }
  return cmd.task_set->abort_unstarted(cmd, release);
}

void nexus_established(const std::shared_ptr<ItNexus>& nexus) {
  nexus->target().registry().add(nexus);
  // Persistent registrations name an initiator port (iSCSI name and ISID). A re-login with
  // another ISID is another I_T nexus and is not registered; say so rather than let the
  // initiator find out from RESERVATION CONFLICT. The registrations stay, visible to READ
  // KEYS / READ FULL STATUS, until that port re-registers or someone preempts them.
  const Target& target = nexus->target();
  for (const uint32_t lun : target.lun_numbers(false)) {
    const LogicalUnit* lu = target.lookup(lun);
    if (lu == nullptr || !lu->reservations().held()) continue;
    for (const Registration& r : lu->reservations().registered_elsewhere(nexus->initiator())) {
      STGT_LOG_WARN(
          "{} logged in to {} as {}; LUN {} still has its persistent reservation key "
          "{:#x} registered for {} (another ISID): this I_T nexus is not registered",
          nexus->initiator_name(), target.name(), nexus->initiator_port(), lun, r.key, r.port);
    }
  }
}

void nexus_lost(ItNexus& nexus) {
  // SAM-5 6.3.4 I_T nexus loss: the nexus's SPC-2 reservations and medium removal
  // preventions end; persistent reservations survive.
  const Target& target = nexus.target();
  for (const uint32_t lun : target.lun_numbers(true)) {
    if (LogicalUnit* lu = target.lookup(lun)) lu->release_nexus(nexus.id());
  }
  target.registry().remove(&nexus);
}

void logical_unit_reset(LogicalUnit& lu) { lu.reset_nexus_state(); }

void abort_started(Command& cmd) {
  void (*hook)(Command&) = cmd.on_abort;
  if (hook == nullptr) return;
  cmd.on_abort = nullptr;
  hook(cmd);
}

void submit(Command& cmd) {
  if (cmd.arrived_ns == 0) cmd.arrived_ns = arrival_stamp_ns(cmd);
  // 1. LUN exists and is mapped (SAM-5 4.7, SPC-5 4.2.2).
  const std::optional<uint32_t> lun = decode_lun(cmd.lun);
  // A command that came through arrive() has its LU (and its map's read-only flag) already.
  LogicalUnit* lu = cmd.task_set != nullptr ? cmd.lu : nullptr;
  if (lu == nullptr && lun && cmd.nexus != nullptr) {
    lu = cmd.nexus->target().lookup(*lun, &cmd.read_only_view);
  }
  if (lu == nullptr) {
    serve_unmapped(cmd);
    return;
  }
  cmd.lu = lu;
  const OpcodeEntry& entry = (*lu->type().opcodes)[cmd.cdb[0]];

  // 2. ACA: NACA is refused below, so no ACA condition can ever be established, and a
  // command with the ACA attribute is refused (SAM-5 8.6.5).
  if (cmd.attribute == TaskAttribute::kAca) {
    cmd.complete_sense(SenseReason::kInvalidMessageError);
    return;
  }

  // 2a. SBC-4 4.11: while a sanitize operation runs, every command but INQUIRY, REPORT
  // LUNS and REQUEST SENSE gets NOT READY, SANITIZE IN PROGRESS with the progress
  // indication. Before the unit attention, which stays pending until the sanitize ends
  // (libiscsi Sanitize.Reset logs in again after a cold reset and expects SANITIZE IN
  // PROGRESS from the new nexus's first TEST UNIT READY).
  const LogicalUnit::SanitizeState sanitize = lu->sanitize_state();
  if (sanitize == LogicalUnit::SanitizeState::kRunning && !runs_while_sanitizing(cmd.cdb[0])) {
    cmd.complete_sense(SenseReason::kLunNotReadySanitizeInProgress,
                       SenseDetail{.progress = lu->sanitize_progress()});
    return;
  }

  // 3. Unit attention (SAM-5 5.14, SPC-5 5.14): reported once, then cleared.
  if (!entry.allowed_with_ua && cmd.nexus->has_unit_attention(*lun)) {
    cmd.complete_sense(cmd.nexus->pop_unit_attention(*lun));
    return;
  }
  // 3a. Asymmetric access state of the target port group (SPC-5 5.16.2.4), after the unit
  // attention so that ASYMMETRIC ACCESS STATE CHANGED is reported first.
  if (!alua_allows(cmd, entry)) return;
  // 4. Reservation conflict.
  if (!reservation_allows(cmd, *lu, entry)) {
    cmd.complete_status(Status::kReservationConflict);
    return;
  }
  // 5a. Task-set capacity (SAM-5 5.3.1).
  if (!enter_task_set(cmd, *lu)) return;
  // 5. Task-set ordering (SAM-5 8.6): a command that arrived through arrive() gets here
  // only once its task set has enabled it (scsi/task_set.h).
  // 6. Opcode, service action and CONTROL byte; the handler checks the rest of the CDB.
  const std::optional<Resolved> r = resolve(cmd, entry);
  if (!r || !control_byte_ok(cmd, r->cdb_length)) return;
  // SBC-4 4.3: with the medium removed only medium-independent commands run.
  if (!entry.allowed_without_medium) {
    if (!lu->medium_present()) {
      cmd.complete_sense(SenseReason::kMediumNotPresent);
      return;
    }
    // An LU the operator took offline answers the same medium-independent set.
    if (lu->offline()) {
      cmd.complete_sense(SenseReason::kLunNotReadyOffline);
      return;
    }
    // SBC-4 4.11.4: after a failed sanitize only another SANITIZE reaches the medium.
    if (sanitize == LogicalUnit::SanitizeState::kFailed && cmd.cdb[0] != kSanitize) {
      cmd.complete_sense(SenseReason::kSanitizeFailed);
      return;
    }
  }
  // 7. Execute.
  r->handler(cmd);
}

}  // namespace stgt::scsi
