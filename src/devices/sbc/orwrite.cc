#include <algorithm>
#include <array>

#include "devices/sbc/block_range.h"
#include "devices/sbc/sbc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

constexpr uint8_t kFua = 0x08;  // byte 1

// cmd.aux |= data-out, over the whole of cmd.aux.
void or_into_medium(scsi::Command& cmd) {
  std::array<uint8_t, 4096> medium{};
  std::array<uint8_t, 4096> data{};
  for (uint64_t at = 0; at < cmd.aux.size();) {
    const size_t n = size_t(std::min<uint64_t>(medium.size(), cmd.aux.size() - at));
    cmd.aux.copy_out(at, medium.data(), n);
    cmd.data.copy_out(at, data.data(), n);
    for (size_t i = 0; i < n; ++i)
      medium[i] |= data[i];
    cmd.aux.copy_in(at, medium.data(), n);
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
  or_into_medium(cmd);
  cmd.on_store_done = written;
  // SBC-4 4.15: durable on completion with FUA or without a volatile write cache.
  const bool durable = cmd.fua || !cmd.lu->wce();
  cmd.lu->store()->write(cmd.reactor, cmd.aux.all_iovecs(), cmd.lba * cmd.lu->block_size(), durable,
                         &cmd);
}

}  // namespace

// SBC-4 5.11: ORWRITE (16): read the range, OR data-out into it, write it back. BMOP and
// the ORWRITE (32) variants are not supported. The read-modify-write runs under an
// exclusive hold on the range (scsi/extent_lock.h), so no other write of those blocks,
// from any session, lands between our read and our write.
void orwrite(scsi::Command& cmd) {
  const BlockRange r = decode_range(cmd, false);
  if (!check_block_command(cmd, r)) return;
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  const uint32_t bs = cmd.lu->block_size();
  cmd.lba = r.lba;
  cmd.blocks = r.blocks;
  cmd.fua = (cmd.cdb[1] & kFua) != 0;
  const uint64_t total = uint64_t(r.blocks) * bs;
  cmd.out_length = uint32_t(total);
  // Like WRITE: only whole blocks the initiator actually sent.
  const uint64_t bytes = std::min<uint64_t>(total, cmd.data.size()) / bs * bs;
  if (bytes == 0) {
    cmd.complete_good();
    return;
  }
  if (cmd.pool == nullptr || !cmd.aux.allocate(*cmd.pool, bytes)) {
    cmd.fail_no_buffers();
    return;
  }
  cmd.lu->extents().acquire(cmd, scsi::ExtentLock::Mode::kExclusive, cmd.lba, bytes / bs,
                            [](scsi::Command& c) { read_blocks(c, c.aux, c.lba, medium_read); });
}

}  // namespace stgt::devices::sbc
