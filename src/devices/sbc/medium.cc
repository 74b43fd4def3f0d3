#include "devices/sbc/sbc.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {

// SBC-4 5.27: START STOP UNIT. Power conditions are accepted and ignored; LOEJ loads or
// ejects the medium of a removable LU.
void start_stop_unit(scsi::Command& cmd) {
  const uint8_t power_condition = cmd.cdb[4] >> 4;
  const bool loej = (cmd.cdb[4] & 0x02) != 0;
  const bool start = (cmd.cdb[4] & 0x01) != 0;
  // With a POWER CONDITION other than 0h, START and LOEJ are ignored.
  if (power_condition != 0 || !loej) {
    cmd.complete_good();
    return;
  }
  scsi::LogicalUnit& lu = *cmd.lu;
  if (!lu.settings().removable) {
    cmd.fail_cdb_field(4, 1);
    return;
  }
  // SBC-4 5.27: while removal is prevented the medium is neither ejected nor loaded (libiscsi
  // PreventAllow.Eject expects MEDIUM REMOVAL PREVENTED for both).
  if (lu.removal_prevented()) {
    cmd.complete_sense(scsi::SenseReason::kMediumRemovalPrevented);
    return;
  }
  lu.set_medium_present(start);
  cmd.complete_good();
}

// SBC-4 5.15: PREVENT ALLOW MEDIUM REMOVAL. PREVENT 01b prevents, 00b allows; the
// obsolete values are treated as their low bit. The prevention belongs to the I_T nexus
// that asked for it: the medium stays locked while any nexus prevents removal, and a
// nexus's prevention ends with it (scsi_layer.cc nexus_lost) or with a LU reset.
void prevent_allow_medium_removal(scsi::Command& cmd) {
  const uint64_t nexus_id = cmd.nexus != nullptr ? cmd.nexus->id() : 0;
  cmd.lu->set_removal_prevented(nexus_id, (cmd.cdb[4] & 0x01) != 0);
  cmd.complete_good();
}

}  // namespace stgt::devices::sbc
