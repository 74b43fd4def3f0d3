// The device-type seam: a device type is a constexpr 256-entry opcode table. The one table
// drives dispatch (scsi_layer.cc), the unit-attention and reservation gates, and REPORT
// SUPPORTED OPERATION CODES. Concrete tables live in devices/<type>/.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "scsi/alua.h"
#include "scsi/command.h"

namespace stgt::scsi {

// A handler decodes and checks the CDB, then completes the command (inline or later, from a
// store completion) through Command::complete_*(). It runs on the command's reactor.
using Handler = void (*)(Command& cmd);

// Whether a command runs or gets RESERVATION CONFLICT in one situation.
enum class Access : uint8_t { kConflict, kAllowed };

// How a command fares while a reservation is held that the issuing I_T nexus does not hold:
// one column each of SPC-5 5.13.1 table 67 ("SPC commands that are allowed in the presence of
// various reservations") and SBC-4 4.17 table 13, plus the SPC-2 RESERVE(6)/(10) rule
// (SPC-2 5.5.1). The holder of a reservation, and a registered I_T nexus under a
// registrants-only or all-registrants reservation, is never refused by the gate.
struct ConflictPolicy {
  Access spc2 = Access::kConflict;              // RESERVE(6)/(10) held by another I_T nexus
  Access write_exclusive = Access::kConflict;   // Write Exclusive, from any non-holder
  Access exclusive_access = Access::kConflict;  // Exclusive Access, from any non-holder
  Access we_unregistered = Access::kConflict;   // WE-RO / WE-AR, from an unregistered nexus
  Access ea_unregistered = Access::kConflict;   // EA-RO / EA-AR, from an unregistered nexus
  constexpr bool operator==(const ConflictPolicy&) const = default;
};

namespace conflict {
using enum Access;
// Commands that change the medium or the LU's state: refused by every reservation.
inline constexpr ConflictPolicy kWritesMedium{kConflict, kConflict, kConflict, kConflict,
                                              kConflict};
// Commands that read the medium (or data derived from it): allowed through write
// exclusive reservations only.
inline constexpr ConflictPolicy kReadsMedium{kConflict, kAllowed, kConflict, kAllowed,
                                             kConflict};
// TEST UNIT READY, READ CAPACITY: allowed through persistent reservations, refused
// under an SPC-2 reservation.
inline constexpr ConflictPolicy kPersistentAllowed{kConflict, kAllowed, kAllowed, kAllowed,
                                                   kAllowed};
// INQUIRY, REPORT LUNS, REQUEST SENSE, REPORT SUPPORTED OPERATION CODES, RELEASE: never
// refused (the handler of RESERVE/RELEASE applies its own rules).
inline constexpr ConflictPolicy kAlwaysAllowed{kAllowed, kAllowed, kAllowed, kAllowed,
                                               kAllowed};
}  // namespace conflict

struct ServiceAction {
  uint16_t action = 0;
  Handler handler = nullptr;
  const char* name = nullptr;
  uint8_t cdb_length = 0;
  DataDirection direction = DataDirection::kNone;
  std::array<uint8_t, 16> usage{};  // CDB usage data (SPC-5 6.35.3), first byte = opcode
  uint8_t alua_allowed = 0;  // as OpcodeEntry::alua_allowed, for this service action
  // For a service action that only some LUs of the type support (SANITIZE CRYPTOGRAPHIC
  // ERASE needs a store that encrypts): false means it is dispatched and reported (REPORT
  // SUPPORTED OPERATION CODES) as if absent. Null: always supported.
  bool (*offered)(const LogicalUnit& lu) = nullptr;
};

struct OpcodeEntry {
  Handler handler = nullptr;  // null with empty service_actions: not supported
  const char* name = nullptr;
  uint8_t cdb_length = 0;
  DataDirection direction = DataDirection::kNone;
  bool allowed_with_ua = false;      // SPC-5 5.14: INQUIRY, REPORT LUNS, REQUEST SENSE
  bool allowed_without_medium = false;  // answered while NOT READY / MEDIUM NOT PRESENT
  ConflictPolicy reservation = conflict::kWritesMedium;
  // Non-active ALUA states the command still runs in (scsi/alua.h kAluaAllow* bits; SPC-5
  // 5.16.2.4); in the others it fails with NOT READY, LOGICAL UNIT NOT ACCESSIBLE.
  uint8_t alua_allowed = 0;
  std::array<uint8_t, 16> usage{};  // CDB usage data for REPORT SUPPORTED OPERATION CODES
  // Non-empty for opcodes dispatched by service action (CDB byte 1, bits 4..0).
  std::span<const ServiceAction> service_actions{};
  // For the few commands whose column in SPC-5 table 67 / SBC-4 table 13 depends on the CDB
  // (PREVENT ALLOW MEDIUM REMOVAL, START STOP UNIT, SERVICE ACTION IN (16)): when set,
  // it replaces `reservation`. Only called while the LU has a reservation.
  ConflictPolicy (*reservation_by_cdb)(const Command& cmd) = nullptr;
};

using OpcodeTable = std::array<OpcodeEntry, 256>;

struct DeviceType {
  uint8_t peripheral_device_type = 0;  // SPC-5 table 150: 0x00 disk, 0x0c controller, ...
  const char* name = nullptr;
  const OpcodeTable* opcodes = nullptr;
};

}  // namespace stgt::scsi
