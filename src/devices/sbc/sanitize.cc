// SBC-4 5.30 SANITIZE: checks the CDB and the OVERWRITE parameter list, then hands the
// operation to a SanitizeJob (sanitize_job.h) that belongs to the LU. With IMMED the command
// completes once the operation has started; without it, when the operation ends, unless task
// management ends the command first (the operation goes on: SBC-4 4.11.3).
#include <algorithm>
#include <array>
#include <bit>

#include "base/byte_order.h"
#include "devices/sbc/sanitize_job.h"
#include "devices/sbc/sanitize_record.h"
#include "devices/sbc/sbc.h"
#include "devices/spc/cdb.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {
namespace {

// CDB byte 1 (SBC-4 5.30.1).
constexpr uint8_t kImmed = 0x80;
constexpr uint8_t kZnr = 0x40;  // zoned devices only: reserved for this LU
constexpr uint8_t kAuse = 0x20;

// OVERWRITE parameter list byte 0 (SBC-4 5.30.3).
constexpr uint8_t kInvert = 0x80;
constexpr uint8_t kTest = 0x60;
constexpr uint8_t kOverwriteCount = 0x1f;
constexpr size_t kOverwriteHeader = 4;

// Byte 1 bit 6 and bytes 2..6 are reserved; false after failing the command.
bool check_cdb(scsi::Command& cmd) {
  if ((cmd.cdb[1] & kZnr) != 0) {
    cmd.fail_cdb_field(1, 6);
    return false;
  }
  for (uint16_t b = 2; b <= 6; ++b) {
    if (cmd.cdb[b] != 0) {
      cmd.fail_cdb_field(b);
      return false;
    }
  }
  return true;
}

void fail_parameter(scsi::Command& cmd, uint16_t byte, int bit = -1) {
  scsi::FieldPointer f{.cdb = false, .byte = byte, .bit = std::nullopt};
  if (bit >= 0) f.bit = uint8_t(bit);
  cmd.complete_sense(scsi::SenseReason::kInvalidFieldInParameterList, {.field = f});
}

// SBC-4 5.30.3: the OVERWRITE parameter list. libiscsi's Sanitize.Overwrite expects INVALID
// FIELD IN CDB (field: PARAMETER LIST LENGTH) for a list of 4 bytes or less or longer than
// a block plus the header, for OVERWRITE COUNT 0 and for an INITIALIZATION PATTERN LENGTH
// of 0 or above the block length, so those are answered that way; the other list errors
// point into the list. Fills `out`; false after failing the command.
bool decode_overwrite(scsi::Command& cmd, SanitizeRequest& out) {
  const uint32_t bs = cmd.lu->block_size();
  const uint16_t length = cdb_be16(cmd, 7);
  cmd.out_length = length;
  if (length <= kOverwriteHeader || length > bs + kOverwriteHeader) {
    cmd.fail_cdb_field(7);
    return false;
  }
  if (cmd.data.size() < length) {
    cmd.complete_sense(scsi::SenseReason::kParameterListLengthError);
    return false;
  }
  std::array<uint8_t, kOverwriteHeader> h{};
  cmd.data.copy_out(0, h.data(), h.size());
  const uint16_t pattern_length = base::load_be16(h.data() + 2);
  if ((h[0] & kOverwriteCount) == 0 || pattern_length == 0 || pattern_length > bs) {
    cmd.fail_cdb_field(7);
    return false;
  }
  if ((h[0] & kTest) != 0) {  // TEST 00b only: no vendor test modes
    fail_parameter(cmd, 0, 6);
    return false;
  }
  if (h[1] != 0) {
    fail_parameter(cmd, 1, std::bit_width(unsigned(h[1])) - 1);
    return false;
  }
  if (pattern_length > length - kOverwriteHeader) {
    fail_parameter(cmd, 2);
    return false;
  }
  std::vector<uint8_t> pattern(pattern_length);
  cmd.data.copy_out(kOverwriteHeader, pattern.data(), pattern.size());
  // The initialization pattern is repeated to fill each logical block.
  out.pattern.resize(bs);
  for (uint32_t at = 0; at < bs; ++at)
    out.pattern[at] = pattern[at % pattern_length];
  out.kind = SanitizeRequest::Kind::kOverwrite;
  out.invert = (h[0] & kInvert) != 0;
  out.passes = uint8_t(h[0] & kOverwriteCount);
  return true;
}

// Starts the job; completes the command now (IMMED) or when the job ends.
void start(scsi::Command& cmd, SanitizeRequest request) {
  scsi::LogicalUnit& lu = *cmd.lu;
  const bool immed = (cmd.cdb[1] & kImmed) != 0;
  const bool ause = (cmd.cdb[1] & kAuse) != 0;
  // Another nexus may have started one since the SAM gate looked.
  scsi::LogicalUnit::SanitizeState previous{};
  const bool previous_ause = lu.sanitize_ause();
  if (!lu.begin_sanitize(ause, &previous)) {
    cmd.complete_sense(scsi::SenseReason::kLunNotReadySanitizeInProgress,
                       {.progress = lu.sanitize_progress()});
    return;
  }
  // SBC-4 4.11.2: an operation interrupted by a power loss resumes after power on, so it is
  // durable before the first block changes; one that cannot be recorded does not start.
  if (!record_sanitize_running(lu, request, ause)) {
    lu.abandon_sanitize(previous, previous_ause);
    cmd.complete_sense(scsi::SenseReason::kInternalTargetFailure);
    return;
  }
  SanitizeJob::start(cmd.reactor, cmd.pool, lu.shared_from_this(), std::move(request),
                     immed ? nullptr : &cmd);
  if (immed) cmd.complete_good();
}

// BLOCK ERASE and CRYPTOGRAPHIC ERASE: no parameter list (a PARAMETER LIST LENGTH other than 0
// is an invalid field), refused on a write-protected LU, then started.
void start_without_list(scsi::Command& cmd, SanitizeRequest::Kind kind) {
  if (!check_cdb(cmd)) return;
  if (cdb_be16(cmd, 7) != 0) {
    cmd.fail_cdb_field(7);
    return;
  }
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  start(cmd, SanitizeRequest{.kind = kind});
}

void overwrite(scsi::Command& cmd) {
  SanitizeRequest request;
  if (!decode_overwrite(cmd, request)) return;
  if (cmd.write_protected()) {
    cmd.complete_sense(scsi::SenseReason::kWriteProtected);
    return;
  }
  start(cmd, std::move(request));
}

}  // namespace

// SBC-4 5.30.1 OVERWRITE (01h).
void sanitize_overwrite(scsi::Command& cmd) {
  if (!check_cdb(cmd)) return;
  overwrite(cmd);
}

// SBC-4 5.30.2 BLOCK ERASE (02h): no parameter list. A thin LU deallocates every block
// (reads back as zeros, LBPRZ 1); a fully provisioned one is written with zeros. Either way
// a READ afterwards succeeds (VPD B1h WABEREQ 01b).
void sanitize_block_erase(scsi::Command& cmd) {
  start_without_list(cmd, SanitizeRequest::Kind::kBlockErase);
}

bool crypto_erase_offered(const scsi::LogicalUnit& lu) {
  return lu.store() != nullptr && lu.store()->supports_crypto_erase();
}

// SBC-4 5.30 CRYPTOGRAPHIC ERASE (03h; 4.11.1): no parameter list. The store replaces its media
// encryption key (durably, before it switches), so every block reads back as unspecified
// data afterwards (VPD B1h WACEREQ 01b); thin LUs keep reading unmapped blocks as zeros.
// Dispatched only where crypto_erase_offered() (the opcode table's offered hook); the same
// checks as the other service actions otherwise.
void sanitize_crypto_erase(scsi::Command& cmd) {
  start_without_list(cmd, SanitizeRequest::Kind::kCryptoErase);
}

// SBC-4 5.30.4 EXIT FAILURE MODE (1Fh): leaves the failure mode of a sanitize that failed
// with AUSE set; after one with AUSE clear only a successful sanitize does (SBC-4 4.11.4),
// so the request is an invalid field. Nothing to leave: GOOD. A failure mode whose record
// cannot be removed is not left (HARDWARE ERROR, INTERNAL TARGET FAILURE).
void sanitize_exit_failure_mode(scsi::Command& cmd) {
  if (!check_cdb(cmd)) return;
  if (cdb_be16(cmd, 7) != 0) {
    cmd.fail_cdb_field(7);
    return;
  }
  scsi::LogicalUnit& lu = *cmd.lu;
  if (lu.sanitize_state() != scsi::LogicalUnit::SanitizeState::kFailed) {
    cmd.complete_good();
    return;
  }
  if (!lu.sanitize_ause()) {
    cmd.fail_cdb_field(1, 4);
    return;
  }
  // The failure mode persists (sanitize_record.h): its record goes first, so the LU never
  // leaves failure mode while a restart would bring it back.
  if (!clear_sanitize_record(lu)) {
    cmd.complete_sense(scsi::SenseReason::kInternalTargetFailure);
    return;
  }
  // False only if a new SANITIZE started meanwhile (its record is newer than the removal).
  (void)lu.exit_sanitize_failure();
  cmd.complete_good();
}

}  // namespace stgt::devices::sbc
