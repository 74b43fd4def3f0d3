#include "devices/device_type.h"

#include <cstdio>
#include <string>

namespace stgt::devices {
namespace {

// FNV-1a, 64-bit: stable across builds and platforms (std::hash is neither).
uint64_t fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (const char c : s) {
    h ^= uint8_t(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

std::shared_ptr<scsi::LogicalUnit> make_disk(std::unique_ptr<backing::BackingStore> store,
                                             scsi::LuIdentity identity,
                                             scsi::LuSettings settings) {
  if (settings.block_size != 512 && settings.block_size != 4096) settings.block_size = 512;
  return std::make_shared<scsi::LogicalUnit>(sbc_device_type(), std::move(store),
                                             std::move(identity), settings);
}

std::shared_ptr<scsi::LogicalUnit> make_controller(scsi::LuIdentity identity) {
  identity.product = "CONTROLLER";
  return std::make_shared<scsi::LogicalUnit>(controller_device_type(), nullptr,
                                             std::move(identity), scsi::LuSettings{});
}

scsi::LuIdentity identity_for(std::string_view target_name, uint32_t lun) {
  const uint64_t h = fnv1a(std::to_string(lun), fnv1a("\0", fnv1a(target_name)));
  scsi::LuIdentity id;
  char serial[17];
  std::snprintf(serial, sizeof(serial), "%016llx", static_cast<unsigned long long>(h));
  id.serial = serial;
  // SPC-5 7.7.6.6.3: NAA 3h "locally assigned": 60 bits of our choosing, no OUI claimed.
  id.naa = (uint64_t{0x3} << 60) | (h & 0x0fffffffffffffffull);
  return id;
}

}  // namespace stgt::devices
