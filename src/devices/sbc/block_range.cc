#include "devices/sbc/block_range.h"

#include "devices/spc/cdb.h"
#include "devices/spc/spc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {

BlockRange decode_range(const scsi::Command& cmd, bool zero_is_256) {
  // SPC-5 4.2.5.1: the group code (opcode bits 7..5) fixes the CDB layout.
  switch (cmd.cdb[0] >> 5) {
    case 0: {
      const uint32_t n = cmd.cdb[4];
      return {cdb_be24(cmd, 1) & 0x1fffff, n == 0 && zero_is_256 ? 256u : n, 4};
    }
    case 1:
    case 2:
      return {cdb_be32(cmd, 2), cdb_be16(cmd, 7), 7};
    case 4:
      return {cdb_be64(cmd, 2), cdb_be32(cmd, 10), 10};
    case 5:
      return {cdb_be32(cmd, 2), cdb_be32(cmd, 6), 6};
    default:
      return {};
  }
}

bool in_capacity(const scsi::Command& cmd, uint64_t lba, uint64_t blocks) {
  const uint64_t capacity = cmd.lu->num_blocks();
  return lba <= capacity && blocks <= capacity - lba;
}

bool check_block_command(scsi::Command& cmd, const BlockRange& r) {
  // SBC-4 5.12-5.43: a nonzero RDPROTECT/WRPROTECT/VRPROTECT needs protection information,
  // which we never format (PROT_EN = 0).
  if ((cmd.cdb[0] >> 5) != 0 && (cmd.cdb[1] & 0xe0) != 0) {
    cmd.fail_cdb_field(1, 7);
    return false;
  }
  // SBC-4 6.6.4: a transfer above MAXIMUM TRANSFER LENGTH is an invalid field.
  if (uint64_t(r.blocks) * cmd.lu->block_size() > spc::kMaxTransferBytes) {
    cmd.fail_cdb_field(r.length_byte);
    return false;
  }
  if (!in_capacity(cmd, r.lba, r.blocks)) {
    cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange);
    return false;
  }
  return true;
}

void read_blocks(scsi::Command& cmd, base::BufferChain& into, uint64_t lba,
                 void (*done)(scsi::Command& cmd, int64_t result)) {
  cmd.on_store_done = done;
  cmd.lu->store()->read(cmd.reactor, into.all_iovecs(), lba * cmd.lu->block_size(), &cmd);
}

}  // namespace stgt::devices::sbc
