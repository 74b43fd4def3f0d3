#include "base/crc32c.h"

#include <isa-l/crc.h>

namespace stgt::base {

// ISA-L's crc32_iscsi takes and returns the raw (non-inverted) register value.
uint32_t crc32c_update(uint32_t state, const void* data, size_t len) {
  return crc32_iscsi(static_cast<unsigned char*>(const_cast<void*>(data)), int(len), state);
}

uint32_t crc32c(const void* data, size_t len, uint32_t seed) {
  return crc32c_finish(crc32c_update(seed, data, len));
}

}  // namespace stgt::base
