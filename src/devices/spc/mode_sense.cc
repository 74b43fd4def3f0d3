#include <array>
#include <vector>

#include "devices/spc/cdb.h"
#include "devices/spc/mode_pages.h"
#include "devices/spc/spc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::spc {
namespace {

constexpr uint8_t kModeSense6 = 0x1a;
constexpr uint8_t kAllPages = 0x3f;

struct ModeSenseCdb {
  bool ten;
  bool dbd;
  bool llbaa;
  PageControl pc;
  uint8_t page;
  uint8_t subpage;
  uint16_t allocation_length;
};

ModeSenseCdb decode(const scsi::Command& cmd) {
  const bool ten = cmd.cdb[0] != kModeSense6;
  return ModeSenseCdb{
      .ten = ten,
      .dbd = (cmd.cdb[1] & 0x08) != 0,
      .llbaa = ten && (cmd.cdb[1] & 0x10) != 0,
      .pc = PageControl(cmd.cdb[2] >> 6),
      .page = uint8_t(cmd.cdb[2] & 0x3f),
      .subpage = cmd.cdb[3],
      .allocation_length = ten ? cdb_be16(cmd, 7) : uint16_t(cmd.cdb[4]),
  };
}

// SBC-4 6.5.2: short (8-byte) or long LBA (16-byte) mode parameter block descriptor.
void append_block_descriptor(const scsi::LogicalUnit& lu, bool long_lba,
                             std::vector<uint8_t>& out) {
  const size_t at = out.size();
  if (long_lba) {
    out.resize(at + 16, 0);
    put_be64(out, at, lu.num_blocks());
    put_be32(out, at + 12, lu.block_size());
    return;
  }
  out.resize(at + 8, 0);
  const uint64_t blocks = lu.num_blocks();
  put_be32(out, at, blocks > 0xffffffffu ? 0xffffffffu : uint32_t(blocks));
  put_be24(out, at + 5, lu.block_size());
}

void append_page(const scsi::LogicalUnit& lu, const ModePage& p, PageControl pc,
                 std::vector<uint8_t>& out) {
  const size_t at = out.size();
  out.resize(at + p.length);
  p.build(lu, pc, out.data() + at);
}

}  // namespace

// SPC-5 6.14 / 6.15: MODE SENSE (6) and (10).
void mode_sense(scsi::Command& cmd) {
  const ModeSenseCdb c = decode(cmd);
  const scsi::LogicalUnit& lu = *cmd.lu;
  // SPC-5 6.14.3 (table 172): saved values are not implemented.
  if (c.pc == PageControl::kSaved) {
    cmd.complete_sense(scsi::SenseReason::kSavingParametersNotSupported,
                       {.field = scsi::FieldPointer{.cdb = true, .byte = 2, .bit = 7}});
    return;
  }
  // Only page_0 pages exist: subpage 00h, or FFh ("and all subpages", none here).
  if (c.subpage != 0x00 && c.subpage != 0xff) {
    cmd.fail_cdb_field(3);
    return;
  }
  const ModePage* one = c.page == kAllPages ? nullptr : find_mode_page(c.page);
  if (c.page != kAllPages && one == nullptr) {
    cmd.fail_cdb_field(2, 5);
    return;
  }
  const size_t header = c.ten ? 8 : 4;
  std::vector<uint8_t> out(header, 0);
  // SBC-4 6.5.1: device-specific parameter: WP, DPOFUA.
  const uint8_t device_specific = uint8_t((cmd.write_protected() ? 0x80 : 0) | 0x10);
  if (!c.dbd) append_block_descriptor(lu, c.llbaa, out);
  const size_t bd_length = out.size() - header;
  if (one != nullptr) {
    append_page(lu, *one, c.pc, out);
  } else {
    for (const ModePage& p : mode_pages()) append_page(lu, p, c.pc, out);
  }
  if (c.ten) {
    put_be16(out, 0, uint16_t(out.size() - 2));
    out[3] = device_specific;
    out[4] = c.llbaa && !c.dbd ? 0x01 : 0x00;  // LONGLBA
    put_be16(out, 6, uint16_t(bd_length));
  } else {
    out[0] = uint8_t(out.size() - 1);
    out[2] = device_specific;
    out[3] = uint8_t(bd_length);
  }
  cmd.complete_data(out, c.allocation_length);
}

}  // namespace stgt::devices::spc
