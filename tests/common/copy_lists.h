// Builders of third-party copy parameter lists for tests: EXTENDED COPY (LID1, SPC-4 6.3)
// identification CSCD descriptors naming an LU by its NAA designator, block-to-block segment
// descriptors and the header around them; POPULATE TOKEN / WRITE USING TOKEN lists (SBC-4
// 5.11, 5.53). Shared by the unit and functional tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/byte_order.h"

namespace stgt::test::copy {

using Bytes = std::vector<uint8_t>;

// SPC-5 6.4.5.6: identification CSCD descriptor (E4h) with an 8-byte NAA designator of an LU.
inline Bytes cscd(uint64_t naa, uint32_t block_length, uint8_t type = 0xe4,
                  uint8_t designator_type = 0x3) {
  Bytes d(32, 0);
  d[0] = type;
  d[4] = 0x01;  // code set: binary
  d[5] = designator_type;  // association 0: the LU
  d[7] = 8;
  base::store_be64(&d[8], naa);
  base::store_be24(&d[29], block_length);
  return d;
}

// SPC-5 6.4.6.5: block device to block device segment descriptor (02h).
inline Bytes b2b(uint16_t src, uint16_t dst, uint16_t blocks, uint64_t src_lba,
                 uint64_t dst_lba) {
  Bytes d(28, 0);
  d[0] = 0x02;
  base::store_be16(&d[2], 0x18);
  base::store_be16(&d[4], src);
  base::store_be16(&d[6], dst);
  base::store_be16(&d[10], blocks);
  base::store_be64(&d[12], src_lba);
  base::store_be64(&d[20], dst_lba);
  return d;
}

// A stream-to-stream segment descriptor (03h), which the copy manager does not support.
inline Bytes stream_segment() {
  Bytes d(20, 0);
  d[0] = 0x03;
  base::store_be16(&d[2], 0x10);
  return d;
}

// SPC-4 6.3.1: the parameter list: header, CSCD descriptors, segment descriptors, inline data.
inline Bytes list(const std::vector<Bytes>& targets, const std::vector<Bytes>& segments,
                  uint8_t list_id = 1, uint8_t usage = 0, uint32_t inline_length = 0) {
  Bytes out(16, 0);
  size_t tl = 0;
  size_t sl = 0;
  for (const Bytes& t : targets) tl += t.size();
  for (const Bytes& s : segments) sl += s.size();
  out[0] = list_id;
  out[1] = uint8_t(usage << 3);
  base::store_be16(&out[2], uint16_t(tl));
  base::store_be32(&out[8], uint32_t(sl));
  base::store_be32(&out[12], inline_length);
  for (const Bytes& t : targets) out.insert(out.end(), t.begin(), t.end());
  for (const Bytes& s : segments) out.insert(out.end(), s.begin(), s.end());
  out.resize(out.size() + inline_length, 0);
  return out;
}

// SBC-4 5.11.3: block device range descriptor.
inline Bytes range(uint64_t lba, uint32_t blocks) {
  Bytes d(16, 0);
  base::store_be64(&d[0], lba);
  base::store_be32(&d[8], blocks);
  return d;
}

// THIRD-PARTY COPY OUT CDB of a token command (POPULATE TOKEN 10h, WRITE USING TOKEN 11h).
inline Bytes token_cdb(uint8_t action, uint32_t list_id, uint32_t length) {
  Bytes c(16, 0);
  c[0] = 0x83;
  c[1] = action;
  base::store_be32(&c[6], list_id);
  base::store_be32(&c[10], length);
  return c;
}

// SBC-4 5.11.2: POPULATE TOKEN parameter list.
inline Bytes populate_list(const std::vector<Bytes>& ranges, uint32_t inactivity = 0) {
  Bytes p(16, 0);
  for (const Bytes& r : ranges) p.insert(p.end(), r.begin(), r.end());
  base::store_be16(&p[0], uint16_t(p.size() - 2));
  base::store_be32(&p[4], inactivity);
  base::store_be16(&p[14], uint16_t(p.size() - 16));
  return p;
}

// SBC-4 5.53.2: WRITE USING TOKEN parameter list.
inline Bytes write_list(const Bytes& token, const std::vector<Bytes>& ranges,
                        uint64_t offset = 0, bool del_tkn = false) {
  Bytes p(536, 0);
  p[2] = del_tkn ? 0x02 : 0x00;
  base::store_be64(&p[8], offset);
  std::copy(token.begin(), token.end(), p.begin() + 16);
  for (const Bytes& r : ranges) p.insert(p.end(), r.begin(), r.end());
  base::store_be16(&p[0], uint16_t(p.size() - 2));
  base::store_be16(&p[534], uint16_t(p.size() - 536));
  return p;
}

// RECEIVE ROD TOKEN INFORMATION CDB.
inline Bytes rrti_cdb(uint32_t list_id, uint32_t allocation = 1024) {
  Bytes c(16, 0);
  c[0] = 0x84;
  c[1] = 0x07;
  base::store_be32(&c[2], list_id);
  base::store_be32(&c[10], allocation);
  return c;
}

}  // namespace stgt::test::copy
