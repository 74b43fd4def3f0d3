#include "devices/sbc/block_range.h"
#include "devices/sbc/sbc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// SYNCHRONIZE CACHE and PRE-FETCH share a layout: byte 1 bit 1 IMMED, LBA, NUMBER OF
// LOGICAL BLOCKS (0 = through the last block).
bool check_cache_range(scsi::Command& cmd) {
  const BlockRange r = decode_range(cmd, false);
  const uint64_t capacity = cmd.lu->num_blocks();
  const uint64_t blocks = r.blocks == 0 && r.lba <= capacity ? capacity - r.lba : r.blocks;
  if (!in_capacity(cmd, r.lba, blocks)) {
    cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange);
    return false;
  }
  cmd.lba = r.lba;
  return true;
}

void flush_done(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(write_failure(result));
    return;
  }
  cmd.complete_good();
}

}  // namespace

// SBC-4 5.28 / 5.29: SYNCHRONIZE CACHE (10/16). The store flushes everything; IMMED is
// honoured by completing after the flush anyway (allowed: status then means more).
void synchronize_cache(scsi::Command& cmd) {
  if (!check_cache_range(cmd)) return;
  cmd.on_store_done = flush_done;
  cmd.lu->store()->flush(cmd.reactor, &cmd);
}

// SBC-4 5.8 / 5.9: PRE-FETCH (10/16). There is no cache to load, so GOOD (not CONDITION
// MET, which would promise the blocks are now cached).
void pre_fetch(scsi::Command& cmd) {
  if (!check_cache_range(cmd)) return;
  cmd.complete_good();
}

}  // namespace stgt::devices::sbc
