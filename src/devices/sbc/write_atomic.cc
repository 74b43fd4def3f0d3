#include <bit>

#include "devices/sbc/block_range.h"
#include "devices/sbc/provisioning.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// Byte 1 of WRITE ATOMIC (16) (SBC-4 5.48): WRPROTECT, DPO, FUA; bits 2..0 reserved.
constexpr uint8_t kWrProtect = 0xe0;
constexpr uint8_t kFua = 0x08;
constexpr uint8_t kReserved = 0x07;

constexpr size_t kAtomicBoundaryByte = 10;
constexpr size_t kLengthByte = 12;

// Byte 1 and ATOMIC BOUNDARY; false after failing the command.
bool check_fields(scsi::Command& cmd) {
  const uint8_t flags = cmd.cdb[1];
  if ((flags & kWrProtect) != 0) {  // no protection information
    cmd.fail_cdb_field(1, 7);
    return false;
  }
  if ((flags & kReserved) != 0) {
    cmd.fail_cdb_field(1, std::bit_width(unsigned(flags & kReserved)) - 1);
    return false;
  }
  // MAXIMUM ATOMIC BOUNDARY SIZE is 0: only a boundary of 0 (one atomic write) is offered.
  if (cdb_be16(cmd, kAtomicBoundaryByte) != 0) {
    cmd.fail_cdb_field(kAtomicBoundaryByte);
    return false;
  }
  return true;
}

}  // namespace

// SBC-4 5.48: WRITE ATOMIC (16). The blocks are written all or nothing: the store promises
// it for writes up to max_atomic_write_bytes() (also across a crash; backing_store.h), and
// an exclusive extent hold keeps every other write, COMPARE AND WRITE and ORWRITE of these
// blocks out until it completes (scsi/extent_lock.h). READs take no hold, so a READ that
// overlaps a running WRITE ATOMIC may see part old, part new data (docs/architecture.md,
// "What is not there yet").
// An LU whose store has no atomic limit does not offer the command at all (RSOC omits it;
// libiscsi WriteAtomic16.VPD then expects every atomic field of the Block Limits page 0).
void write_atomic16(scsi::Command& cmd) {
  scsi::LogicalUnit& lu = *cmd.lu;
  const uint32_t max_blocks = max_atomic_transfer_blocks(lu);
  if (max_blocks == 0) {
    cmd.complete_sense(scsi::SenseReason::kInvalidCommandOperationCode,
                       {.field = scsi::FieldPointer{.cdb = true, .byte = 0, .bit = 7}});
    return;
  }
  if (!check_fields(cmd)) return;
  const uint64_t lba = cdb_be64(cmd, 2);
  const uint32_t blocks = cdb_be16(cmd, kLengthByte);
  // SBC-4 6.6.4: more than MAXIMUM ATOMIC TRANSFER LENGTH is an invalid field.
  if (blocks > max_blocks) {
    cmd.fail_cdb_field(kLengthByte);
    return;
  }
  const uint64_t capacity = lu.num_blocks();
  if (lba > capacity || blocks > capacity - lba) {
    cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange);
    return;
  }
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  const uint64_t bytes = uint64_t(blocks) * lu.block_size();
  cmd.out_length = uint32_t(bytes);
  if (blocks == 0) {
    cmd.complete_good();
    return;
  }
  // All or nothing includes what the initiator sent: part of the blocks is never written.
  if (cmd.data.size() < bytes) {
    cmd.fail_cdb_field(kLengthByte);
    return;
  }
  cmd.lba = lba;
  cmd.blocks = blocks;
  cmd.fua = (cmd.cdb[1] & kFua) != 0;
  lu.extents().acquire(cmd, scsi::ExtentLock::Mode::kExclusive, lba, blocks, [](scsi::Command& c) {
    write_data_out(c, uint64_t(c.blocks) * c.lu->block_size(), c.fua, true);
  });
}

}  // namespace stgt::devices::sbc
