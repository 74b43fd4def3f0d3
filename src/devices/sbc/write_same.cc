#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>

#include "devices/sbc/block_range.h"
#include "devices/sbc/provisioning.h"
#include "devices/sbc/sbc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// Byte 1 of WRITE SAME (10) / (16) (SBC-4 5.49, 5.50).
constexpr uint8_t kWrProtect = 0xe0;
constexpr uint8_t kAnchor = 0x10;
constexpr uint8_t kUnmap = 0x08;
constexpr uint8_t kObsolete = 0x06;  // PBDATA, LBDATA
constexpr uint8_t kNdob = 0x01;      // WRITE SAME (16) only; reserved in WRITE SAME (10)

constexpr uint8_t kWriteSame16 = 0x93;

// The pattern buffer: one pool buffer, written again and again through the store.
constexpr uint64_t kChunkBytes = base::BufferPool::kMaxBuffer;
constexpr size_t kMaxBlock = 4096;

// Fills cmd.aux with `bytes` of `pattern` repeated (one block each).
bool fill_pattern(scsi::Command& cmd, const uint8_t* pattern, uint64_t bytes) {
  const uint32_t bs = cmd.lu->block_size();
  if (cmd.pool == nullptr || !cmd.aux.allocate(*cmd.pool, bytes)) return false;
  for (uint64_t at = 0; at < bytes; at += bs)
    cmd.aux.copy_in(at, pattern, bs);
  return true;
}

void write_next(scsi::Command& cmd);

void chunk_done(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(write_failure(result), {.information = cmd.lba});
    return;
  }
  const uint64_t n = cmd.aux.size() / cmd.lu->block_size();
  cmd.lba += n;
  cmd.blocks -= uint32_t(n);
  if (cmd.blocks == 0) {
    cmd.complete_good();
    return;
  }
  write_next(cmd);
}

// Writes the next min(remaining, chunk) blocks. The last, shorter chunk gets a pattern
// buffer of its own size, so every store call writes the whole of cmd.aux.
void write_next(scsi::Command& cmd) {
  const uint32_t bs = cmd.lu->block_size();
  const uint64_t remaining = uint64_t(cmd.blocks) * bs;
  if (remaining < cmd.aux.size()) {
    std::array<uint8_t, kMaxBlock> pattern{};
    cmd.aux.copy_out(0, pattern.data(), bs);
    if (!fill_pattern(cmd, pattern.data(), remaining)) {
      cmd.fail_no_buffers();  // WRITE SAME is idempotent: the initiator's retry is safe
      return;
    }
  }
  cmd.on_store_done = chunk_done;
  // SBC-4 4.15: without a volatile write cache every write is durable on completion.
  cmd.lu->store()->write(cmd.reactor, cmd.aux.all_iovecs(), cmd.lba * bs, !cmd.lu->wce(), &cmd);
}

// Writes `pattern` (one block) to [cmd.lba, cmd.lba + cmd.blocks).
void start_writing(scsi::Command& cmd, const uint8_t* pattern) {
  const uint64_t total = uint64_t(cmd.blocks) * cmd.lu->block_size();
  if (!fill_pattern(cmd, pattern, std::min(total, kChunkBytes))) {
    cmd.fail_no_buffers();
    return;
  }
  write_next(cmd);
}

void synced(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(write_failure(result), {.information = cmd.lba});
    return;
  }
  cmd.complete_good();
}

void unmap_done(scsi::Command& cmd, int64_t result) {
  if (result == -EOPNOTSUPP) {
    // The store could not deallocate after all; the blocks must still read back as the
    // (zero) pattern, so write it.
    const std::array<uint8_t, kMaxBlock> zeros{};
    start_writing(cmd, zeros.data());
    return;
  }
  if (result < 0) {
    cmd.complete_sense(write_failure(result), {.information = cmd.lba});
    return;
  }
  // SBC-4 4.15: without a volatile write cache the command's effect is durable when it
  // completes, and deallocation is metadata that a crash could otherwise lose (the blocks
  // would read back their old data instead of zeros).
  if (!cmd.lu->wce()) {
    cmd.on_store_done = synced;
    cmd.lu->store()->flush(cmd.reactor, &cmd);
    return;
  }
  cmd.complete_good();
}

void zeroes_done(scsi::Command& cmd, int64_t result) {
  if (result == -EOPNOTSUPP) {  // not for this range after all: write the zeros
    const std::array<uint8_t, kMaxBlock> zeros{};
    start_writing(cmd, zeros.data());
    return;
  }
  if (result < 0) {
    cmd.complete_sense(write_failure(result), {.information = cmd.lba});
    return;
  }
  cmd.complete_good();
}

// Writes (or unmaps) [cmd.lba, cmd.lba + cmd.blocks), once the range is held.
void write_range(scsi::Command& cmd) {
  scsi::LogicalUnit& lu = *cmd.lu;
  const uint32_t bs = lu.block_size();
  const bool ndob = cmd.cdb[0] == kWriteSame16 && (cmd.cdb[1] & kNdob) != 0;
  // SBC-4 5.49, the table of the ANCHOR, UNMAP and ANC_SUP bits (UNMAP 1, ANCHOR 0: unmap):
  // a thin LU deallocates the range whatever the Data-Out Buffer holds; with LBPRZ 1 it
  // then reads back as zeros (libiscsi WriteSame10.UnmapUntilEnd sends 0xff blocks and
  // expects zeros; Linux LIO unmaps without looking at the data as well).
  if ((cmd.cdb[1] & kUnmap) != 0) {
    cmd.on_store_done = unmap_done;
    lu.store()->unmap(cmd.reactor, cmd.lba * bs, uint64_t(cmd.blocks) * bs, &cmd);
    return;
  }
  std::array<uint8_t, kMaxBlock> pattern{};
  if (!ndob) cmd.data.copy_out(0, pattern.data(), bs);
  // Zeros on a fully provisioned LU (VMware's block zeroing, eager-zeroed disks): the store
  // zeroes the range in place without our writing it, and the blocks stay provisioned. A
  // thin LU writes them, so they stay mapped for GET LBA STATUS (a zeroed range of a file
  // reads as a hole there).
  const bool zeros = std::all_of(pattern.begin(), pattern.begin() + bs,
                                 [](uint8_t b) { return b == 0; });
  if (zeros && !lu.thin() && lu.store()->supports_write_zeroes()) {
    cmd.on_store_done = zeroes_done;
    lu.store()->write_zeroes(cmd.reactor, cmd.lba * bs, uint64_t(cmd.blocks) * bs, !lu.wce(),
                             &cmd);
    return;
  }
  start_writing(cmd, pattern.data());
}

// Byte 1 checks, in CDB bit order; false after failing the command.
bool check_flags(scsi::Command& cmd) {
  const uint8_t flags = cmd.cdb[1];
  const uint8_t reserved = cmd.cdb[0] == kWriteSame16 ? kObsolete : kObsolete | kNdob;
  if ((flags & kWrProtect) != 0) {  // no protection information (PROT_EN = 0)
    cmd.fail_cdb_field(1, 7);
    return false;
  }
  // SBC-4 5.50: ANCHOR needs ANC_SUP, which we do not report.
  if ((flags & kAnchor) != 0) {
    cmd.fail_cdb_field(1, 4);
    return false;
  }
  // A write-protected LU refuses every write, unmapping ones included, before asking
  // whether it could unmap (SBC-4 write protection; libiscsi ReadOnly.ReadOnlySBC sends
  // WRITE SAME with UNMAP to a read-only LU and expects WRITE PROTECTED).
  if ((flags & kUnmap) != 0 && cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return false;
  }
  // SBC-4 5.50 / 6.6.6: on a fully provisioned LU (LBPWS = 0) the unmap request is not
  // supported; answering GOOD would claim an unmap capability the VPD page denies.
  if ((flags & kUnmap) != 0 && !cmd.lu->thin()) {
    cmd.fail_cdb_field(1, 3);
    return false;
  }
  if ((flags & reserved) != 0) {
    cmd.fail_cdb_field(1, std::bit_width(unsigned(flags & reserved)) - 1);
    return false;
  }
  return true;
}

}  // namespace

// SBC-4 5.49 / 5.50: WRITE SAME (10) / (16). One block of data-out (zeros with NDOB) is
// written to every LBA of the range; with UNMAP on a thin LU the range is unmapped instead
// and reads back as zeros (LBPRZ = 1); zeros on a fully provisioned LU are the store's
// write_zeroes where it has one (no data written). We report WSNZ = 0, so
// NUMBER OF LOGICAL BLOCKS 0 means "through the last LBA", bounded by MAXIMUM WRITE SAME
// LENGTH like any other count.
void write_same(scsi::Command& cmd) {
  if (!check_flags(cmd)) return;
  scsi::LogicalUnit& lu = *cmd.lu;
  const BlockRange r = decode_range(cmd, false);
  const uint64_t capacity = lu.num_blocks();
  if (r.lba > capacity) {
    cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange);
    return;
  }
  const uint64_t count = r.blocks != 0 ? r.blocks : capacity - r.lba;
  // SBC-4 6.6.4: more than MAXIMUM WRITE SAME LENGTH is an invalid field.
  if (count > max_write_same_blocks(lu)) {
    cmd.fail_cdb_field(r.length_byte);
    return;
  }
  if (!in_capacity(cmd, r.lba, count)) {
    cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange);
    return;
  }
  const uint32_t bs = lu.block_size();
  const bool ndob = cmd.cdb[0] == kWriteSame16 && (cmd.cdb[1] & kNdob) != 0;
  cmd.out_length = ndob ? 0 : bs;
  // Data-out is exactly one logical block; anything else cannot be a pattern (libiscsi
  // WriteSame*.InvalidDataOutSize; Linux LIO refuses it the same way).
  if (!ndob && cmd.data.size() != bs) {
    cmd.complete_sense(scsi::SenseReason::kInvalidFieldInCdb);
    return;
  }
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  cmd.lba = r.lba;
  cmd.blocks = uint32_t(count);
  if (count == 0) {
    cmd.complete_good();
    return;
  }
  // Ordered against COMPARE AND WRITE / ORWRITE on the same blocks (scsi/extent_lock.h).
  lu.extents().acquire(cmd, scsi::ExtentLock::Mode::kShared, cmd.lba, count, write_range);
}

}  // namespace stgt::devices::sbc
