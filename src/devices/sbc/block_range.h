// Decoding of the LBA / transfer length of block commands (SBC-4 4.2.2, 5.x CDB layouts)
// and the checks every medium-access command makes before any I/O.
#pragma once

#include <cerrno>
#include <cstdint>

#include "scsi/command.h"

namespace stgt::devices::sbc {

struct BlockRange {
  uint64_t lba = 0;
  uint32_t blocks = 0;
  uint8_t length_byte = 0;  // where the transfer length field starts (for field pointers)
};

// LBA and transfer length of a 6/10/12/16-byte READ/WRITE/VERIFY-style CDB. For 6-byte CDBs
// a length of 0 means 256 blocks when `zero_is_256` (READ 6, WRITE 6).
BlockRange decode_range(const scsi::Command& cmd, bool zero_is_256);

// SBC-4 4.5: true when [lba, lba + blocks) lies within the capacity; an LBA one past the
// last is still in range for a zero-length transfer.
bool in_capacity(const scsi::Command& cmd, uint64_t lba, uint64_t blocks);

// What a failed store write (or flush) is reported as: out of space (ENOSPC, EDQUOT: the
// file system or thin device under the LU is full) is DATA PROTECT, SPACE ALLOCATION FAILED
// WRITE PROTECT (SBC-4 4.7.3.7), which hypervisors answer by pausing the guest until space
// is added, not by failing its disk; anything else is MEDIUM ERROR, WRITE ERROR.
inline scsi::SenseReason write_failure(int64_t result) {
  return result == -ENOSPC || result == -EDQUOT ? scsi::SenseReason::kSpaceAllocationFailed
                                                : scsi::SenseReason::kWriteError;
}

// The common checks, in order, failing the command on the first problem:
// PROTECT field (byte 1 bits 7..5) must be 0 (no protection information), the transfer fits
// MAXIMUM TRANSFER LENGTH, and the range is within the capacity.
bool check_block_command(scsi::Command& cmd, const BlockRange& r);

// Reads into all of `into` (a whole number of blocks) from `lba`, then calls `done` from the
// store completion. The chain lives in the command, so its iovecs stay valid until then.
void read_blocks(scsi::Command& cmd, base::BufferChain& into, uint64_t lba,
                 void (*done)(scsi::Command& cmd, int64_t result));

// Writes the first `bytes` of data-out at cmd.lba and completes the command (GOOD at once
// when `bytes` is 0). Durable on completion when `fua` or the write cache is off.
// `atomic`: through the store's write_atomic() (WRITE ATOMIC (16)), all or nothing.
void write_data_out(scsi::Command& cmd, uint64_t bytes, bool fua, bool atomic = false);

// write_data_out() under a shared hold on the blocks written (scsi/extent_lock.h), so a
// COMPARE AND WRITE or ORWRITE of the same blocks never interleaves with it. Sets
// cmd.blocks and cmd.fua; cmd.lba must be set.
void write_locked(scsi::Command& cmd, uint64_t bytes, bool fua);

}  // namespace stgt::devices::sbc
