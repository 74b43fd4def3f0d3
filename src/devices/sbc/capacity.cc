#include <array>

#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {

// SBC-4 5.20: READ CAPACITY (10). RETURNED LOGICAL BLOCK ADDRESS saturates at FFFFFFFFh,
// telling the initiator to use READ CAPACITY (16).
void read_capacity10(scsi::Command& cmd) {
  const bool pmi = (cmd.cdb[8] & 0x01) != 0;
  if (!pmi && cdb_be32(cmd, 2) != 0) {  // LOGICAL BLOCK ADDRESS needs PMI (SBC-3 5.15)
    cmd.fail_cdb_field(2);
    return;
  }
  const uint64_t blocks = cmd.lu->num_blocks();
  const uint64_t last = blocks == 0 ? 0 : blocks - 1;
  std::array<uint8_t, 8> d{};
  base::store_be32(d.data(), last > 0xffffffffu ? 0xffffffffu : uint32_t(last));
  base::store_be32(d.data() + 4, cmd.lu->block_size());
  cmd.complete_data(d, d.size());
}

// SBC-4 5.21: READ CAPACITY (16) (SERVICE ACTION IN (16), action 10h). No protection;
// LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT from the LU's physical_block_size (default one
// logical block per physical block), lowest aligned LBA 0. A thin LU sets LBPME and LBPRZ:
// unmapped blocks read back as zeros (backing/backing_store.h unmap contract).
void read_capacity16(scsi::Command& cmd) {
  const uint32_t allocation_length = cdb_be32(cmd, 10);
  const bool pmi = (cmd.cdb[14] & 0x01) != 0;
  if (!pmi && cdb_be64(cmd, 2) != 0) {
    cmd.fail_cdb_field(2);
    return;
  }
  const uint64_t blocks = cmd.lu->num_blocks();
  std::array<uint8_t, 32> d{};
  base::store_be64(d.data(), blocks == 0 ? 0 : blocks - 1);
  base::store_be32(d.data() + 8, cmd.lu->block_size());
  d[13] = cmd.lu->physical_block_exponent();
  if (cmd.lu->thin()) d[14] = 0x80 | 0x40;  // LBPME, LBPRZ
  cmd.complete_data(d, allocation_length);
}

}  // namespace stgt::devices::sbc
