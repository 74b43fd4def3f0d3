// Small CDB field readers shared by the device handlers (all through base/byte_order.h).
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>
#include <string_view>

#include "base/byte_order.h"
#include "scsi/command.h"

namespace stgt::devices {

inline uint8_t cdb_u8(const scsi::Command& cmd, size_t at) { return cmd.cdb[at]; }
inline uint16_t cdb_be16(const scsi::Command& cmd, size_t at) {
  return base::load_be16(&cmd.cdb[at]);
}
inline uint32_t cdb_be24(const scsi::Command& cmd, size_t at) {
  return base::load_be24(&cmd.cdb[at]);
}
inline uint32_t cdb_be32(const scsi::Command& cmd, size_t at) {
  return base::load_be32(&cmd.cdb[at]);
}
inline uint64_t cdb_be64(const scsi::Command& cmd, size_t at) {
  return base::load_be64(&cmd.cdb[at]);
}

// Copies `s` into a fixed-width, space-padded ASCII field (SPC-5 4.3.1).
inline void put_ascii(uint8_t* out, size_t width, std::string_view s) {
  for (size_t i = 0; i < width; ++i) out[i] = i < s.size() ? uint8_t(s[i]) : uint8_t(' ');
}

// Big-endian stores into a response being assembled in a vector.
template <size_t N>
inline void put_be(std::vector<uint8_t>& v, size_t at, uint64_t x) {
  std::array<uint8_t, 8> b{};
  base::store_be64(b.data(), x);
  std::copy(b.end() - N, b.end(), v.begin() + ptrdiff_t(at));
}
inline void put_be16(std::vector<uint8_t>& v, size_t at, uint16_t x) { put_be<2>(v, at, x); }
inline void put_be24(std::vector<uint8_t>& v, size_t at, uint32_t x) { put_be<3>(v, at, x); }
inline void put_be32(std::vector<uint8_t>& v, size_t at, uint32_t x) { put_be<4>(v, at, x); }
inline void put_be64(std::vector<uint8_t>& v, size_t at, uint64_t x) { put_be<8>(v, at, x); }

}  // namespace stgt::devices
