// EXTENDED COPY (LID1) and RECEIVE COPY RESULTS: the copy manager of every disk LU. The
// parameter list is decoded and checked whole (copy_params.h), its copy targets are resolved
// among the LUs the issuing I_T nexus sees (by NAA designator), every segment is checked
// against both capacities, and only then does the copy start (copy_engine.h). The command
// completes when the copy has ended; meanwhile its reactor serves everything else.
#include <algorithm>
#include <array>
#include <bit>
#include <vector>

#include "devices/sbc/copy_engine.h"
#include "devices/sbc/copy_params.h"
#include "devices/sbc/copy_results.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"
#include "scsi/target.h"

namespace stgt::devices::sbc {
namespace {

using scsi::SenseReason;

constexpr uint16_t kParameterListLengthByte = 10;  // EXTENDED COPY CDB bytes 10..13
constexpr uint16_t kListIdByte = 2;                 // RECEIVE COPY RESULTS CDB
// Parameter lists past this cannot be valid (header + MAXIMUM DESCRIPTOR LIST LENGTH, no
// inline data); the excess is not even read.
constexpr uint32_t kMaxParameterList = kCopyHeaderLength + kMaxDescriptorListLength;

scsi::SenseDetail list_field(std::optional<uint16_t> byte, std::optional<uint8_t> bit = {}) {
  scsi::SenseDetail d;
  if (byte) d.field = scsi::FieldPointer{.cdb = false, .byte = *byte, .bit = bit};
  return d;
}

struct Failure {
  SenseReason reason = SenseReason::kNone;
  scsi::SenseDetail detail;
  bool reservation_conflict = false;
};

// A copy target the issuing nexus may use: an LU of its target view named by the CSCD's NAA.
std::shared_ptr<scsi::LogicalUnit> resolve(const scsi::Command& cmd, const CscdDescriptor& t,
                                           bool* read_only) {
  if (!t.naa || t.device_type != 0x00 || cmd.nexus == nullptr) return nullptr;
  auto lu = cmd.nexus->target().find_by_naa(*t.naa, read_only);
  if (!lu || lu->store() == nullptr || lu->type().peripheral_device_type != 0x00 ||
      !lu->medium_present())
    return nullptr;
  return lu;
}

// Checks one segment against its copy targets and appends its extent; a Failure otherwise.
std::optional<Failure> add_extent(const scsi::Command& cmd, const CopyList& list,
                                  const BlockSegment& s, std::vector<CopyExtent>& out) {
  const CscdDescriptor& src_d = list.targets[s.source];
  const CscdDescriptor& dst_d = list.targets[s.destination];
  bool src_ro = false;
  bool dst_ro = false;
  auto src = resolve(cmd, src_d, &src_ro);
  auto dst = resolve(cmd, dst_d, &dst_ro);
  if (!src) return Failure{SenseReason::kCopyTargetNotReachable, list_field(src_d.offset)};
  if (!dst) return Failure{SenseReason::kCopyTargetNotReachable, list_field(dst_d.offset)};
  // SPC-5 6.4.5.6.2: DISK BLOCK LENGTH must be the copy target's.
  if (src_d.block_length != src->block_size())
    return Failure{SenseReason::kInvalidFieldInParameterList, list_field(src_d.offset + 29)};
  if (dst_d.block_length != dst->block_size())
    return Failure{SenseReason::kInvalidFieldInParameterList, list_field(dst_d.offset + 29)};
  // Different block sizes would need the CAT/pad rules of SPC-5 6.4.6.5; not offered.
  if (src->block_size() != dst->block_size())
    return Failure{SenseReason::kCopyAborted, list_field(s.offset)};
  if (s.source_lba > src->num_blocks() || s.blocks > src->num_blocks() - s.source_lba)
    return Failure{SenseReason::kCopyAborted, list_field(s.offset + 12)};
  if (s.destination_lba > dst->num_blocks() || s.blocks > dst->num_blocks() - s.destination_lba)
    return Failure{SenseReason::kCopyAborted, list_field(s.offset + 20)};
  if (dst_ro || dst->write_protected())
    return Failure{SenseReason::kWriteProtected, list_field(dst_d.offset)};
  // The copy manager acts for the issuing nexus: its reservations bind the copy too.
  const scsi::Initiator who = cmd.nexus->initiator();
  if ((src->reservations().held() &&
       !src->reservations().allows(who, scsi::conflict::kReadsMedium)) ||
      (dst->reservations().held() &&
       !dst->reservations().allows(who, scsi::conflict::kWritesMedium))) {
    Failure f;
    f.reservation_conflict = true;
    return f;
  }
  out.push_back(CopyExtent{std::move(src), std::move(dst), s.source_lba, s.destination_lba,
                           s.blocks});
  return std::nullopt;
}

void fail(scsi::Command& cmd, const Failure& f) {
  if (f.reservation_conflict) {
    cmd.complete_status(scsi::Status::kReservationConflict);
    return;
  }
  cmd.complete_sense(f.reason, f.detail);
}

// Runs the checked copy and completes `cmd` from its end, keeping the result if asked.
void run_copy(scsi::Command& cmd, const CopyList& list, std::vector<CopyExtent> extents) {
  CopyRecord record{.nexus = cmd.nexus->id(), .lu = cmd.lu->identity().naa,
                    .list_id = list.list_id};
  const bool tracked = list.usage != ListIdUsage::kNone;
  const bool hold = list.usage == ListIdUsage::kHold;
  std::vector<uint16_t> offsets;
  for (const BlockSegment& s : list.segments) offsets.push_back(s.offset);
  auto done = [&cmd, record, tracked, hold, offsets](const CopyOutcome& o) mutable {
    record.segments_processed = uint16_t(o.extents_done);
    record.bytes_done = o.bytes_done;
    record.in_progress = false;
    scsi::SenseDetail detail;
    if (o.reason != SenseReason::kNone) {
      record.failed = true;
      record.aborted = o.aborted;
      // SPC-5 6.4.3: the field pointer names the segment descriptor being processed.
      detail = list_field(offsets[std::min(o.extents_done, offsets.size() - 1)]);
      record.sense_length = uint8_t(scsi::encode_sense(cmd.lu->sense_format(), o.reason,
                                                       detail, record.sense));
    }
    if (tracked) {
      copy_results().end(record, hold);
    } else {
      copy_results().end_anonymous();
    }
    if (o.reason == SenseReason::kNone) {
      cmd.complete_good();
      return;
    }
    if (o.no_buffers) {
      cmd.fail_no_buffers();
      return;
    }
    cmd.complete_sense(o.reason, detail);
  };
  CopyJob::Progress progress;
  if (hold) {
    progress = [record](const CopyOutcome& o) {
      copy_results().progress(record, uint16_t(o.extents_done), o.bytes_done);
    };
  }
  CopyJob::start(cmd.reactor, cmd.pool, std::move(extents), std::move(done), {},
                 std::move(progress), &cmd);
}

}  // namespace

// SPC-4 6.3: EXTENDED COPY (LID1), service action 00h of opcode 83h.
void extended_copy(scsi::Command& cmd) {
  const uint32_t length = cdb_be32(cmd, kParameterListLengthByte);
  cmd.out_length = length;
  // SPC-5 6.4.1: a PARAMETER LIST LENGTH of zero is not an error; nothing is copied.
  if (length == 0) {
    cmd.complete_good();
    return;
  }
  if (cmd.data.size() < std::min(length, kMaxParameterList + 1)) {
    cmd.complete_sense(SenseReason::kParameterListLengthError);
    return;
  }
  std::vector<uint8_t> bytes(std::min(length, kMaxParameterList + 1));
  cmd.data.copy_out(0, bytes.data(), bytes.size());
  auto list = parse_copy_list(bytes);
  if (!list) {
    cmd.complete_sense(list.error().reason, list_field(list.error().byte, list.error().bit));
    return;
  }
  if (length > kMaxParameterList) {  // a list that long has inline data or a bad header
    cmd.complete_sense(SenseReason::kParameterListLengthError);
    return;
  }
  std::vector<CopyExtent> extents;
  for (const BlockSegment& s : list->segments) {
    if (const auto f = add_extent(cmd, *list, s, extents)) {
      fail(cmd, *f);
      return;
    }
  }
  if (list->usage == ListIdUsage::kNone) {
    if (!copy_results().begin_anonymous()) {
      cmd.complete_status(scsi::Status::kBusy);
      return;
    }
  } else {
    const auto begun = copy_results().begin(cmd.nexus->id(), cmd.lu->identity().naa,
                                            list->list_id);
    if (begun == CopyResults::Begin::kListIdInUse) {
      cmd.complete_sense(SenseReason::kOperationInProgress, list_field(0));
      return;
    }
    if (begun == CopyResults::Begin::kTooMany) {
      cmd.complete_status(scsi::Status::kBusy);
      return;
    }
  }
  run_copy(cmd, *list, std::move(extents));
}

namespace {

// SPC-4 6.18.3: COPY STATUS. TRANSFER COUNT in the smallest unit it fits (bytes, KiB, MiB).
void copy_status(scsi::Command& cmd, const CopyRecord& r, uint32_t allocation) {
  std::array<uint8_t, 12> out{};
  base::store_be32(&out[0], uint32_t(out.size() - 4));
  // A copy aborted by task management is one that completed with errors (02h): the LID1
  // COPY MANAGER STATUS has no code of its own for it (the LID4 one does, 60h).
  const uint8_t status = r.in_progress ? 0x00 : (r.failed ? 0x02 : 0x01);
  out[4] = status;  // HDD 0: no held data is discarded
  base::store_be16(&out[5], r.segments_processed);
  uint64_t count = r.bytes_done;
  uint8_t units = 0;
  while (count > 0xffffffffu && units < 6) {
    count >>= 10;
    ++units;
  }
  out[7] = units;
  base::store_be32(&out[8], uint32_t(count));
  cmd.complete_data(out, allocation);
}

// SPC-4 6.18.4: RECEIVE DATA. No supported segment type holds data: the list is empty.
void receive_data(scsi::Command& cmd, uint32_t allocation) {
  const std::array<uint8_t, 4> out{};
  cmd.complete_data(out, allocation);
}

// SPC-4 6.18.5: OPERATING PARAMETERS.
void operating_parameters(scsi::Command& cmd, uint32_t allocation) {
  constexpr std::array<uint8_t, 2> kImplemented{kSegmentBlockToBlock, kCscdIdentification};
  std::array<uint8_t, 44 + kImplemented.size()> out{};
  base::store_be32(&out[0], uint32_t(out.size() - 4));
  out[4] = 0x01;  // SNLID: LIST ID USAGE 11b is supported
  base::store_be16(&out[8], kMaxCscdDescriptors);
  base::store_be16(&out[10], kMaxSegmentDescriptors);
  base::store_be32(&out[12], kMaxDescriptorListLength);
  // MAXIMUM SEGMENT LENGTH: the most a block-to-block segment can name (NUMBER OF BLOCKS is
  // 16 bits). MAXIMUM INLINE DATA LENGTH, HELD DATA LIMIT, MAXIMUM STREAM DEVICE TRANSFER
  // SIZE stay 0: no inline, held or stream data.
  base::store_be32(&out[16], 0xffffu * cmd.lu->block_size());
  base::store_be16(&out[34], CopyResults::kMaxInProgress);  // TOTAL CONCURRENT COPIES
  out[36] = uint8_t(CopyResults::kMaxInProgress);           // MAXIMUM CONCURRENT COPIES
  out[37] = uint8_t(std::countr_zero(cmd.lu->block_size()));  // DATA SEGMENT GRANULARITY
  out[43] = uint8_t(kImplemented.size());
  std::copy(kImplemented.begin(), kImplemented.end(), out.begin() + 44);
  cmd.complete_data(out, allocation);
}

// SPC-4 6.18.6: FAILED SEGMENT DETAILS; the record is discarded once reported.
void failed_segment_details(scsi::Command& cmd, const CopyRecord& r, uint32_t allocation) {
  std::vector<uint8_t> out(60 + r.sense_length, 0);
  if (r.in_progress) {
    out.resize(4);  // nothing to report yet: AVAILABLE DATA 0
    cmd.complete_data(out, allocation);
    return;
  }
  base::store_be32(&out[0], uint32_t(out.size() - 4));
  out[56] = r.failed ? 0x02 : 0x00;  // COPY COMMAND STATUS: CHECK CONDITION or GOOD
  base::store_be16(&out[58], r.sense_length);
  std::copy(r.sense.begin(), r.sense.begin() + r.sense_length, out.begin() + 60);
  cmd.complete_data(out, allocation);
}

}  // namespace

// SPC-4 6.18: RECEIVE COPY RESULTS (opcode 84h), the LID1 service actions.
void receive_copy_results(scsi::Command& cmd) {
  const uint8_t action = cmd.cdb[1] & 0x1f;
  const uint32_t allocation = cdb_be32(cmd, 10);
  if (action == kRcrOperatingParameters) {
    operating_parameters(cmd, allocation);
    return;
  }
  const uint8_t list_id = cmd.cdb[kListIdByte];
  const uint64_t nexus = cmd.nexus != nullptr ? cmd.nexus->id() : 0;
  const bool discard = action == kRcrFailedSegmentDetails;
  const auto record =
      copy_results().find(nexus, cmd.lu->identity().naa, list_id, false, discard);
  // SPC-4 6.18.1: a list identifier with no copy in progress and no held results.
  if (!record) {
    cmd.fail_cdb_field(kListIdByte);
    return;
  }
  switch (action) {
    case kRcrCopyStatus:
      copy_status(cmd, *record, allocation);
      return;
    case kRcrReceiveData:
      receive_data(cmd, allocation);
      return;
    default:
      failed_segment_details(cmd, *record, allocation);
      return;
  }
}

}  // namespace stgt::devices::sbc
