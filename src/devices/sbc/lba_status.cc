#include <algorithm>
#include <vector>

#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// SBC-4 5.6.2: an 8-byte header, then 16-byte LBA status descriptors.
constexpr size_t kHeader = 8;
constexpr size_t kDescriptor = 16;
// We describe at most this many extents per command (the initiator continues from the end
// of the last one); it also bounds the store lookups one command makes.
constexpr size_t kMaxDescriptors = 64;
constexpr uint64_t kMaxExtentBlocks = 0xffffffffu;  // NUMBER OF LOGICAL BLOCKS is 32 bits

enum class Provisioning : uint8_t { kMapped = 0, kDeallocated = 1 };  // SBC-4 table 49

struct Extent {
  Provisioning status;
  uint64_t blocks;
};

// The extent of uniform status starting at `lba`, in whole blocks: a block with any byte
// allocated is mapped.
Extent extent_at(const scsi::Command& cmd, uint64_t lba) {
  const uint32_t bs = cmd.lu->block_size();
  const uint64_t left = cmd.lu->num_blocks() - lba;
  const backing::BackingStore::Provisioning p =
      cmd.lu->store()->provisioning_status(lba * bs, left * bs);
  uint64_t n = p.mapped ? (p.length + bs - 1) / bs : p.length / bs;
  if (n == 0) return {Provisioning::kMapped, 1};
  return {p.mapped ? Provisioning::kMapped : Provisioning::kDeallocated, std::min(n, left)};
}

void put_descriptor(std::vector<uint8_t>& out, uint64_t lba, const Extent& e) {
  const size_t at = out.size();
  out.resize(at + kDescriptor, 0);
  put_be64(out, at, lba);
  put_be32(out, at + 8, uint32_t(e.blocks));
  out[at + 12] = static_cast<uint8_t>(e.status);
}

}  // namespace

// SBC-4 5.6: GET LBA STATUS (SERVICE ACTION IN (16), action 12h). The first descriptor
// starts at STARTING LOGICAL BLOCK ADDRESS; adjacent extents of one status are merged.
// REPORT TYPE (byte 14, SBC-4) is treated as reserved: every extent is reported.
void get_lba_status(scsi::Command& cmd) {
  const uint64_t start = cdb_be64(cmd, 2);
  const uint32_t allocation_length = cdb_be32(cmd, 10);
  const uint64_t capacity = cmd.lu->num_blocks();
  if (start >= capacity) {
    cmd.complete_sense(scsi::SenseReason::kLbaOutOfRange);
    return;
  }
  const size_t room = allocation_length > kHeader
                          ? (allocation_length - kHeader + kDescriptor - 1) / kDescriptor
                          : 1;
  const size_t wanted = std::clamp<size_t>(room, 1, kMaxDescriptors);
  std::vector<uint8_t> out(kHeader, 0);
  uint64_t lba = start;
  uint64_t last_lba = start;
  Extent last{Provisioning::kMapped, 0};
  for (size_t lookups = 0; lba < capacity && lookups < 4 * kMaxDescriptors; ++lookups) {
    Extent e = extent_at(cmd, lba);
    if (last.blocks != 0 && e.status == last.status && last.blocks < kMaxExtentBlocks) {
      const uint64_t take = std::min(e.blocks, kMaxExtentBlocks - last.blocks);
      last.blocks += take;
      lba += take;
      continue;
    }
    if (last.blocks != 0) {
      put_descriptor(out, last_lba, last);
      if ((out.size() - kHeader) / kDescriptor == wanted) break;
    }
    e.blocks = std::min(e.blocks, kMaxExtentBlocks);
    last = e;
    last_lba = lba;
    lba += e.blocks;
  }
  if (last.blocks != 0 && (out.size() - kHeader) / kDescriptor < wanted) {
    put_descriptor(out, last_lba, last);
  }
  put_be32(out, 0, uint32_t(out.size() - 4));  // PARAMETER DATA LENGTH
  cmd.complete_data(out, allocation_length);
}

}  // namespace stgt::devices::sbc
