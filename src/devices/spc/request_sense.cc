#include <array>

#include "devices/spc/spc.h"
#include "scsi/it_nexus.h"
#include "scsi/lun.h"

namespace stgt::devices::spc {

// SPC-5 6.47: TEST UNIT READY. The SAM gate has already answered for a missing medium.
void test_unit_ready(scsi::Command& cmd) { cmd.complete_good(); }

// SPC-5 6.39: REQUEST SENSE returns (and thereby clears) a pending unit attention, else
// NO SENSE. DESC picks the format of the returned sense data.
void request_sense(scsi::Command& cmd) {
  const bool desc = (cmd.cdb[1] & 0x01) != 0;
  const uint8_t allocation_length = cmd.cdb[4];
  scsi::SenseReason reason = scsi::SenseReason::kNone;
  const std::optional<uint32_t> lun = scsi::decode_lun(cmd.lun);
  if (cmd.nexus != nullptr && lun) reason = cmd.nexus->pop_unit_attention(*lun);
  std::array<uint8_t, scsi::kMaxSenseLength> sense{};
  const size_t n = scsi::encode_sense(desc ? scsi::SenseFormat::kDescriptor
                                           : scsi::SenseFormat::kFixed,
                                      reason, {}, sense);
  cmd.complete_data(std::span<const uint8_t>(sense.data(), n), allocation_length);
}

}  // namespace stgt::devices::spc
