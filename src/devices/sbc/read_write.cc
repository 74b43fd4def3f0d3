#include <algorithm>
#include <array>

#include "devices/sbc/block_range.h"
#include "devices/sbc/sbc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

constexpr uint8_t kFua = 0x08;  // byte 1 of the 10/12/16-byte READ and WRITE CDBs

void read_done(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(scsi::SenseReason::kReadError, {.information = cmd.lba});
    return;
  }
  cmd.complete_good();
}

void write_done(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(write_failure(result), {.information = cmd.lba});
    return;
  }
  cmd.complete_good();
}

}  // namespace

// SBC-4 5.12-5.15: READ (6/10/12/16). DPO, FUA and FUA_NV need no action: every read is
// served from the store.
void read(scsi::Command& cmd) {
  const BlockRange r = decode_range(cmd, true);
  if (!check_block_command(cmd, r)) return;
  const uint32_t bs = cmd.lu->block_size();
  cmd.lba = r.lba;
  cmd.blocks = r.blocks;
  // The CDB's transfer is in_length; the buffer holds what the initiator expects, rounded up
  // to whole blocks so a partial last block is still real data. The transport reports the
  // residual (iSCSIResiduals: EDTL 0, 200, one of two blocks).
  const uint64_t total = uint64_t(r.blocks) * bs;
  const uint64_t want = std::min<uint64_t>(total, cmd.expected_in_length);
  const uint64_t bytes = (want + bs - 1) / bs * bs;
  cmd.in_length = uint32_t(total);
  if (bytes == 0) {
    cmd.data.reset();
    cmd.complete_good();
    return;
  }
  if (cmd.pool == nullptr || !cmd.data.allocate(*cmd.pool, bytes)) {
    cmd.fail_no_buffers();
    return;
  }
  // A shared hold like a write's, but one that leaves ROD tokens valid: a READ never
  // overlaps a COMPARE AND WRITE or ORWRITE of the same blocks (SBC-4 5.3: the compare and
  // the write are one uninterrupted action), so it cannot see a block half written by one.
  // While none runs this is one atomic load.
  cmd.lu->extents().acquire(cmd, scsi::ExtentLock::Mode::kRead, cmd.lba, cmd.blocks,
                            [](scsi::Command& c) { read_blocks(c, c.data, c.lba, read_done); });
}

// Writes the first `bytes` of data-out at cmd.lba (shared by WRITE and WRITE AND VERIFY).
void write_data_out(scsi::Command& cmd, uint64_t bytes, bool fua, bool atomic) {
  if (bytes == 0) {
    cmd.complete_good();
    return;
  }
  std::span<const iovec> iov = cmd.data.all_iovecs();
  if (bytes < cmd.data.size()) {
    // Only part of data-out is written; give the store a chain of exactly that length, whose
    // iovecs live in the command until completion.
    if (cmd.pool == nullptr || !cmd.aux.allocate(*cmd.pool, bytes)) {
      cmd.fail_no_buffers();
      return;
    }
    std::array<iovec, base::BufferChain::kMaxSegments> src{};
    const size_t n = cmd.data.iovecs(0, bytes, src);
    size_t at = 0;
    for (size_t i = 0; i < n; ++i) {
      cmd.aux.copy_in(at, src[i].iov_base, src[i].iov_len);
      at += src[i].iov_len;
    }
    iov = cmd.aux.all_iovecs();
  }
  cmd.on_store_done = write_done;
  // SBC-4 4.15: without a volatile write cache (WCE 0) every write is durable on completion.
  const bool durable = fua || !cmd.lu->wce();
  const uint64_t offset = cmd.lba * cmd.lu->block_size();
  if (atomic) {
    cmd.lu->store()->write_atomic(cmd.reactor, iov, offset, durable, &cmd);
    return;
  }
  cmd.lu->store()->write(cmd.reactor, iov, offset, durable, &cmd);
}

// SBC-4 5.37-5.40: WRITE (6/10/12/16).
void write(scsi::Command& cmd) {
  const BlockRange r = decode_range(cmd, true);
  if (!check_block_command(cmd, r)) return;
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  const uint32_t bs = cmd.lu->block_size();
  cmd.lba = r.lba;
  cmd.blocks = r.blocks;
  const uint64_t total = uint64_t(r.blocks) * bs;
  cmd.out_length = uint32_t(total);
  // Write only whole blocks the initiator actually sent (iSCSIResiduals: EDTL < or > TL).
  const uint64_t bytes = std::min<uint64_t>(total, cmd.data.size()) / bs * bs;
  const bool fua = (cmd.cdb[0] >> 5) != 0 && (cmd.cdb[1] & kFua) != 0;
  write_locked(cmd, bytes, fua);
}

void write_locked(scsi::Command& cmd, uint64_t bytes, bool fua) {
  if (bytes == 0) {
    cmd.complete_good();
    return;
  }
  cmd.blocks = uint32_t(bytes / cmd.lu->block_size());
  cmd.fua = fua;
  // Ordered against COMPARE AND WRITE / ORWRITE on the same blocks (scsi/extent_lock.h);
  // while none runs this is one atomic load.
  cmd.lu->extents().acquire(cmd, scsi::ExtentLock::Mode::kShared, cmd.lba, cmd.blocks,
                            [](scsi::Command& c) {
                              write_data_out(c, uint64_t(c.blocks) * c.lu->block_size(), c.fua);
                            });
}

}  // namespace stgt::devices::sbc
