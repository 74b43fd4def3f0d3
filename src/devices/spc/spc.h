// SPC-5 primary commands shared by every device type. Each handler decodes and checks its
// CDB, then completes the command (scsi/opcode.h Handler contract). They run on the
// command's reactor; none blocks or touches a store.
#pragma once

#include <cstdint>

#include "scsi/command.h"

namespace stgt::devices::spc {

void inquiry(scsi::Command& cmd);                    // 6.7
void test_unit_ready(scsi::Command& cmd);            // 6.47
void request_sense(scsi::Command& cmd);              // 6.39
void report_luns(scsi::Command& cmd);                // 6.33
void report_supported_opcodes(scsi::Command& cmd);   // 6.35
void mode_sense(scsi::Command& cmd);                 // 6.14, 6.15 (6- and 10-byte)
void mode_select(scsi::Command& cmd);                // 6.12, 6.13 (6- and 10-byte)
void report_target_port_groups(scsi::Command& cmd);  // 6.36 (ALUA)
void set_target_port_groups(scsi::Command& cmd);     // 6.44 (explicit ALUA)
void persistent_reserve_in(scsi::Command& cmd);      // 6.16, every service action
void persistent_reserve_out(scsi::Command& cmd);     // 6.17, every service action
void reserve(scsi::Command& cmd);                    // SPC-2 7.21 (6- and 10-byte)
void release(scsi::Command& cmd);                    // SPC-2 7.17 (6- and 10-byte)

inline constexpr uint8_t kReserve6 = 0x16;
inline constexpr uint8_t kRelease6 = 0x17;
inline constexpr uint8_t kReserve10 = 0x56;
inline constexpr uint8_t kRelease10 = 0x57;

// PERSISTENT RESERVE IN service actions (SPC-5 6.16.1 table 156).
inline constexpr uint8_t kPrinReadKeys = 0x00;
inline constexpr uint8_t kPrinReadReservation = 0x01;
inline constexpr uint8_t kPrinReportCapabilities = 0x02;
inline constexpr uint8_t kPrinReadFullStatus = 0x03;

// MAINTENANCE IN (A3h) service actions every device type offers.
inline constexpr uint8_t kRsocServiceAction = 0x0c;
inline constexpr uint8_t kRtpgServiceAction = 0x0a;
// MAINTENANCE OUT (A4h) service actions.
inline constexpr uint8_t kStpgServiceAction = 0x0a;

// Largest transfer any command may ask for (SBC-4 6.6.4 MAXIMUM TRANSFER LENGTH is this
// over the block size): half a BufferChain, so VERIFY can hold data-out and medium at once.
inline constexpr uint32_t kMaxTransferBytes = 16u << 20;

}  // namespace stgt::devices::spc
