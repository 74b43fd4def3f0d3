#include <array>

#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"

namespace stgt::devices::sbc {
namespace {

// REQ_PLIST, REQ_GLIST and DEFECT LIST FORMAT share one byte (byte 2 of the 10-byte CDB,
// byte 1 of the 12-byte one) and come back, as PLISTV, GLISTV and the format, in byte 1 of
// the parameter data header (SBC-4 5.7.2, 5.8.2).
constexpr uint8_t kReqPlist = 0x10;
constexpr uint8_t kReqGlist = 0x08;
constexpr uint8_t kFormatMask = 0x07;
constexpr uint8_t kReservedFormat = 0x07;  // SBC-4 table 6 (6.2.1): 111b is reserved

// An emulated medium has no defects: the primary and grown lists both exist and are empty,
// in whichever address descriptor format was asked for. Returns the header's byte 1, or
// nothing after failing the command on the reserved format.
bool header_flags(scsi::Command& cmd, size_t byte, uint8_t& flags) {
  const uint8_t request = cmd.cdb[byte];
  if ((request & kFormatMask) == kReservedFormat) {
    cmd.fail_cdb_field(uint16_t(byte), 2);
    return false;
  }
  flags = request & (kReqPlist | kReqGlist | kFormatMask);
  return true;
}

}  // namespace

// SBC-4 5.7: READ DEFECT DATA (10): a 4-byte header, DEFECT LIST LENGTH 0.
void read_defect_data10(scsi::Command& cmd) {
  uint8_t flags = 0;
  if (!header_flags(cmd, 2, flags)) return;
  std::array<uint8_t, 4> d{};
  d[1] = flags;
  cmd.complete_data(d, cdb_be16(cmd, 7));
}

// SBC-4 5.8: READ DEFECT DATA (12): an 8-byte header, GENERATION CODE 0 (the list never
// changes), DEFECT LIST LENGTH 0. Any ADDRESS DESCRIPTOR INDEX is past the empty list, which
// yields just the header.
void read_defect_data12(scsi::Command& cmd) {
  uint8_t flags = 0;
  if (!header_flags(cmd, 1, flags)) return;
  std::array<uint8_t, 8> d{};
  d[1] = flags;
  cmd.complete_data(d, cdb_be32(cmd, 6));
}

}  // namespace stgt::devices::sbc
