// VPD pages (SPC-5 7.7, SBC-4 6.6): one builder per page. Each writes the whole page,
// header included, into `out` (at least kMaxVpdPage bytes) and returns its length.
#pragma once

#include <cstddef>
#include <cstdint>

#include "scsi/command.h"

namespace stgt::devices::spc {

inline constexpr size_t kMaxVpdPage = 1024;

using VpdBuilder = size_t (*)(const scsi::Command& cmd, uint8_t* out);

struct VpdPage {
  uint8_t code;
  bool disk_only;
  VpdBuilder build;
};

size_t supported_vpd_pages(const scsi::Command& cmd, uint8_t* out);      // 00h
size_t unit_serial_number(const scsi::Command& cmd, uint8_t* out);       // 80h
size_t device_identification(const scsi::Command& cmd, uint8_t* out);    // 83h
size_t third_party_copy(const scsi::Command& cmd, uint8_t* out);       // 8Fh
size_t block_limits(const scsi::Command& cmd, uint8_t* out);             // B0h
size_t block_device_characteristics(const scsi::Command& cmd, uint8_t* out);  // B1h
size_t logical_block_provisioning(const scsi::Command& cmd, uint8_t* out);    // B2h

// The pages this LU's device type offers, or null for an unknown page code.
const VpdPage* find_vpd_page(const scsi::Command& cmd, uint8_t code);

}  // namespace stgt::devices::spc
