#include <array>

#include "devices/spc/spc.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/lun.h"

namespace stgt::devices::spc {

// SPC-5 6.47: TEST UNIT READY. The SAM gate has already answered for a missing medium.
void test_unit_ready(scsi::Command& cmd) { cmd.complete_good(); }

// SPC-5 6.39: REQUEST SENSE returns (and thereby clears) a pending unit attention, else
// NO SENSE. DESC picks the format of the returned sense data. While a sanitize runs it
// reports NOT READY, SANITIZE IN PROGRESS with the progress indication and leaves any unit
// attention pending (SBC-4 4.11.2, as the SAM gate does); after a failed sanitize, when no
// unit attention is pending, MEDIUM ERROR, SANITIZE COMMAND FAILED (SBC-4 4.11.4).
void request_sense(scsi::Command& cmd) {
  const bool desc = (cmd.cdb[1] & 0x01) != 0;
  const uint8_t allocation_length = cmd.cdb[4];
  using State = scsi::LogicalUnit::SanitizeState;
  const State sanitize = cmd.lu != nullptr ? cmd.lu->sanitize_state() : State::kIdle;
  scsi::SenseReason reason = scsi::SenseReason::kNone;
  scsi::SenseDetail detail;
  const std::optional<uint32_t> lun = scsi::decode_lun(cmd.lun);
  if (sanitize == State::kRunning) {
    reason = scsi::SenseReason::kLunNotReadySanitizeInProgress;
    detail.progress = cmd.lu->sanitize_progress();
  } else if (cmd.nexus != nullptr && lun) {
    reason = cmd.nexus->pop_unit_attention(*lun);
  }
  if (reason == scsi::SenseReason::kNone && sanitize == State::kFailed) {
    reason = scsi::SenseReason::kSanitizeFailed;
  }
  std::array<uint8_t, scsi::kMaxSenseLength> sense{};
  const size_t n = scsi::encode_sense(desc ? scsi::SenseFormat::kDescriptor
                                           : scsi::SenseFormat::kFixed,
                                      reason, detail, sense);
  cmd.complete_data(std::span<const uint8_t>(sense.data(), n), allocation_length);
}

}  // namespace stgt::devices::spc
