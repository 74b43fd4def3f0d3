#include <vector>

#include "devices/spc/cdb.h"
#include "devices/spc/spc.h"
#include "scsi/it_nexus.h"
#include "scsi/lun.h"

namespace stgt::devices::spc {

// SPC-5 6.33: REPORT LUNS. We have no well-known or administrative LUs, so those selections
// report an empty list.
void report_luns(scsi::Command& cmd) {
  const uint8_t select = cmd.cdb[2];
  const uint32_t allocation_length = cdb_be32(cmd, 6);
  bool list_all = false;
  switch (select) {
    case 0x00:  // logical units excluding well-known
    case 0x02:  // all logical units
      list_all = true;
      break;
    case 0x01:  // well-known logical units only
    case 0x10:  // administrative logical units
    case 0x11:  // administrative LUs and their subsidiaries
    case 0x12:  // subsidiaries of the addressed administrative LU
      break;
    default:
      cmd.fail_cdb_field(2);
      return;
  }
  // SPC-5 6.33.1: an allocation length below 16 is an error.
  if (allocation_length < 16) {
    cmd.fail_cdb_field(6);
    return;
  }
  const std::vector<uint32_t> luns = list_all && cmd.nexus != nullptr
                                         ? cmd.nexus->target().lun_numbers(true)
                                         : std::vector<uint32_t>{};
  std::vector<uint8_t> out(8, 0);
  out.reserve(8 + 8 * luns.size());
  put_be32(out, 0, uint32_t(8 * luns.size()));
  for (const uint32_t lun : luns) {
    out.resize(out.size() + 8);
    put_be64(out, out.size() - 8, scsi::encode_lun(lun));
  }
  cmd.complete_data(out, allocation_length);
}

}  // namespace stgt::devices::spc
