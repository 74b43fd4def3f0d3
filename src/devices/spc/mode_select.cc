#include <array>
#include <bit>
#include <vector>

#include "devices/spc/cdb.h"
#include "devices/spc/mode_pages.h"
#include "scsi/it_nexus.h"
#include "devices/spc/spc.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::spc {
namespace {

constexpr uint8_t kModeSelect6 = 0x15;

void fail_param(scsi::Command& cmd, size_t byte, int bit = -1) {
  scsi::FieldPointer f{.cdb = false, .byte = uint16_t(byte), .bit = std::nullopt};
  if (bit >= 0) f.bit = uint8_t(bit);
  cmd.complete_sense(scsi::SenseReason::kInvalidFieldInParameterList, {.field = f});
}

// SBC-4 6.5.2: a block descriptor may restate the capacity but not change the block size.
bool check_block_descriptor(scsi::Command& cmd, const uint8_t* p, size_t at, bool long_lba) {
  const uint32_t block_length = long_lba ? base::load_be32(p + at + 12)
                                         : base::load_be24(p + at + 5);
  if (block_length != cmd.lu->block_size()) {
    fail_param(cmd, at + (long_lba ? 12 : 5));
    return false;
  }
  return true;
}

// Checks one page against the current values and the changeable mask (SPC-5 6.12: only
// changeable fields may differ). Returns the page length consumed, or 0 after failing.
size_t check_page(scsi::Command& cmd, const std::vector<uint8_t>& list, size_t at) {
  if (list.size() - at < 2) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return 0;
  }
  const uint8_t* p = list.data() + at;
  if ((p[0] & 0x80) != 0) {  // PS is reserved in MODE SELECT
    fail_param(cmd, at, 7);
    return 0;
  }
  const ModePage* page = (p[0] & 0x40) != 0 ? nullptr : find_mode_page(p[0] & 0x3f);
  if (page == nullptr) {
    fail_param(cmd, at, (p[0] & 0x40) != 0 ? 6 : 5);
    return 0;
  }
  if (p[1] != page->length - 2) {
    fail_param(cmd, at + 1);
    return 0;
  }
  if (list.size() - at < page->length) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return 0;
  }
  std::array<uint8_t, 64> current{};
  std::array<uint8_t, 64> changeable{};
  page->build(*cmd.lu, PageControl::kCurrent, current.data());
  page->build(*cmd.lu, PageControl::kChangeable, changeable.data());
  for (size_t i = 2; i < page->length; ++i) {
    const uint8_t bad = uint8_t((p[i] ^ current[i]) & ~changeable[i]);
    if (bad != 0) {
      fail_param(cmd, at + i, 7 - std::countl_zero(bad));
      return 0;
    }
  }
  return page->length;
}

}  // namespace

// SPC-5 6.12 / 6.13: MODE SELECT (6) and (10). Every page is checked before any is applied.
void mode_select(scsi::Command& cmd) {
  const bool ten = cmd.cdb[0] != kModeSelect6;
  if ((cmd.cdb[1] & 0x10) == 0) {  // PF: only the SPC page format is understood
    cmd.fail_cdb_field(1, 4);
    return;
  }
  if ((cmd.cdb[1] & 0x01) != 0) {  // SP: saved pages are not implemented
    cmd.fail_cdb_field(1, 0);
    return;
  }
  const uint32_t length = ten ? cdb_be16(cmd, 7) : cmd.cdb[4];
  cmd.out_length = length;
  if (length == 0) {
    cmd.complete_good();
    return;
  }
  const size_t header = ten ? 8 : 4;
  std::vector<uint8_t> list(std::min<size_t>(length, cmd.data.size()));
  cmd.data.copy_out(0, list.data(), list.size());
  if (list.size() < header) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return;
  }
  const bool long_lba = ten && (list[4] & 0x01) != 0;
  const size_t bd_length = ten ? base::load_be16(list.data() + 6) : list[3];
  const size_t bd_size = long_lba ? 16 : 8;
  if (bd_length % bd_size != 0 || header + bd_length > list.size()) {
    fail_param(cmd, ten ? 6 : 3);
    return;
  }
  for (size_t at = header; at < header + bd_length; at += bd_size) {
    if (!check_block_descriptor(cmd, list.data(), at, long_lba)) return;
  }
  std::vector<size_t> pages;
  for (size_t at = header + bd_length; at < list.size();) {
    const size_t n = check_page(cmd, list, at);
    if (n == 0) return;
    pages.push_back(at);
    at += n;
  }
  bool changed = false;
  for (const size_t at : pages) {
    const ModePage* page = find_mode_page(list[at] & 0x3f);
    std::array<uint8_t, 64> before{};
    std::array<uint8_t, 64> after{};
    page->build(*cmd.lu, PageControl::kCurrent, before.data());
    apply_mode_page(*cmd.lu, list.data() + at);
    page->build(*cmd.lu, PageControl::kCurrent, after.data());
    changed = changed || before != after;
  }
  // SPC-5 5.14 / 6.12: parameters shared by every I_T nexus changed: every other nexus that
  // sees the LU gets MODE PARAMETERS CHANGED.
  if (changed && cmd.nexus != nullptr) {
    cmd.nexus->target().registry().queue_unit_attention(
        *cmd.lu, scsi::SenseReason::kModeParametersChanged, cmd.nexus);
  }
  cmd.complete_good();
}

}  // namespace stgt::devices::spc
