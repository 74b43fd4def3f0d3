#include "devices/spc/vpd.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <string>

#include "devices/sbc/copy_params.h"
#include "devices/sbc/provisioning.h"
#include "devices/sbc/rod_tokens.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "devices/spc/spc.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::spc {
namespace {

constexpr std::array<VpdPage, 7> kPages{{
    {0x00, false, supported_vpd_pages},
    {0x80, false, unit_serial_number},
    {0x83, false, device_identification},
    {0x8f, true, third_party_copy},
    {0xb0, true, block_limits},
    {0xb1, true, block_device_characteristics},
    {0xb2, true, logical_block_provisioning},
}};

bool is_disk(const scsi::Command& cmd) {
  return cmd.lu->type().peripheral_device_type == 0x00;
}

size_t header(const scsi::Command& cmd, uint8_t code, uint8_t* out) {
  out[0] = cmd.lu->type().peripheral_device_type;
  out[1] = code;
  return 4;
}

size_t finish_page(uint8_t* out, size_t len) {
  base::store_be16(out + 2, uint16_t(len - 4));
  return len;
}

constexpr uint8_t kProtocolIscsi = 0x5;  // SPC-5 7.6.1 table 444
constexpr uint8_t kCodeSetBinary = 0x1;
constexpr uint8_t kCodeSetAscii = 0x2;
constexpr uint8_t kCodeSetUtf8 = 0x3;
constexpr uint8_t kAssocLu = 0x0;
constexpr uint8_t kAssocTargetPort = 0x1;

// SPC-5 7.7.6.1: designation descriptor header; PIV set for target-port designators so the
// protocol identifier counts.
size_t designator(uint8_t* out, uint8_t code_set, uint8_t assoc, uint8_t type,
                  const uint8_t* id, size_t len) {
  const bool piv = assoc == kAssocTargetPort;
  out[0] = uint8_t((piv ? kProtocolIscsi << 4 : 0) | code_set);
  out[1] = uint8_t((piv ? 0x80 : 0) | assoc << 4 | type);
  out[2] = 0;
  out[3] = uint8_t(len);
  std::memcpy(out + 4, id, len);
  return 4 + len;
}

// SPC-5 7.7.6.9: SCSI name string of the target port, "<iqn>,t,0x<TPGT>", null
// terminated and padded to a multiple of four bytes.
size_t scsi_name_designator(const scsi::Command& cmd, uint8_t* out) {
  char tpgt[16];
  std::snprintf(tpgt, sizeof(tpgt), ",t,0x%04x", cmd.nexus->port().portal_group_tag);
  std::string name = cmd.nexus->target().name() + tpgt;
  name.resize(std::min<size_t>(name.size(), 251));
  size_t len = name.size() + 1;
  len = (len + 3) & ~size_t{3};
  std::array<uint8_t, 256> id{};
  std::memcpy(id.data(), name.data(), name.size());
  return designator(out, kCodeSetUtf8, kAssocTargetPort, 0x8, id.data(), len);
}

}  // namespace

const VpdPage* find_vpd_page(const scsi::Command& cmd, uint8_t code) {
  for (const VpdPage& p : kPages) {
    if (p.code == code && (!p.disk_only || is_disk(cmd))) return &p;
  }
  return nullptr;
}

// SPC-5 7.7.16: Supported VPD Pages.
size_t supported_vpd_pages(const scsi::Command& cmd, uint8_t* out) {
  size_t len = header(cmd, 0x00, out);
  for (const VpdPage& p : kPages) {
    if (!p.disk_only || is_disk(cmd)) out[len++] = p.code;
  }
  return finish_page(out, len);
}

// SPC-5 7.7.18: Unit Serial Number.
size_t unit_serial_number(const scsi::Command& cmd, uint8_t* out) {
  size_t len = header(cmd, 0x80, out);
  const std::string& serial = cmd.lu->identity().serial;
  const size_t n = std::min<size_t>(serial.size(), 64);
  put_ascii(out + len, n, serial);
  return finish_page(out, len + n);
}

// SPC-5 7.7.6: Device Identification: NAA and T10 vendor ID for the LU; relative target
// port, target port group and SCSI name string for the port the command came through.
size_t device_identification(const scsi::Command& cmd, uint8_t* out) {
  const scsi::LuIdentity& id = cmd.lu->identity();
  size_t len = header(cmd, 0x83, out);
  std::array<uint8_t, 8> naa{};
  base::store_be64(naa.data(), id.naa);
  len += designator(out + len, kCodeSetBinary, kAssocLu, 0x3, naa.data(), naa.size());

  std::array<uint8_t, 8 + 64> t10{};
  const size_t serial_len = std::min<size_t>(id.serial.size(), 64);
  put_ascii(t10.data(), 8, id.vendor);
  put_ascii(t10.data() + 8, serial_len, id.serial);
  len += designator(out + len, kCodeSetAscii, kAssocLu, 0x1, t10.data(), 8 + serial_len);

  if (cmd.nexus != nullptr) {
    std::array<uint8_t, 4> v{};
    base::store_be16(v.data() + 2, cmd.nexus->port().relative_port_id);
    len += designator(out + len, kCodeSetBinary, kAssocTargetPort, 0x4, v.data(), v.size());
    base::store_be16(v.data() + 2, cmd.nexus->port().port_group_id);
    len += designator(out + len, kCodeSetBinary, kAssocTargetPort, 0x5, v.data(), v.size());
    len += scsi_name_designator(cmd, out + len);
  }
  return finish_page(out, len);
}

namespace {

// One third-party copy descriptor (SPC-5 7.7.18.1): type, length, body padded to 4 bytes.
size_t tpc_descriptor(uint8_t* out, uint16_t type, std::span<const uint8_t> body) {
  const size_t padded = (body.size() + 3) & ~size_t{3};
  base::store_be16(out, type);
  base::store_be16(out + 2, uint16_t(padded));
  std::memset(out + 4, 0, padded);
  std::memcpy(out + 4, body.data(), body.size());
  return 4 + padded;
}

// SPC-5 7.7.18.2: Supported Commands: each third-party copy opcode with its service actions.
size_t tpc_supported_commands(uint8_t* out) {
  const std::array<uint8_t, 5> copy_out{0x83, 3, sbc::kExtendedCopyLid1, sbc::kPopulateToken,
                                        sbc::kWriteUsingToken};
  const std::array<uint8_t, 7> copy_in{0x84, 5, sbc::kRcrCopyStatus, sbc::kRcrReceiveData,
                                       sbc::kRcrOperatingParameters,
                                       sbc::kRcrFailedSegmentDetails,
                                       sbc::kRcrRodTokenInformation};
  std::array<uint8_t, 32> body{};
  size_t n = 1;
  std::memcpy(&body[n], copy_out.data(), 2 + copy_out[1]);
  n += 2 + copy_out[1];
  std::memcpy(&body[n], copy_in.data(), 2 + copy_in[1]);
  n += 2 + copy_in[1];
  body[0] = uint8_t(n - 1);  // COMMANDS SUPPORTED LIST LENGTH
  return tpc_descriptor(out, 0x0001, std::span(body.data(), n));
}

// SPC-5 7.7.18.5: Supported Descriptors: the segment and CSCD descriptor type codes.
size_t tpc_supported_descriptors(uint8_t* out) {
  const std::array<uint8_t, 3> body{2, sbc::kSegmentBlockToBlock, sbc::kCscdIdentification};
  return tpc_descriptor(out, 0x0008, body);
}

// SBC-4 6.6.x: Block Device ROD Token Limits (what Windows ODX reads first).
size_t tpc_rod_token_limits(uint8_t* out) {
  std::array<uint8_t, 32> body{};
  base::store_be16(&body[6], sbc::kMaxRangeDescriptors);        // MAXIMUM RANGE DESCRIPTORS
  base::store_be32(&body[8], sbc::kMaxInactivitySeconds);       // MAXIMUM INACTIVITY TIMEOUT
  base::store_be32(&body[12], sbc::kDefaultInactivitySeconds);  // DEFAULT INACTIVITY TIMEOUT
  base::store_be64(&body[16], sbc::kMaxTokenTransferBlocks);    // MAXIMUM TOKEN TRANSFER SIZE
  base::store_be64(&body[24], sbc::kOptimalTokenTransferBlocks);  // OPTIMAL TRANSFER COUNT
  return tpc_descriptor(out, 0x0000, body);
}

// SPC-5 7.7.18.x: Supported ROD Types (0108h): "point in time copy - default" tokens are made
// by POPULATE TOKEN (TOKEN_OUT) and taken by WRITE USING TOKEN (TOKEN_IN); the block device
// zero ROD token is taken only. Descriptors of 8 bytes: ROD TYPE, flags, PREFERENCE.
size_t tpc_supported_rod_types(uint8_t* out) {
  constexpr uint8_t kTokenIn = 0x02;
  constexpr uint8_t kTokenOut = 0x01;
  std::array<uint8_t, 4 + 2 * 8> body{};
  base::store_be16(&body[2], 2 * 8);  // ROD TYPE DESCRIPTORS LENGTH
  base::store_be32(&body[4], sbc::kRodTypePointInTime);
  body[8] = kTokenIn | kTokenOut;
  base::store_be32(&body[12], sbc::kRodTypeBlockDeviceZero);
  body[16] = kTokenIn;
  return tpc_descriptor(out, 0x0108, body);
}

}  // namespace

// SPC-5 7.7.18: Third-party Copy. The disk's copy manager (devices/sbc/extended_copy.cc).
size_t third_party_copy(const scsi::Command& cmd, uint8_t* out) {
  size_t len = header(cmd, 0x8f, out);
  len += tpc_rod_token_limits(out + len);
  len += tpc_supported_commands(out + len);
  len += tpc_supported_descriptors(out + len);
  len += tpc_supported_rod_types(out + len);
  return finish_page(out, len);
}

// SBC-4 6.6.4: Block Limits (the SBC-3 length, 3Ch). WSNZ 0: WRITE SAME with zero blocks
// means "to the last LBA" (devices/sbc/write_same.cc). MAXIMUM COMPARE AND WRITE LENGTH is
// what devices/sbc/compare_and_write.cc enforces. UNMAP limits only when the LU is
// thin (LBPU); libiscsi Inquiry.BlockLimits wants them zero otherwise.
size_t block_limits(const scsi::Command& cmd, uint8_t* out) {
  constexpr size_t kLength = 0x40;
  const scsi::LogicalUnit& lu = *cmd.lu;
  header(cmd, 0xb0, out);
  std::memset(out + 4, 0, kLength - 4);
  out[5] = uint8_t(sbc::max_compare_and_write_blocks(lu));  // MAXIMUM COMPARE AND WRITE LENGTH
  const uint32_t max_blocks = kMaxTransferBytes / lu.block_size();
  // OPTIMAL TRANSFER LENGTH GRANULARITY: one physical block.
  base::store_be16(out + 6, uint16_t(1u << lu.physical_block_exponent()));
  base::store_be32(out + 8, max_blocks);   // MAXIMUM TRANSFER LENGTH
  base::store_be32(out + 12, max_blocks);  // OPTIMAL TRANSFER LENGTH
  base::store_be32(out + 16, max_blocks);  // MAXIMUM PREFETCH LENGTH
  if (lu.thin()) {
    base::store_be32(out + 20, sbc::max_unmap_blocks(lu));  // MAXIMUM UNMAP LBA COUNT
    base::store_be32(out + 24, sbc::kMaxUnmapDescriptors);  // ... BLOCK DESCRIPTOR COUNT
    base::store_be32(out + 28, sbc::unmap_granularity_blocks(lu));  // OPTIMAL UNMAP GRAN.
    base::store_be32(out + 32, 0x80000000u);  // UGAVALID, UNMAP GRANULARITY ALIGNMENT 0
  }
  base::store_be64(out + 36, sbc::max_write_same_blocks(lu));  // MAXIMUM WRITE SAME LENGTH
  // MAXIMUM ATOMIC TRANSFER LENGTH (0: WRITE ATOMIC not offered); ATOMIC ALIGNMENT, ATOMIC
  // TRANSFER LENGTH GRANULARITY and the atomic boundary limits stay 0: none required.
  base::store_be32(out + 44, sbc::max_atomic_transfer_blocks(lu));
  return finish_page(out, kLength);
}

// SBC-4 6.6.2: Block Device Characteristics: non-rotating medium.
size_t block_device_characteristics(const scsi::Command& cmd, uint8_t* out) {
  constexpr size_t kLength = 0x40;
  header(cmd, 0xb1, out);
  std::memset(out + 4, 0, kLength - 4);
  base::store_be16(out + 4, 0x0001);  // MEDIUM ROTATION RATE: non-rotating
  // WABEREQ 01b: a READ of a block after SANITIZE BLOCK ERASE completes GOOD (with zeros).
  // WACEREQ 01b where CRYPTOGRAPHIC ERASE is offered: a READ after it completes GOOD with
  // unspecified data (the old ciphertext under the new key); 00b (not supported) elsewhere.
  out[7] = uint8_t(0x40 | (sbc::crypto_erase_offered(*cmd.lu) ? 0x10 : 0x00));
  return finish_page(out, kLength);
}

// SBC-4 6.6.6: Logical Block Provisioning. A thin LU (configured thin over a store that can
// unmap) offers UNMAP and WRITE SAME (10/16) with UNMAP, reads unmapped blocks as zeros
// (LBPRZ 001b) and has no anchored state (ANC_SUP 0); a full LU reports none of it.
size_t logical_block_provisioning(const scsi::Command& cmd, uint8_t* out) {
  constexpr size_t kLength = 8;
  header(cmd, 0xb2, out);
  std::memset(out + 4, 0, kLength - 4);
  if (cmd.lu->thin()) {
    out[5] = 0x80 | 0x40 | 0x20 | 0x04;  // LBPU, LBPWS, LBPWS10, LBPRZ
    out[6] = 0x02;                       // PROVISIONING TYPE: thin
  }
  return finish_page(out, kLength);
}

}  // namespace stgt::devices::spc
