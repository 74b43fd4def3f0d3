// ODX: POPULATE TOKEN (SBC-4 5.11), WRITE USING TOKEN (SBC-4 5.53) and RECEIVE ROD TOKEN
// INFORMATION (SPC-5 6.18.7). POPULATE TOKEN makes a token for ranges of the LU it is sent
// to (rod_tokens.h); WRITE USING TOKEN, sent to any disk LU of the daemon, copies the data
// the token stands for into its ranges with the copy engine (copy_engine.h), checking after
// every chunk read that no write has revoked the token meanwhile; with the block device zero
// ROD token (rod_tokens.h) it zeroes its ranges instead (deallocates them on a thin LU,
// LBPRZ). Both complete when done
// (IMMED is accepted and ignored); their results are kept for RECEIVE ROD TOKEN INFORMATION.
#include <algorithm>
#include <array>
#include <vector>

#include "devices/sbc/copy_engine.h"
#include "devices/sbc/copy_results.h"
#include "devices/sbc/rod_tokens.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

using scsi::SenseReason;

constexpr uint16_t kListIdByte = 6;               // CDB bytes 6..9
constexpr uint16_t kParameterListLengthByte = 10;  // CDB bytes 10..13
constexpr size_t kRangeDescriptor = 16;           // SBC-4 5.11.3 block device range descriptor
constexpr size_t kPopulateHeader = 16;
constexpr size_t kWriteHeader = 536;               // WRITE USING TOKEN parameter list header
constexpr size_t kTokenOffset = 16;                // the ROD token in WRITE USING TOKEN's list

scsi::SenseDetail list_field(uint16_t byte, std::optional<uint8_t> bit = {}) {
  return scsi::SenseDetail{.field = scsi::FieldPointer{.cdb = false, .byte = byte, .bit = bit}};
}

// The parameter list (at most `max` bytes are ever needed); false after failing the command.
bool take_list(scsi::Command& cmd, size_t min, size_t max, std::vector<uint8_t>& out) {
  const uint32_t length = cdb_be32(cmd, kParameterListLengthByte);
  cmd.out_length = length;
  if (length < min || cmd.data.size() < std::min<size_t>(length, max)) {
    cmd.complete_sense(SenseReason::kParameterListLengthError);
    return false;
  }
  out.resize(std::min<size_t>(length, max));
  cmd.data.copy_out(0, out.data(), out.size());
  return true;
}

// SBC-4 5.11.3: the block device range descriptors at `at` (list length in bytes), checked
// against the LU's capacity; nullopt after failing the command.
std::optional<std::vector<RodExtent>> ranges(scsi::Command& cmd, const std::vector<uint8_t>& list,
                                             size_t at, size_t length, uint16_t length_byte) {
  if (length == 0 || length % kRangeDescriptor != 0 ||
      length / kRangeDescriptor > kMaxRangeDescriptors) {
    cmd.complete_sense(SenseReason::kInvalidFieldInParameterList, list_field(length_byte));
    return std::nullopt;
  }
  if (at + length > list.size()) {
    cmd.complete_sense(SenseReason::kParameterListLengthError);
    return std::nullopt;
  }
  std::vector<RodExtent> out;
  uint64_t total = 0;
  for (size_t d = at; d < at + length; d += kRangeDescriptor) {
    const uint64_t lba = base::load_be64(&list[d]);
    const uint32_t blocks = base::load_be32(&list[d + 8]);
    if (lba > cmd.lu->num_blocks() || blocks > cmd.lu->num_blocks() - lba) {
      cmd.complete_sense(SenseReason::kLbaOutOfRange, list_field(uint16_t(d)));
      return std::nullopt;
    }
    total += blocks;
    if (blocks != 0) out.push_back({lba, blocks});
  }
  if (total > kMaxTokenTransferBlocks) {
    cmd.complete_sense(SenseReason::kInvalidFieldInParameterList, list_field(length_byte));
    return std::nullopt;
  }
  return out;
}

// Records the command for RECEIVE ROD TOKEN INFORMATION; false after failing it: its list
// identifier is still in progress on this nexus (OPERATION IN PROGRESS, SPC-5 5.17.4.3), or
// too many copies run (BUSY).
bool begin_record(scsi::Command& cmd, uint64_t nexus, uint64_t naa, uint32_t list_id) {
  switch (copy_results().begin(nexus, naa, list_id, true)) {
    case CopyResults::Begin::kStarted:
      return true;
    case CopyResults::Begin::kListIdInUse:
      cmd.complete_sense(SenseReason::kOperationInProgress,
                         {.field = scsi::FieldPointer{.cdb = true, .byte = kListIdByte}});
      return false;
    case CopyResults::Begin::kTooMany:
      cmd.complete_status(scsi::Status::kBusy);
      return false;
  }
  return false;
}

// POPULATE TOKEN, once every write admitted before the token existed has completed (the
// barrier hold is released by Command::finish).
void populated(scsi::Command& cmd) { cmd.complete_good(); }

}  // namespace

// SBC-4 5.11: POPULATE TOKEN.
void populate_token(scsi::Command& cmd) {
  const uint32_t list_id = cdb_be32(cmd, kListIdByte);
  std::vector<uint8_t> list;
  if (!take_list(cmd, kPopulateHeader, kPopulateHeader + kMaxRangeDescriptors * kRangeDescriptor,
                 list))
    return;
  const bool rtv = (list[2] & 0x02) != 0;
  const uint32_t inactivity = base::load_be32(&list[4]);
  // SPC-5 table 123: only "point in time copy - default" tokens are made.
  if (rtv && base::load_be32(&list[8]) != kRodTypePointInTime) {
    cmd.complete_sense(SenseReason::kInvalidFieldInParameterList, list_field(8));
    return;
  }
  if (inactivity > kMaxInactivitySeconds) {
    cmd.complete_sense(SenseReason::kInvalidFieldInParameterList, list_field(4));
    return;
  }
  auto extents = ranges(cmd, list, kPopulateHeader, base::load_be16(&list[14]), 14);
  if (!extents) return;
  const uint64_t nexus = cmd.nexus != nullptr ? cmd.nexus->id() : 0;
  const uint64_t naa = cmd.lu->identity().naa;
  if (!begin_record(cmd, nexus, naa, list_id)) return;
  CopyRecord r{.nexus = nexus, .lu = naa, .list_id = list_id, .lid4 = true,
               .action = kPopulateToken};
  uint64_t lo = UINT64_MAX;
  uint64_t hi = 0;
  for (const RodExtent& e : *extents) {
    r.transfer_blocks += e.blocks;
    lo = std::min(lo, e.lba);
    hi = std::max(hi, e.lba + e.blocks);
  }
  const auto token = rod_tokens().create(cmd.lu->shared_from_this(), *extents,
                                         inactivity == 0 ? kDefaultInactivitySeconds : inactivity);
  if (!token) {
    r.failed = true;
    copy_results().end(r, true);
    cmd.complete_sense(SenseReason::kInternalTargetFailure);
    return;
  }
  r.token = *token;
  r.has_token = true;
  r.segments_processed = uint16_t(extents->size());
  copy_results().end(r, true);
  if (extents->empty()) {
    cmd.complete_good();
    return;
  }
  // Writes admitted from now on revoke the token; the barrier waits for those admitted
  // before it (scsi/extent_lock.h), so the token never stands for half-written data.
  cmd.lu->extents().acquire(cmd, scsi::ExtentLock::Mode::kBarrier, lo, hi - lo, populated);
}

namespace {

// The copy of WRITE USING TOKEN: the ROD (the token's extents, in order) from `offset`
// blocks on, into the destination ranges in order, as far as both last.
std::vector<CopyExtent> plan(const RodTokens::Use& use,
                             const std::shared_ptr<scsi::LogicalUnit>& dst, uint64_t offset,
                             const std::vector<RodExtent>& dest, uint64_t* planned) {
  std::vector<CopyExtent> out;
  size_t si = 0;
  uint64_t s_at = 0;  // blocks consumed of use.extents[si]
  while (si < use.extents.size() && offset >= use.extents[si].blocks - s_at) {
    offset -= use.extents[si].blocks - s_at;
    ++si;
    s_at = 0;
  }
  s_at += offset;
  *planned = 0;
  for (const RodExtent& d : dest) {
    uint64_t d_at = 0;
    while (d_at < d.blocks && si < use.extents.size()) {
      const RodExtent& s = use.extents[si];
      const uint64_t n = std::min(d.blocks - d_at, s.blocks - s_at);
      out.push_back(CopyExtent{use.source, dst, s.lba + s_at, d.lba + d_at, n});
      *planned += n;
      d_at += n;
      s_at += n;
      if (s_at == s.blocks) {
        ++si;
        s_at = 0;
      }
    }
  }
  return out;
}

// How a WRITE USING TOKEN copy ended: recorded for RECEIVE ROD TOKEN INFORMATION, then the
// command's status.
void token_write_done(scsi::Command& cmd, CopyRecord r, const CopyOutcome& o) {
  r.segments_processed = uint16_t(std::min<size_t>(o.extents_done, 0xffff));
  r.transfer_blocks = o.bytes_done / cmd.lu->block_size();
  if (o.reason != SenseReason::kNone) {
    r.failed = true;
    r.aborted = o.aborted;
    r.sense_length = uint8_t(scsi::encode_sense(cmd.lu->sense_format(), o.reason,
                                                list_field(kTokenOffset), r.sense));
  }
  copy_results().end(r, true);
  if (o.no_buffers) {
    cmd.fail_no_buffers();
    return;
  }
  if (o.reason != SenseReason::kNone) {
    cmd.complete_sense(o.reason, list_field(kTokenOffset));
    return;
  }
  cmd.complete_good();
}

// WRITE USING TOKEN with the block device zero ROD token: every destination range becomes
// zeros (deallocated on a thin LU), whatever the offset into the ROD, which has no end.
void write_zeros(scsi::Command& cmd, uint32_t list_id, const std::vector<RodExtent>& dest,
                 uint16_t token_length) {
  if (token_length != kRodTokenLength - 8) {  // ROD TOKEN LENGTH, 01F8h
    cmd.complete_sense(SenseReason::kInvalidFieldInParameterList, list_field(kTokenOffset + 6));
    return;
  }
  const uint64_t nexus = cmd.nexus != nullptr ? cmd.nexus->id() : 0;
  if (!begin_record(cmd, nexus, cmd.lu->identity().naa, list_id)) return;
  std::vector<CopyExtent> extents;
  for (const RodExtent& d : dest) {
    extents.push_back(CopyExtent{nullptr, cmd.lu->shared_from_this(), 0, d.lba, d.blocks});
  }
  const CopyRecord r{.nexus = nexus, .lu = cmd.lu->identity().naa, .list_id = list_id,
                     .lid4 = true, .action = kWriteUsingToken};
  CopyJob::start(
      cmd.reactor, cmd.pool, std::move(extents),
      [&cmd, r](const CopyOutcome& o) { token_write_done(cmd, r, o); }, {}, {}, &cmd);
}

}  // namespace

// SBC-4 5.53: WRITE USING TOKEN.
void write_using_token(scsi::Command& cmd) {
  const uint32_t list_id = cdb_be32(cmd, kListIdByte);
  std::vector<uint8_t> list;
  if (!take_list(cmd, kWriteHeader, kWriteHeader + kMaxRangeDescriptors * kRangeDescriptor, list))
    return;
  const bool del_tkn = (list[2] & 0x02) != 0;
  const uint64_t offset = base::load_be64(&list[8]);
  const std::span<const uint8_t> token(&list[kTokenOffset], kRodTokenLength);
  auto dest = ranges(cmd, list, kWriteHeader, base::load_be16(&list[534]), 534);
  if (!dest) return;
  if (cmd.write_protected()) {
    cmd.complete_sense(SenseReason::kWriteProtected);
    return;
  }
  if (base::load_be32(&token[0]) == kRodTypeBlockDeviceZero) {
    write_zeros(cmd, list_id, *dest, base::load_be16(&token[6]));
    return;
  }
  RodTokens::Lookup found = rod_tokens().find(token);
  if (found.reason != SenseReason::kNone) {
    cmd.complete_sense(found.reason, list_field(kTokenOffset));
    return;
  }
  if (found.use.source->block_size() != cmd.lu->block_size()) {
    cmd.complete_sense(SenseReason::kInvalidTokenOperation, list_field(kTokenOffset));
    return;
  }
  const uint64_t nexus = cmd.nexus != nullptr ? cmd.nexus->id() : 0;
  const uint64_t naa = cmd.lu->identity().naa;
  if (!begin_record(cmd, nexus, naa, list_id)) return;
  uint64_t planned = 0;
  uint64_t wanted = 0;
  for (const RodExtent& d : *dest) wanted += d.blocks;
  std::vector<CopyExtent> extents =
      plan(found.use, cmd.lu->shared_from_this(), offset, *dest, &planned);
  CopyRecord r{.nexus = nexus, .lu = naa, .list_id = list_id, .lid4 = true,
               .action = kWriteUsingToken};
  r.partial = planned < wanted;
  std::vector<uint8_t> token_copy(token.begin(), token.end());
  auto watch = found.use.watch;
  auto check = [watch]() {
    return watch->revoked.load(std::memory_order_acquire) ? SenseReason::kTokenRevoked
                                                          : SenseReason::kNone;
  };
  auto done = [&cmd, r, del_tkn, token_copy](const CopyOutcome& o) {
    if (del_tkn) rod_tokens().erase(token_copy);
    token_write_done(cmd, r, o);
  };
  CopyJob::start(cmd.reactor, cmd.pool, std::move(extents), std::move(done), std::move(check), {},
                 &cmd);
}

// SPC-5 6.18.7: RECEIVE ROD TOKEN INFORMATION for a POPULATE TOKEN or WRITE USING TOKEN.
void receive_rod_token_information(scsi::Command& cmd) {
  const uint32_t list_id = cdb_be32(cmd, 2);
  const uint32_t allocation = cdb_be32(cmd, 10);
  const uint64_t nexus = cmd.nexus != nullptr ? cmd.nexus->id() : 0;
  const auto r = copy_results().find(nexus, cmd.lu->identity().naa, list_id, true, false);
  if (!r) {
    cmd.fail_cdb_field(2);
    return;
  }
  std::vector<uint8_t> out(32 + r->sense_length, 0);
  out[4] = r->action;  // RESPONSE TO SERVICE ACTION
  // COPY OPERATION STATUS: 01h done, 02h done with errors, 03h done with partial transfer,
  // 11h in progress, 60h aborted (by task management: the copy stopped between chunks).
  out[5] = r->in_progress ? 0x11 : r->aborted ? 0x60 : r->failed ? 0x02 : r->partial ? 0x03 : 0x01;
  out[12] = r->failed ? 0x02 : 0x00;  // completion status: CHECK CONDITION or GOOD
  out[13] = r->sense_length;          // LENGTH OF THE SENSE DATA FIELD
  out[14] = r->sense_length;          // SENSE DATA LENGTH
  out[15] = 0xf1;                     // TRANSFER COUNT UNITS: logical blocks
  base::store_be64(&out[16], r->transfer_blocks);
  base::store_be16(&out[24], r->segments_processed);
  std::copy(r->sense.begin(), r->sense.begin() + r->sense_length, out.begin() + 32);
  if (r->has_token) {
    // ROD TOKEN DESCRIPTORS LENGTH, then one descriptor: two reserved bytes and the token.
    const size_t at = out.size();
    out.resize(at + 4 + 2 + kRodTokenLength, 0);
    base::store_be32(&out[at], uint32_t(2 + kRodTokenLength));
    std::copy(r->token.begin(), r->token.end(), out.begin() + ptrdiff_t(at + 6));
  }
  base::store_be32(&out[0], uint32_t(out.size() - 4));
  cmd.complete_data(out, allocation);
}

}  // namespace stgt::devices::sbc
