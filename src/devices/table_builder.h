// constexpr helpers that build opcode table entries (scsi/opcode.h) readably: one line per
// command with its CDB usage data (SPC-5 6.35.3), so the same table drives dispatch and
// REPORT SUPPORTED OPERATION CODES.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "scsi/opcode.h"

namespace stgt::devices {

using Usage = std::array<uint8_t, 16>;

constexpr Usage usage(std::initializer_list<uint8_t> bytes) {
  Usage u{};
  size_t i = 0;
  for (const uint8_t b : bytes) u[i++] = b;
  return u;
}

struct OpFlags {
  bool allowed_with_ua = false;
  bool allowed_without_medium = false;
  scsi::ConflictPolicy reservation = scsi::conflict::kWritesMedium;
  uint8_t alua = 0;  // non-active ALUA states the command runs in (scsi/alua.h)
};

inline constexpr OpFlags kDefault{};
// Reads the medium: refused only by exclusive-access type reservations (and SPC-2).
inline constexpr OpFlags kReads{false, false, scsi::conflict::kReadsMedium};
// INQUIRY, REPORT LUNS, REQUEST SENSE: answered through a unit attention (SAM-5 5.14),
// without a medium, whatever reservation is held and in every ALUA state (SPC-5 5.16.2.4).
inline constexpr OpFlags kUaExempt{true, true, scsi::conflict::kAlwaysAllowed,
                                   scsi::kAluaAllowAll};
inline constexpr OpFlags kNoMedium{false, true, scsi::conflict::kWritesMedium};
// Answered without a medium and through every reservation.
inline constexpr OpFlags kNoMediumNoConflict{false, true, scsi::conflict::kAlwaysAllowed};
// Answered without a medium; reads LU state (MODE SENSE): refused like a read.
inline constexpr OpFlags kNoMediumReads{false, true, scsi::conflict::kReadsMedium};
// Answered without a medium; refused only by an SPC-2 reservation (TEST UNIT READY).
inline constexpr OpFlags kNoMediumPersistentAllowed{false, true,
                                                    scsi::conflict::kPersistentAllowed};
inline constexpr OpFlags kPersistentAllowed{false, false, scsi::conflict::kPersistentAllowed};

// `flags` plus the ALUA states in `alua` (e.g. MODE SENSE also runs in standby).
constexpr OpFlags with_alua(OpFlags flags, uint8_t alua) {
  flags.alua = alua;
  return flags;
}

constexpr scsi::OpcodeEntry op(scsi::Handler handler, const char* name,
                               scsi::DataDirection direction, Usage use,
                               OpFlags flags = kDefault) {
  scsi::OpcodeEntry e{};
  e.handler = handler;
  e.name = name;
  e.cdb_length = 0;
  for (size_t i = 0; i < use.size(); ++i) {
    if (use[i] != 0) e.cdb_length = uint8_t(i + 1);
  }
  e.direction = direction;
  e.allowed_with_ua = flags.allowed_with_ua;
  e.allowed_without_medium = flags.allowed_without_medium;
  e.reservation = flags.reservation;
  e.alua_allowed = flags.alua;
  e.usage = use;
  return e;
}

// An opcode dispatched by service action; every action shares the CDB length.
constexpr scsi::OpcodeEntry sa_op(const char* name, uint8_t cdb_length,
                                  std::span<const scsi::ServiceAction> actions,
                                  OpFlags flags = kDefault) {
  scsi::OpcodeEntry e{};
  e.name = name;
  e.cdb_length = cdb_length;
  e.allowed_with_ua = flags.allowed_with_ua;
  e.allowed_without_medium = flags.allowed_without_medium;
  e.reservation = flags.reservation;
  e.alua_allowed = flags.alua;
  e.service_actions = actions;
  return e;
}

constexpr scsi::ServiceAction sa(uint16_t action, scsi::Handler handler, const char* name,
                                 uint8_t cdb_length, scsi::DataDirection direction, Usage use,
                                 uint8_t alua = 0) {
  return scsi::ServiceAction{action, handler, name, cdb_length, direction, use, alua};
}

// A service action that only some LUs support (scsi/opcode.h ServiceAction::offered).
constexpr scsi::ServiceAction offered_if(scsi::ServiceAction a,
                                         bool (*offered)(const scsi::LogicalUnit&)) {
  a.offered = offered;
  return a;
}

// The same entry with a CDB-dependent reservation policy (scsi/opcode.h).
constexpr scsi::OpcodeEntry with_cdb_policy(scsi::OpcodeEntry e,
                                            scsi::ConflictPolicy (*policy)(const scsi::Command&)) {
  e.reservation_by_cdb = policy;
  return e;
}

// Usage data's last byte is the CONTROL byte: NACA and LINK are examined (and refused).
inline constexpr uint8_t kControl = 0x05;

}  // namespace stgt::devices
