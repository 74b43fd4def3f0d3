#include "scsi/lun.h"

#include <array>

#include "base/byte_order.h"

namespace stgt::scsi {

// SAM-5 4.7.7: peripheral device addressing (method 00b) below 256, flat space addressing
// (method 01b) above; single level, so bytes 2..7 are zero.
uint64_t encode_lun(uint32_t lun) {
  std::array<uint8_t, 8> b{};
  if (lun < 256) {
    b[1] = uint8_t(lun);
  } else {
    base::store_be16(b.data(), uint16_t(0x4000 | (lun & 0x3fff)));
  }
  return base::load_be64(b.data());
}

std::optional<uint32_t> decode_lun(uint64_t wire) {
  std::array<uint8_t, 8> b{};
  base::store_be64(b.data(), wire);
  if (base::load_be48(b.data() + 2) != 0) return std::nullopt;  // second level and below
  const uint8_t method = b[0] >> 6;
  if (method == 0) {
    if ((b[0] & 0x3f) != 0) return std::nullopt;  // bus identifier other than 0
    return b[1];
  }
  if (method == 1) return base::load_be16(b.data()) & 0x3fff;
  return std::nullopt;
}

}  // namespace stgt::scsi
