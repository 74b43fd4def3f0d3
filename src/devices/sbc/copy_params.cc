#include "devices/sbc/copy_params.h"

#include "base/byte_order.h"

namespace stgt::devices::sbc {
namespace {

using scsi::SenseReason;

constexpr size_t kCscdLength = 32;        // identification descriptor, every 0xE0..0xE9 type
constexpr size_t kLongCscdLength = 64;    // 0xEA (IPv6), 0xEB (IP copy service)
constexpr size_t kSegmentHeader = 4;
constexpr uint16_t kBlockToBlockLength = 0x18;  // DESCRIPTOR LENGTH of a 02h segment

constexpr uint8_t kDesignatorNaa = 0x3;
constexpr uint8_t kAssociationLu = 0x0;

base::Unexpected<CopyListError> error(SenseReason reason, std::optional<size_t> byte = {},
                                      std::optional<uint8_t> bit = {}) {
  CopyListError e{reason, std::nullopt, bit};
  if (byte) e.byte = uint16_t(*byte);
  return base::unexpected(e);
}

// SPC-5 6.4.5.6: identification CSCD descriptor. Bytes 4..23 hold a designation descriptor
// (SPC-5 7.7.6.1); we name LUs by their NAA IEEE Registered designator (8 bytes). The LU ID
// TYPE and NUL fields are ignored (SPC-4 made NUL obsolete and LU ID TYPE reserved for
// identification descriptors: libiscsi ExtendedCopy.ValidTgtDescr expects GOOD).
CscdDescriptor decode_identification(std::span<const uint8_t> d, size_t offset) {
  CscdDescriptor t;
  t.offset = uint16_t(offset);
  t.device_type = d[1] & 0x1f;
  const uint8_t type = d[5] & 0x0f;
  const uint8_t association = (d[5] >> 4) & 0x03;
  const uint8_t length = d[7];
  if (type == kDesignatorNaa && association == kAssociationLu && length == 8)
    t.naa = base::load_be64(&d[8]);
  // SPC-5 6.4.5.6.2: block device type specific parameters, DISK BLOCK LENGTH in 29..31.
  t.block_length = base::load_be24(&d[29]);
  return t;
}

base::Result<std::vector<CscdDescriptor>, CopyListError> parse_targets(
    std::span<const uint8_t> list, size_t begin, size_t length) {
  // SPC-5 6.4.1: more CSCD descriptors than MAXIMUM CSCD DESCRIPTOR COUNT. Every descriptor
  // is at least 32 bytes, so a longer list surely has too many.
  if (length / kCscdLength > kMaxCscdDescriptors)
    return error(SenseReason::kTooManyTargetDescriptors);
  std::vector<CscdDescriptor> out;
  for (size_t at = begin; at < begin + length;) {
    const uint8_t code = list[at];
    const size_t size = (code == 0xea || code == 0xeb) ? kLongCscdLength : kCscdLength;
    if (code != kCscdIdentification)
      return error(SenseReason::kUnsupportedTargetDescriptorType, at);
    if (at + size > begin + length) return error(SenseReason::kParameterListLengthError);
    out.push_back(decode_identification(list.subspan(at, size), at));
    at += size;
  }
  return out;
}

base::Result<std::vector<BlockSegment>, CopyListError> parse_segments(
    std::span<const uint8_t> list, size_t begin, size_t length, size_t targets) {
  std::vector<BlockSegment> out;
  for (size_t at = begin; at < begin + length;) {
    if (out.size() == kMaxSegmentDescriptors)
      return error(SenseReason::kTooManySegmentDescriptors);
    if (at + kSegmentHeader > begin + length)
      return error(SenseReason::kParameterListLengthError);
    const uint8_t code = list[at];
    const size_t size = kSegmentHeader + base::load_be16(&list[at + 2]);
    if (at + size > begin + length) return error(SenseReason::kInvalidFieldInParameterList, at + 2);
    if (code != kSegmentBlockToBlock)
      return error(SenseReason::kUnsupportedSegmentDescriptorType, at);
    if (size - kSegmentHeader != kBlockToBlockLength)
      return error(SenseReason::kInvalidFieldInParameterList, at + 2);
    BlockSegment s;
    s.offset = uint16_t(at);
    s.source = base::load_be16(&list[at + 4]);
    s.destination = base::load_be16(&list[at + 6]);
    s.blocks = base::load_be16(&list[at + 10]);
    s.source_lba = base::load_be64(&list[at + 12]);
    s.destination_lba = base::load_be64(&list[at + 20]);
    // SPC-5 6.4.3.2: an index past the CSCD descriptor list names no copy target.
    if (s.source >= targets) return error(SenseReason::kCopyTargetNotReachable, at + 4);
    if (s.destination >= targets) return error(SenseReason::kCopyTargetNotReachable, at + 6);
    out.push_back(s);
    at += size;
  }
  return out;
}

}  // namespace

// SPC-4 6.3.1 table 104: the LID1 parameter list header, then the CSCD descriptors, the
// segment descriptors and inline data.
base::Result<CopyList, CopyListError> parse_copy_list(std::span<const uint8_t> list) {
  if (list.size() < kCopyHeaderLength) return error(SenseReason::kParameterListLengthError);
  CopyList out;
  out.list_id = list[0];
  const uint8_t usage = (list[1] >> 3) & 0x03;
  if (usage == 1) return error(SenseReason::kInvalidFieldInParameterList, 1, 4);
  out.usage = ListIdUsage(usage);
  if (out.usage == ListIdUsage::kNone && out.list_id != 0)
    return error(SenseReason::kInvalidFieldInParameterList, 0);
  const size_t targets_length = base::load_be16(&list[2]);
  const size_t segments_length = base::load_be32(&list[8]);
  const size_t inline_length = base::load_be32(&list[12]);
  // SPC-5 6.4.1: the lengths in the header must fit in what was sent, and together stay
  // within MAXIMUM DESCRIPTOR LIST LENGTH.
  if (kCopyHeaderLength + targets_length + segments_length + inline_length > list.size())
    return error(SenseReason::kParameterListLengthError);
  if (targets_length + segments_length > kMaxDescriptorListLength)
    return error(SenseReason::kParameterListLengthError);
  // MAXIMUM INLINE DATA LENGTH is 0: no segment type that uses inline data is supported.
  if (inline_length != 0) return error(SenseReason::kInvalidFieldInParameterList, 12);
  auto targets = parse_targets(list, kCopyHeaderLength, targets_length);
  if (!targets) return base::unexpected(targets.error());
  out.targets = std::move(*targets);
  auto segments = parse_segments(list, kCopyHeaderLength + targets_length, segments_length,
                                 out.targets.size());
  if (!segments) return base::unexpected(segments.error());
  out.segments = std::move(*segments);
  return out;
}

}  // namespace stgt::devices::sbc
