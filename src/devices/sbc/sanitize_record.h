// The durable sanitize record of one disk LU (SBC-4 4.11.2: a sanitize interrupted by a
// power loss resumes after power on; sanitize failure mode persists until it is left).
//
// The record lives at LogicalUnit::sanitize_record_path() ("<var_dir>/pr/<NAA>.sanitize",
// next to the APTPL file) and is written with base::write_file_atomic, so after a crash the
// file holds the old or the new record, never a torn one. Life cycle:
//   - SANITIZE accepted (after every check, before the first write): "running" with the
//     operation (service action, pattern, INVERT, OVERWRITE COUNT) and AUSE;
//   - at each checkpoint of the job (sanitize_job.h), once the store is flushed: "running"
//     with the pass and byte offset reached (the resume point);
//   - the operation completes: removed; it fails: "failed" with AUSE;
//   - EXIT FAILURE MODE: removed before the LU leaves failure mode;
//   - the control plane removes the LU: removed (LogicalUnit::drop_sanitize_record).
// At start-up restore_sanitize() reads it: "running" puts the LU back into sanitize in
// progress and returns the operation to resume from its last checkpoint (from its beginning
// when it had none, or for a version 1 record); "failed" puts it back into failure mode.
//
// A record that cannot be read or does not verify (CRC32C line; atomic writes make a torn
// file unlikely, so this means damage or a hand edit) is never guessed at: the LU comes up in
// sanitize failure mode with AUSE clear (media access answers MEDIUM ERROR, SANITIZE COMMAND
// FAILED until a new SANITIZE succeeds), the file is left for inspection, and one ERROR log
// line names it. Refusing the LU would take it (and with a daemon start, every LU) away; a
// guessed operation would write data nobody asked for; coming back idle would serve data an
// initiator believes sanitized. Failure mode is the state SBC-4 defines for "this sanitize
// did not complete", and a new SANITIZE is the standard way out.
//
// Blocking: writing and removing fsync (rare commands only); restore_sanitize() runs on the
// control thread before the LU is published.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "devices/sbc/sanitize_job.h"

namespace stgt::scsi {
class LogicalUnit;
}

namespace stgt::devices::sbc {

struct SanitizeRecord {
  enum class State : uint8_t { kRunning, kFailed };
  State state = State::kRunning;
  bool ause = false;
  SanitizeRequest request;  // kRunning only
};

// Text, one field a line, ending with a CRC32C line over everything before it:
//   stgt-sanitize 2               (version 1, without "resume", is read too)
//   state running|failed
//   ause 0|1
//   action overwrite|block-erase|crypto-erase  (running only)
//   invert 0|1                            (running only)
//   passes <1..31>                        (running only)
//   resume <pass> <byte offset>           (running only; version 2: the last checkpoint)
//   pattern <hex bytes, one block>        (running overwrite only)
//   crc32c <8 hex digits>
std::string encode_sanitize_record(const SanitizeRecord& record);
// Everything checked: version, every field and its range, the checksum. One sentence on error.
base::Result<SanitizeRecord, std::string> decode_sanitize_record(std::string_view image);

// Persist the LU's sanitize state (no-ops when the LU keeps no record). Each logs an ERROR
// line on failure and returns false.
bool record_sanitize_running(scsi::LogicalUnit& lu, const SanitizeRequest& request, bool ause);
bool record_sanitize_failed(scsi::LogicalUnit& lu, bool ause);
bool clear_sanitize_record(scsi::LogicalUnit& lu);

// At LU open, after set_sanitize_record_path(): puts the LU into the recorded state (see
// above) and returns the operation to resume (from its checkpoint), if any. `where` names
// the LU in log lines. A read-only LU cannot run it: it comes up in failure mode (AUSE
// clear) with the record kept, so the operation resumes once the LU is writable again.
std::optional<SanitizeRequest> restore_sanitize(scsi::LogicalUnit& lu, const std::string& where);

}  // namespace stgt::devices::sbc
