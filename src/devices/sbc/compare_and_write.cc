#include <algorithm>
#include <array>
#include <optional>

#include "devices/sbc/block_range.h"
#include "devices/sbc/provisioning.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// SBC-4 5.3 table 38: byte 1 WRPROTECT (bits 7..5), DPO, FUA, FUA_NV; byte 13 NUMBER OF
// LOGICAL BLOCKS.
constexpr uint8_t kWrProtect = 0xe0;
constexpr uint8_t kFua = 0x08;
constexpr uint16_t kNumberOfBlocksByte = 13;

constexpr size_t kChunk = 4096;

// First byte where the medium copy (cmd.aux) differs from the verify half of data-out (its
// first cmd.aux.size() bytes); nullopt when they match.
std::optional<uint64_t> first_mismatch(const scsi::Command& cmd) {
  std::array<uint8_t, kChunk> medium{};
  std::array<uint8_t, kChunk> verify{};
  const uint64_t length = cmd.aux.size();
  for (uint64_t at = 0; at < length;) {
    const size_t n = size_t(std::min<uint64_t>(kChunk, length - at));
    cmd.aux.copy_out(at, medium.data(), n);
    cmd.data.copy_out(at, verify.data(), n);
    const auto [m, v] =
        std::mismatch(medium.begin(), medium.begin() + ptrdiff_t(n), verify.begin());
    if (m != medium.begin() + ptrdiff_t(n)) return at + uint64_t(m - medium.begin());
    at += n;
  }
  return std::nullopt;
}

// cmd.aux = the write half of data-out (the bytes after the verify half).
void take_write_half(scsi::Command& cmd) {
  std::array<uint8_t, kChunk> buf{};
  const uint64_t length = cmd.aux.size();
  for (uint64_t at = 0; at < length;) {
    const size_t n = size_t(std::min<uint64_t>(kChunk, length - at));
    cmd.data.copy_out(length + at, buf.data(), n);
    cmd.aux.copy_in(at, buf.data(), n);
    at += n;
  }
}

void written(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(write_failure(result), {.information = cmd.lba});
    return;
  }
  cmd.complete_good();
}

void medium_read(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(scsi::SenseReason::kReadError, {.information = cmd.lba});
    return;
  }
  // SBC-4 5.3.1: on a miscompare nothing is written; INFORMATION is the offset of the first
  // byte that differs, counted from the start of the verify data.
  if (const auto at = first_mismatch(cmd)) {
    cmd.complete_sense(scsi::SenseReason::kMiscompareDuringVerify, {.information = *at});
    return;
  }
  take_write_half(cmd);
  cmd.on_store_done = written;
  // SBC-4 4.15: durable on completion with FUA or without a volatile write cache.
  const bool durable = cmd.fua || !cmd.lu->wce();
  cmd.lu->store()->write(cmd.reactor, cmd.aux.all_iovecs(), cmd.lba * cmd.lu->block_size(), durable,
                         &cmd);
}

}  // namespace

// SBC-4 5.3: COMPARE AND WRITE. Data-out is 2n blocks: n to compare with the medium, then n
// to write when they match. The read, compare and write run under an exclusive hold on the
// range (scsi/extent_lock.h): no other write of those blocks, from any session on any
// reactor, runs between them (VMware ATS builds its locks on this).
void compare_and_write(scsi::Command& cmd) {
  if ((cmd.cdb[1] & kWrProtect) != 0) {  // no protection information (PROT_EN = 0)
    cmd.fail_cdb_field(1, 7);
    return;
  }
  scsi::LogicalUnit& lu = *cmd.lu;
  const uint64_t lba = cdb_be64(cmd, 2);
  const uint32_t blocks = cmd.cdb[kNumberOfBlocksByte];
  // SBC-4 5.3.2: more than MAXIMUM COMPARE AND WRITE LENGTH (Block Limits VPD) is invalid.
  if (blocks > max_compare_and_write_blocks(lu)) {
    cmd.fail_cdb_field(kNumberOfBlocksByte);
    return;
  }
  if (!in_capacity(cmd, lba, blocks)) {
    cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange);
    return;
  }
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  const uint64_t bytes = uint64_t(blocks) * lu.block_size();
  cmd.out_length = uint32_t(2 * bytes);
  // Unlike WRITE, data-out of another length than the CDB's 2n blocks cannot be honoured:
  // its halves would not line up with the CDB. Linux LIO refuses it the same way (libiscsi
  // CompareAndWrite.InvalidDataOutSize; CompareAndWrite.Simple sends 256 blocks, whose
  // one-byte NUMBER OF LOGICAL BLOCKS wraps to 0, and expects INVALID FIELD IN CDB).
  if (cmd.data.size() != 2 * bytes) {
    cmd.fail_cdb_field(kNumberOfBlocksByte);
    return;
  }
  // SBC-4 5.3.2: zero blocks is not an error; nothing is read, compared or written.
  if (blocks == 0) {
    cmd.complete_good();
    return;
  }
  if (cmd.pool == nullptr || !cmd.aux.allocate(*cmd.pool, bytes)) {
    cmd.fail_no_buffers();
    return;
  }
  cmd.lba = lba;
  cmd.blocks = blocks;
  cmd.fua = (cmd.cdb[1] & kFua) != 0;  // DPO and FUA_NV need no action
  lu.extents().acquire(cmd, scsi::ExtentLock::Mode::kExclusive, lba, blocks,
                       [](scsi::Command& c) { read_blocks(c, c.aux, c.lba, medium_read); });
}

}  // namespace stgt::devices::sbc
