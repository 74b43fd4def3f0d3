// EXTENDED COPY (LID1) parameter list (SPC-4 6.3, SPC-5 6.4): decoding and every check that
// needs no copy target, so a bad list is refused before any I/O. Pure functions of the bytes;
// any thread. The copy manager's limits, reported by RECEIVE COPY RESULTS (OPERATING
// PARAMETERS) and VPD 0x8F, live here next to the checks that enforce them.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "scsi/sense.h"

namespace stgt::devices::sbc {

inline constexpr uint16_t kMaxCscdDescriptors = 16;
inline constexpr uint16_t kMaxSegmentDescriptors = 64;
// CSCD and segment descriptor lists together, in bytes.
inline constexpr uint32_t kMaxDescriptorListLength = 4096;
inline constexpr size_t kCopyHeaderLength = 16;

// Descriptor type codes (SPC-5 6.4.5 table 129 / 6.4.6 table 133).
inline constexpr uint8_t kSegmentBlockToBlock = 0x02;
inline constexpr uint8_t kCscdIdentification = 0xe4;

// LIST ID USAGE (SPC-4 6.3.1 table 105).
enum class ListIdUsage : uint8_t {
  kHold = 0,     // results held for RECEIVE COPY RESULTS; the list identifier is unique
  kDiscard = 2,  // nothing held; the list identifier is unique
  kNone = 3,     // nothing held; the list identifier is not unique (and is zero)
};

// An identification CSCD descriptor (SPC-5 6.4.5.6): a block device named by designator.
struct CscdDescriptor {
  std::optional<uint64_t> naa;  // an 8-byte NAA designator of a logical unit, if that is it
  uint8_t device_type = 0;      // PERIPHERAL DEVICE TYPE
  uint32_t block_length = 0;    // DISK BLOCK LENGTH (block device type specific parameters)
  uint16_t offset = 0;          // where the descriptor starts in the parameter list
};

// A block device to block device segment descriptor (SPC-5 6.4.6.5).
struct BlockSegment {
  uint16_t source = 0;       // CSCD descriptor indexes
  uint16_t destination = 0;
  uint16_t blocks = 0;       // NUMBER OF BLOCKS
  uint64_t source_lba = 0;
  uint64_t destination_lba = 0;
  uint16_t offset = 0;       // where the descriptor starts in the parameter list
};

struct CopyList {
  uint8_t list_id = 0;
  ListIdUsage usage = ListIdUsage::kHold;
  std::vector<CscdDescriptor> targets;
  std::vector<BlockSegment> segments;
};

// What is wrong with a list: the sense reason and, when one field is to blame, its byte
// (and bit) in the parameter list.
struct CopyListError {
  scsi::SenseReason reason = scsi::SenseReason::kInvalidFieldInParameterList;
  std::optional<uint16_t> byte;
  std::optional<uint8_t> bit;
};

// Decodes a whole parameter list (its length is the CDB's PARAMETER LIST LENGTH, > 0).
base::Result<CopyList, CopyListError> parse_copy_list(std::span<const uint8_t> list);

}  // namespace stgt::devices::sbc
