// LUN addressing (SAM-5 4.7): the 8-byte LUN field <-> a LUN number. Numbers 0..255 use the
// peripheral device addressing method, 256..16383 the flat space addressing method.
#pragma once

#include <cstdint>
#include <optional>

namespace stgt::scsi {

inline constexpr uint32_t kMaxLun = 16383;

// The wire form as a big-endian 64-bit value (byte 0 in the top byte).
uint64_t encode_lun(uint32_t lun);
// Nullopt for address methods or levels we do not serve (the LUN is then unsupported).
std::optional<uint32_t> decode_lun(uint64_t wire);

}  // namespace stgt::scsi
