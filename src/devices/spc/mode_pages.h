// Mode pages of the disk device type (SPC-5 7.5, SBC-4 6.5): one builder per page, for
// every page control (current, changeable mask, default). Saved values are not kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "scsi/logical_unit.h"

namespace stgt::devices::spc {

enum class PageControl : uint8_t { kCurrent = 0, kChangeable = 1, kDefault = 2, kSaved = 3 };

using ModePageBuilder = size_t (*)(const scsi::LogicalUnit& lu, PageControl pc, uint8_t* out);

struct ModePage {
  uint8_t code;
  uint8_t length;  // the whole page, header included
  ModePageBuilder build;
};

size_t read_write_error_recovery_page(const scsi::LogicalUnit& lu, PageControl pc,
                                      uint8_t* out);  // 01h
size_t caching_page(const scsi::LogicalUnit& lu, PageControl pc, uint8_t* out);  // 08h
size_t control_page(const scsi::LogicalUnit& lu, PageControl pc, uint8_t* out);  // 0Ah
size_t informational_exceptions_page(const scsi::LogicalUnit& lu, PageControl pc,
                                     uint8_t* out);  // 1Ch

// Pages in ascending page-code order (the order "all pages" returns them).
std::span<const ModePage> mode_pages();
const ModePage* find_mode_page(uint8_t code);

// Applies the changeable fields of a page already checked against the changeable mask.
void apply_mode_page(scsi::LogicalUnit& lu, const uint8_t* page);

}  // namespace stgt::devices::spc
