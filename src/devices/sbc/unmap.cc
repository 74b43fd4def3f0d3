#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>

#include "base/byte_order.h"
#include "devices/sbc/block_range.h"
#include "devices/sbc/provisioning.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// SBC-4 5.32.2: an 8-byte header, then 16-byte UNMAP block descriptors.
constexpr size_t kHeader = 8;
constexpr size_t kDescriptor = 16;
constexpr uint8_t kAnchor = 0x01;  // CDB byte 1

struct Descriptor {
  uint64_t lba = 0;
  uint32_t blocks = 0;
};

Descriptor descriptor(const scsi::Command& cmd, size_t index) {
  std::array<uint8_t, 12> d{};
  cmd.data.copy_out(kHeader + index * kDescriptor, d.data(), d.size());
  return {base::load_be64(d.data()), base::load_be32(d.data() + 8)};
}

// Bytes of the parameter list actually present: the CDB's length, clipped to data-out.
size_t list_bytes(const scsi::Command& cmd) {
  return std::min<size_t>(cdb_be16(cmd, 7), cmd.data.size());
}

// SBC-4 5.32.2: UNMAP BLOCK DESCRIPTOR DATA LENGTH counts whole descriptors; a trailing
// partial descriptor, or one the parameter list length cuts off, is ignored.
size_t descriptor_count(const scsi::Command& cmd) {
  std::array<uint8_t, kHeader> h{};
  cmd.data.copy_out(0, h.data(), h.size());
  const size_t described = base::load_be16(h.data() + 2);
  return std::min(described, list_bytes(cmd) - kHeader) / kDescriptor;
}

void fail_parameter(scsi::Command& cmd, size_t byte) {
  cmd.complete_sense(scsi::SenseReason::kInvalidFieldInParameterList,
                     {.field = scsi::FieldPointer{.cdb = false, .byte = uint16_t(byte)}});
}

// Every descriptor is checked before any block is unmapped (LIO sbc_execute_unmap, SBC-4
// 5.32.2); false after failing the command.
bool check_descriptors(scsi::Command& cmd, size_t count) {
  // SBC-4 5.32.2: more descriptors than MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT.
  if (count > kMaxUnmapDescriptors) {
    fail_parameter(cmd, 2);
    return false;
  }
  const uint64_t max_blocks = max_unmap_blocks(*cmd.lu);
  uint64_t total = 0;
  for (size_t i = 0; i < count; ++i) {
    const Descriptor d = descriptor(cmd, i);
    total += d.blocks;
    // More logical blocks than MAXIMUM UNMAP LBA COUNT, in one descriptor or in all.
    if (total > max_blocks) {
      fail_parameter(cmd, kHeader + i * kDescriptor + 8);
      return false;
    }
    if (!in_capacity(cmd, d.lba, d.blocks)) {
      cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange, {.information = d.lba});
      return false;
    }
  }
  return true;
}

void unmap_next(scsi::Command& cmd);

void descriptor_done(scsi::Command& cmd, int64_t result) {
  // SBC-4 4.7.3.4: an unmap request the store cannot honour leaves the blocks mapped with
  // their data, which is allowed; any other failure is reported.
  if (result < 0 && result != -EOPNOTSUPP) {
    cmd.complete_sense(scsi::SenseReason::kWriteError, {.information = cmd.lba});
    return;
  }
  unmap_next(cmd);
}

// cmd.blocks is the index of the next descriptor to process.
void unmap_next(scsi::Command& cmd) {
  const size_t count = descriptor_count(cmd);
  const uint32_t bs = cmd.lu->block_size();
  while (cmd.blocks < count) {
    const Descriptor d = descriptor(cmd, cmd.blocks++);
    if (d.blocks == 0) continue;
    cmd.lba = d.lba;
    cmd.on_store_done = descriptor_done;
    cmd.lu->store()->unmap(cmd.reactor, d.lba * bs, uint64_t(d.blocks) * bs, &cmd);
    return;
  }
  cmd.complete_good();
}

}  // namespace

// SBC-4 5.32: UNMAP. Only a thin LU (LBPU = 1) offers it; on a fully provisioned LU the
// command does not exist (INVALID COMMAND OPERATION CODE, as libiscsi's Unmap.VPD expects
// when LBPU = 0).
void unmap(scsi::Command& cmd) {
  scsi::LogicalUnit& lu = *cmd.lu;
  if (!lu.thin()) {
    cmd.complete_sense(scsi::SenseReason::kInvalidCommandOperationCode,
                       {.field = scsi::FieldPointer{.cdb = true, .byte = 0, .bit = 7}});
    return;
  }
  if ((cmd.cdb[1] & kAnchor) != 0) {  // ANC_SUP = 0
    cmd.fail_cdb_field(1, 0);
    return;
  }
  const uint16_t length = cdb_be16(cmd, 7);
  cmd.out_length = length;
  // SBC-4 5.32.1: a zero PARAMETER LIST LENGTH is not an error; nothing is unmapped.
  if (length == 0) {
    cmd.complete_good();
    return;
  }
  if (list_bytes(cmd) < kHeader) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return;
  }
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  const size_t count = descriptor_count(cmd);
  if (!check_descriptors(cmd, count)) return;
  // One shared hold on the hull of all descriptors orders the whole UNMAP against COMPARE
  // AND WRITE / ORWRITE (scsi/extent_lock.h); the hull is conservative, never wrong.
  uint64_t first = UINT64_MAX;
  uint64_t end = 0;
  for (size_t i = 0; i < count; ++i) {
    const Descriptor d = descriptor(cmd, i);
    if (d.blocks == 0) continue;
    first = std::min(first, d.lba);
    end = std::max(end, d.lba + d.blocks);
  }
  if (end == 0) {
    cmd.complete_good();
    return;
  }
  lu.extents().acquire(cmd, scsi::ExtentLock::Mode::kShared, first, end - first,
                       [](scsi::Command& c) {
                         c.blocks = 0;
                         unmap_next(c);
                       });
}

}  // namespace stgt::devices::sbc
