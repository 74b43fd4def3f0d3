#include "devices/spc/mode_pages.h"

#include <array>
#include <cstring>

#include "base/byte_order.h"

namespace stgt::devices::spc {
namespace {

constexpr std::array<ModePage, 4> kPages{{
    {0x01, 12, read_write_error_recovery_page},
    {0x08, 20, caching_page},
    {0x0a, 12, control_page},
    {0x1c, 12, informational_exceptions_page},
}};

size_t start(uint8_t code, uint8_t length, uint8_t* out) {
  std::memset(out, 0, length);
  out[0] = code;
  out[1] = uint8_t(length - 2);
  return length;
}

}  // namespace

std::span<const ModePage> mode_pages() { return kPages; }

const ModePage* find_mode_page(uint8_t code) {
  for (const ModePage& p : kPages) {
    if (p.code == code) return &p;
  }
  return nullptr;
}

// SBC-4 6.5.9: Read-Write Error Recovery. Nothing is changeable; AWRE and ARRE are
// reported set since the store retries internally.
size_t read_write_error_recovery_page(const scsi::LogicalUnit& /*lu*/, PageControl pc,
                                      uint8_t* out) {
  const size_t n = start(0x01, 12, out);
  if (pc != PageControl::kChangeable) out[2] = 0xc0;
  return n;
}

// SBC-4 6.5.5: Caching. WCE is the one changeable field; RCD stays 0 (reads may be cached).
size_t caching_page(const scsi::LogicalUnit& lu, PageControl pc, uint8_t* out) {
  const size_t n = start(0x08, 20, out);
  switch (pc) {
    case PageControl::kChangeable:
      out[2] = 0x04;
      break;
    case PageControl::kDefault:
      out[2] = lu.settings().write_cache ? 0x04 : 0x00;
      break;
    default:
      out[2] = lu.wce() ? 0x04 : 0x00;
      break;
  }
  return n;
}

// SPC-5 7.5.10: Control. D_SENSE, SWP and TAS are changeable. TST 001b: one task set per
// I_T nexus (docs/architecture.md, "Task sets"). GLTSD set (no implicit log saving).
// QUEUE ALGORITHM MODIFIER 1: SIMPLE commands may complete in any order (the store runs them
// in parallel). QERR 00b: a CHECK CONDITION aborts nothing else (not changeable). TAS 1 by
// default. BUSY TIMEOUT PERIOD unlimited.
size_t control_page(const scsi::LogicalUnit& lu, PageControl pc, uint8_t* out) {
  const size_t n = start(0x0a, 12, out);
  if (pc == PageControl::kChangeable) {
    out[2] = 0x04;  // D_SENSE
    out[4] = 0x08;  // SWP
    out[5] = 0x40;  // TAS
    return n;
  }
  const bool current = pc != PageControl::kDefault;
  out[2] = uint8_t(0x20 | 0x02 | (current && lu.d_sense() ? 0x04 : 0));  // TST, GLTSD, D_SENSE
  out[3] = 0x10;  // QUEUE ALGORITHM MODIFIER 1h, QERR 00b
  out[4] = current && lu.swp() ? 0x08 : 0x00;
  out[5] = !current || lu.tas() ? 0x40 : 0x00;
  base::store_be16(out + 8, 0xffff);  // BUSY TIMEOUT PERIOD: unlimited
  return n;
}

// SPC-5 7.5.13: Informational Exceptions Control: exception reporting disabled (DEXCPT).
size_t informational_exceptions_page(const scsi::LogicalUnit& /*lu*/, PageControl pc,
                                     uint8_t* out) {
  const size_t n = start(0x1c, 12, out);
  if (pc != PageControl::kChangeable) out[2] = 0x08;
  return n;
}

void apply_mode_page(scsi::LogicalUnit& lu, const uint8_t* page) {
  switch (page[0] & 0x3f) {
    case 0x08:
      lu.set_wce((page[2] & 0x04) != 0);
      break;
    case 0x0a:
      lu.set_d_sense((page[2] & 0x04) != 0);
      lu.set_swp((page[4] & 0x08) != 0);
      lu.set_tas((page[5] & 0x40) != 0);
      break;
    default:
      break;
  }
}

}  // namespace stgt::devices::spc
