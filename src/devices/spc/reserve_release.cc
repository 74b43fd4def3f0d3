// SPC-2 7.21 / 7.17: RESERVE(6)/(10) and RELEASE(6)/(10), logical-unit reservations only
// (third-party and extent reservations are not supported). The LU's Reservations decide;
// SPC-5 5.13.3 (CRH = 1) governs them while persistent reservations exist.
#include "devices/spc/spc.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::spc {
namespace {

// RESERVE(6)/RELEASE(6) bytes 1..4 and RESERVE(10)/RELEASE(10) bytes 1..8 select
// third-party or extent reservations, which we do not support: every one must be zero.
bool plain_lu_reservation(scsi::Command& cmd) {
  const uint16_t last = cmd.cdb[0] == kReserve6 || cmd.cdb[0] == kRelease6 ? 4 : 8;
  for (uint16_t at = 1; at <= last; ++at) {
    if (cmd.cdb[at] != 0) {
      cmd.fail_cdb_field(at);
      return false;
    }
  }
  return true;
}

}  // namespace

void reserve(scsi::Command& cmd) {
  if (!plain_lu_reservation(cmd)) return;
  cmd.complete_status(cmd.lu->reservations().reserve6(cmd.nexus->initiator()));
}

void release(scsi::Command& cmd) {
  if (!plain_lu_reservation(cmd)) return;
  cmd.complete_status(cmd.lu->reservations().release6(cmd.nexus->initiator()));
}

}  // namespace stgt::devices::spc
