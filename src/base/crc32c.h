// CRC32C (Castagnoli) as used by iSCSI header and data digests (RFC 7143 13.1),
// computed by ISA-L's crc32_iscsi.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

namespace stgt::base {

// Digest of one contiguous range, as it goes on the wire (RFC 7143 B.4 little-endian
// value stored in network order by the caller's codec: see transport/iscsi/pdu.h).
uint32_t crc32c(const void* data, size_t len, uint32_t seed = 0xffffffffu);
// Continues a digest over several ranges; finish with crc32c_finish.
uint32_t crc32c_update(uint32_t state, const void* data, size_t len);
inline uint32_t crc32c_begin() { return 0xffffffffu; }
inline uint32_t crc32c_finish(uint32_t state) { return ~state; }

}  // namespace stgt::base
