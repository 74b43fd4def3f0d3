// CopyResults: what the copy manager remembers of EXTENDED COPY (LID1) commands for RECEIVE
// COPY RESULTS (SPC-4 6.18), and of POPULATE TOKEN / WRITE USING TOKEN for RECEIVE ROD TOKEN
// INFORMATION (SPC-4 6.18.7): per I_T nexus, copy manager LU and list identifier (LID1's
// 8-bit and the token commands' 32-bit ones are separate name spaces), whether the copy is
// in progress, how far it got, how it ended, and the ROD token a POPULATE TOKEN made.
//
// Threads: one table for the daemon (copy_results()), used by commands on any reactor; a small
// mutex guards it (rare commands, never the READ/WRITE path). Bounded: at most kMaxEntries
// records; the oldest finished one is dropped to make room (copies in progress are never
// dropped, and at most kMaxInProgress run at once per daemon).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "scsi/sense.h"

namespace stgt::devices::sbc {

struct CopyRecord {
  uint64_t nexus = 0;  // ItNexus::id()
  uint64_t lu = 0;     // the copy manager LU's NAA designator
  uint32_t list_id = 0;
  bool lid4 = false;   // a token command's record (32-bit list identifier)
  uint8_t action = 0;  // the THIRD-PARTY COPY OUT service action that made it
  bool in_progress = true;
  bool failed = false;
  bool aborted = false;  // failed because task management aborted the copy command
  uint16_t segments_processed = 0;
  uint64_t bytes_done = 0;
  std::array<uint8_t, scsi::kMaxSenseLength> sense{};  // of a failed copy
  uint8_t sense_length = 0;
  uint64_t transfer_blocks = 0;     // token commands: blocks represented or written
  bool partial = false;             // WRITE USING TOKEN: the ROD ended before the ranges
  std::array<uint8_t, 512> token{};  // POPULATE TOKEN: the token made
  bool has_token = false;
};

class CopyResults {
 public:
  static constexpr size_t kMaxEntries = 1024;
  static constexpr uint16_t kMaxInProgress = 64;

  // A copy starts. False when this nexus already has a copy with this list identifier in
  // progress on this LU (OPERATION IN PROGRESS) or too many copies run.
  enum class Begin : uint8_t { kStarted, kListIdInUse, kTooMany };
  Begin begin(uint64_t nexus, uint64_t lu, uint32_t list_id, bool lid4 = false);
  // How far a copy in progress has got.
  void progress(const CopyRecord& key, uint16_t segments, uint64_t bytes);
  // A copy ended. `hold`: keep the result for RECEIVE COPY RESULTS (LIST ID USAGE 00b),
  // otherwise forget it.
  void end(const CopyRecord& result, bool hold);
  // The record of a list identifier, if any; `discard` forgets a finished one afterwards.
  std::optional<CopyRecord> find(uint64_t nexus, uint64_t lu, uint32_t list_id, bool lid4,
                                 bool discard);
  // Copies that do not use a list identifier (LIST ID USAGE 11b) still count against the limit.
  bool begin_anonymous();
  void end_anonymous();

 private:
  std::deque<CopyRecord>::iterator lookup(uint64_t nexus, uint64_t lu, uint32_t list_id,
                                          bool lid4);

  std::mutex mu_;
  std::deque<CopyRecord> records_;
  uint16_t running_ = 0;
};

// The daemon's one table.
CopyResults& copy_results();

}  // namespace stgt::devices::sbc
