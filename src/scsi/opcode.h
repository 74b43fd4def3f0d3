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

// How a command behaves while another I_T nexus holds a reservation (SPC-5 5.13, table 71).
enum class ConflictPolicy : uint8_t { kConflict, kAllowed };

struct ServiceAction {
  uint16_t action = 0;
  Handler handler = nullptr;
  const char* name = nullptr;
  uint8_t cdb_length = 0;
  DataDirection direction = DataDirection::kNone;
  std::array<uint8_t, 16> usage{};  // CDB usage data (SPC-5 6.35.3), first byte = opcode
  uint8_t alua_allowed = 0;  // as OpcodeEntry::alua_allowed, for this service action
};

struct OpcodeEntry {
  Handler handler = nullptr;  // null with empty service_actions: not supported
  const char* name = nullptr;
  uint8_t cdb_length = 0;
  DataDirection direction = DataDirection::kNone;
  bool allowed_with_ua = false;      // SPC-5 5.14: INQUIRY, REPORT LUNS, REQUEST SENSE
  bool allowed_without_medium = false;  // answered while NOT READY / MEDIUM NOT PRESENT
  ConflictPolicy reservation = ConflictPolicy::kConflict;
  // Non-active ALUA states the command still runs in (scsi/alua.h kAluaAllow* bits; SPC-5
  // 5.16.2.4); in the others it fails with NOT READY, LOGICAL UNIT NOT ACCESSIBLE.
  uint8_t alua_allowed = 0;
  std::array<uint8_t, 16> usage{};  // CDB usage data for REPORT SUPPORTED OPERATION CODES
  // Non-empty for opcodes dispatched by service action (CDB byte 1, bits 4..0).
  std::span<const ServiceAction> service_actions{};
};

using OpcodeTable = std::array<OpcodeEntry, 256>;

struct DeviceType {
  uint8_t peripheral_device_type = 0;  // SPC-5 table 150: 0x00 disk, 0x0c controller, ...
  const char* name = nullptr;
  const OpcodeTable* opcodes = nullptr;
};

}  // namespace stgt::scsi
