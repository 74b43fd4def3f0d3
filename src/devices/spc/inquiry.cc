#include <array>
#include <cstring>

#include "devices/spc/cdb.h"
#include "devices/spc/spc.h"
#include "devices/spc/vpd.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::spc {
namespace {

constexpr size_t kStandardLength = 96;

// SPC-5 6.7.2 table 148 version descriptors: SAM-5, iSCSI, SPC-4, SBC-3.
constexpr std::array<uint16_t, 4> kDiskVersions{0x00a0, 0x0960, 0x0460, 0x04c0};
constexpr std::array<uint16_t, 3> kOtherVersions{0x00a0, 0x0960, 0x0460};

// SPC-5 6.7.2: standard INQUIRY data.
size_t standard_inquiry(const scsi::Command& cmd, uint8_t* out) {
  const scsi::LogicalUnit& lu = *cmd.lu;
  std::memset(out, 0, kStandardLength);
  out[0] = lu.type().peripheral_device_type;  // qualifier 000b: connected
  out[1] = lu.settings().removable ? 0x80 : 0x00;  // RMB
  // Version 06h (SPC-4): libiscsi and most initiators accept 04h..06h only.
  out[2] = 0x06;
  out[3] = 0x10 | 0x02;  // HISUP, response data format 2
  out[4] = uint8_t(kStandardLength - 5);
  // TPGS (SPC-5 6.7.2): implicit ALUA always, explicit too when the target allows SET
  // TARGET PORT GROUPS (scsi/alua.h).
  if (cmd.nexus != nullptr) out[5] = uint8_t(cmd.nexus->target().alua().tpgs() << 4);
  // 3PC: a disk is a copy manager (EXTENDED COPY, ROD tokens; devices/sbc/extended_copy.cc).
  if (lu.type().peripheral_device_type == 0x00) out[5] |= 0x08;
  out[7] = 0x02;  // CMDQUE
  put_ascii(out + 8, 8, lu.identity().vendor);
  put_ascii(out + 16, 16, lu.identity().product);
  put_ascii(out + 32, 4, lu.identity().revision);
  const bool disk = lu.type().peripheral_device_type == 0x00;
  const std::span<const uint16_t> versions =
      disk ? std::span<const uint16_t>(kDiskVersions) : std::span<const uint16_t>(kOtherVersions);
  for (size_t i = 0; i < versions.size(); ++i) base::store_be16(out + 58 + 2 * i, versions[i]);
  return kStandardLength;
}

}  // namespace

// SPC-5 6.7: INQUIRY.
void inquiry(scsi::Command& cmd) {
  const bool evpd = (cmd.cdb[1] & 0x01) != 0;
  const uint8_t page = cmd.cdb[2];
  const uint16_t allocation_length = cdb_be16(cmd, 3);
  if ((cmd.cdb[1] & 0x02) != 0) {  // CMDDT is obsolete
    cmd.fail_cdb_field(1, 1);
    return;
  }
  std::array<uint8_t, kMaxVpdPage> buf{};
  if (!evpd) {
    // SPC-5 6.7.1: a PAGE CODE without EVPD is an error.
    if (page != 0) {
      cmd.fail_cdb_field(2);
      return;
    }
    cmd.complete_data(std::span(buf.data(), standard_inquiry(cmd, buf.data())),
                      allocation_length);
    return;
  }
  const VpdPage* p = find_vpd_page(cmd, page);
  if (p == nullptr) {
    cmd.fail_cdb_field(2);
    return;
  }
  cmd.complete_data(std::span(buf.data(), p->build(cmd, buf.data())), allocation_length);
}

}  // namespace stgt::devices::spc
