#include <algorithm>
#include <array>

#include "devices/sbc/block_range.h"
#include "devices/sbc/sbc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// SBC-4 5.30: BYTCHK (byte 1 bits 2..1).
enum class ByteCheck : uint8_t { kNone = 0, kCompare = 1, kReserved = 2, kOneBlock = 3 };

ByteCheck byte_check(const scsi::Command& cmd) { return ByteCheck((cmd.cdb[1] >> 1) & 0x03); }

// First offset where data-out (repeated every `period` bytes when nonzero) differs from the
// medium copy in cmd.aux; nullopt when they match.
std::optional<uint64_t> first_mismatch(const scsi::Command& cmd, uint64_t length,
                                       uint64_t period) {
  std::array<uint8_t, 4096> a{};
  std::array<uint8_t, 4096> b{};
  for (uint64_t at = 0; at < length;) {
    const uint64_t src = period != 0 ? at % period : at;
    uint64_t n = std::min<uint64_t>(a.size(), length - at);
    if (period != 0) n = std::min<uint64_t>(n, period - src);
    cmd.aux.copy_out(at, a.data(), n);
    cmd.data.copy_out(src, b.data(), n);
    for (uint64_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return at + i;
    }
    at += n;
  }
  return std::nullopt;
}

void compare_done(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(scsi::SenseReason::kReadError, {.information = cmd.lba});
    return;
  }
  const uint64_t length = cmd.aux.size();
  const uint64_t period = byte_check(cmd) == ByteCheck::kOneBlock ? cmd.lu->block_size() : 0;
  if (const auto at = first_mismatch(cmd, length, period)) {
    // SBC-4 5.30: INFORMATION is the offset of the first byte that did not match.
    cmd.complete_sense(scsi::SenseReason::kMiscompareDuringVerify, {.information = *at});
    return;
  }
  cmd.complete_good();
}

void medium_read_done(scsi::Command& cmd, int64_t result) {
  if (result < 0) {
    cmd.complete_sense(scsi::SenseReason::kReadError, {.information = cmd.lba});
    return;
  }
  cmd.complete_good();
}

}  // namespace

// SBC-4 5.30-5.32: VERIFY (10/12/16). BYTCHK 00b reads the range back from the store;
// 01b compares it with data-out; 11b compares every block with one block of data-out.
void verify(scsi::Command& cmd) {
  const BlockRange r = decode_range(cmd, false);
  const ByteCheck check = byte_check(cmd);
  if (check == ByteCheck::kReserved) {
    cmd.fail_cdb_field(1, 2);
    return;
  }
  if (!check_block_command(cmd, r)) return;
  const uint32_t bs = cmd.lu->block_size();
  cmd.lba = r.lba;
  cmd.blocks = r.blocks;
  const uint64_t bytes = uint64_t(r.blocks) * bs;
  if (check == ByteCheck::kCompare) cmd.out_length = uint32_t(bytes);
  if (check == ByteCheck::kOneBlock) cmd.out_length = r.blocks != 0 ? bs : 0;
  if (check != ByteCheck::kNone && cmd.data.size() < cmd.out_length) {
    // Data-out shorter than the CDB describes: nothing to compare against.
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return;
  }
  if (bytes == 0) {
    cmd.complete_good();
    return;
  }
  if (cmd.pool == nullptr || !cmd.aux.allocate(*cmd.pool, bytes)) {
    cmd.fail_no_buffers();
    return;
  }
  read_blocks(cmd, cmd.aux, r.lba, check == ByteCheck::kNone ? medium_read_done : compare_done);
}

// SBC-4 5.41-5.43: WRITE AND VERIFY (10/12/16). The store returns what was written, so
// verification is the write itself made durable.
void write_and_verify(scsi::Command& cmd) {
  const BlockRange r = decode_range(cmd, false);
  const ByteCheck check = byte_check(cmd);
  if (check == ByteCheck::kReserved || check == ByteCheck::kOneBlock) {
    cmd.fail_cdb_field(1, 2);
    return;
  }
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
  write_locked(cmd, std::min<uint64_t>(total, cmd.data.size()) / bs * bs, true);
}

}  // namespace stgt::devices::sbc
