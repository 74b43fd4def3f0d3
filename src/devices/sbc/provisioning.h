// Logical block provisioning limits of the disk (SBC-4 4.7, 6.6.4 Block Limits VPD page):
// one place for the values the VPD pages report and the WRITE SAME / UNMAP / COMPARE AND
// WRITE handlers enforce.
// Immutable; usable from any thread.
#pragma once

#include <algorithm>
#include <cstdint>

#include "devices/spc/spc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {

// WRITE SAME writes (or unmaps) at most this many blocks per command (MAXIMUM WRITE SAME
// LENGTH). The handler writes through a bounded pattern buffer, so the limit bounds the
// time one command holds the LU, not memory. FFFFh, as Linux LIO reports: it is what a
// WRITE SAME (10) can express, and libiscsi's WriteSame16.Unmap sets up its 65536-block
// case with one WRITE (16) that ignores MAXIMUM TRANSFER LENGTH, so only a limit below
// 65536 keeps that case (then expected to fail with INVALID FIELD IN CDB) meaningful.
inline constexpr uint32_t kMaxWriteSameBlocks = 0xffff;
// UNMAP: total bytes per command (256 MiB keeps MAXIMUM UNMAP LBA COUNT under libiscsi's
// 1 Mi sanity bound even for 512-byte blocks) and block descriptors per parameter list.
inline constexpr uint64_t kMaxUnmapBytes = uint64_t{256} << 20;
inline constexpr uint32_t kMaxUnmapDescriptors = 256;
// Stores release space in file-system blocks / pages: 4 KiB.
inline constexpr uint32_t kUnmapGranularityBytes = 4096;

// COMPARE AND WRITE compares and writes at most this many blocks (MAXIMUM COMPARE AND
// WRITE LENGTH, a one-byte field). VMware ATS uses 1; a few more let initiators swap small
// multi-block records. The command holds 3n blocks of buffers and an exclusive extent
// lock on n blocks for one read and one write, so n stays small.
inline constexpr uint32_t kMaxCompareAndWriteBlocks = 16;

// WRITE ATOMIC (16): what the store makes all or nothing, within MAXIMUM TRANSFER LENGTH
// and the 16-bit TRANSFER LENGTH of the CDB; 0 (no store guarantee) means not offered.
inline uint32_t max_atomic_transfer_blocks(const scsi::LogicalUnit& lu) {
  if (lu.store() == nullptr) return 0;
  const uint64_t bytes =
      std::min<uint64_t>(lu.store()->max_atomic_write_bytes(), spc::kMaxTransferBytes);
  return uint32_t(std::min<uint64_t>(bytes / lu.block_size(), 0xffff));
}

inline uint32_t max_compare_and_write_blocks(const scsi::LogicalUnit&) {
  return kMaxCompareAndWriteBlocks;
}
inline uint32_t max_write_same_blocks(const scsi::LogicalUnit&) {
  return kMaxWriteSameBlocks;
}
inline uint32_t max_unmap_blocks(const scsi::LogicalUnit& lu) {
  return uint32_t(kMaxUnmapBytes / lu.block_size());
}
inline uint32_t unmap_granularity_blocks(const scsi::LogicalUnit& lu) {
  const uint32_t page =
      lu.block_size() >= kUnmapGranularityBytes ? 1 : kUnmapGranularityBytes / lu.block_size();
  return std::max(page, uint32_t{1} << lu.physical_block_exponent());
}

}  // namespace stgt::devices::sbc
