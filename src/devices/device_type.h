// Device types and their factories: what the control plane uses to build logical units.
// A device type is a constexpr 256-entry opcode table (scsi/opcode.h); handlers live in
// devices/spc (shared primary commands), devices/sbc (disk) and devices/controller.
//
// Everything here is immutable and may be used from any thread. Handlers run on the
// command's reactor and never block: store I/O completes through Command::store_done.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "backing/backing_store.h"
#include "scsi/logical_unit.h"
#include "scsi/opcode.h"

namespace stgt::devices {

// Direct-access block device (SBC-4), peripheral device type 00h.
const scsi::DeviceType& sbc_device_type();
// Storage array controller (SCC-2), peripheral device type 0Ch: answers at LUN 0 when no
// LU 0 is configured, so initiators can always reach REPORT LUNS.
const scsi::DeviceType& controller_device_type();

// A disk LU over `store` (block size 512 or 4096; anything else is clamped to 512).
std::shared_ptr<scsi::LogicalUnit> make_disk(std::unique_ptr<backing::BackingStore> store,
                                             scsi::LuIdentity identity,
                                             scsi::LuSettings settings);
// The controller LU for a target (no store, no medium).
std::shared_ptr<scsi::LogicalUnit> make_controller(scsi::LuIdentity identity);

// A stable identity for LUN `lun` of `target_name`: the serial and NAA designator are
// derived from a hash of both, so a restart with the same configuration presents the same
// identifiers. Vendor/product/revision keep their defaults.
scsi::LuIdentity identity_for(std::string_view target_name, uint32_t lun);

}  // namespace stgt::devices
