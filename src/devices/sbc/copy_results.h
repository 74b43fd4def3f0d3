// CopyResults: what the copy manager remembers of EXTENDED COPY (LID1) commands for RECEIVE
// COPY RESULTS (SPC-4 6.18): per I_T nexus, copy manager LU and list identifier, whether the
// copy is in progress, how far it got, and how it ended.
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
  uint8_t list_id = 0;
  bool in_progress = true;
  bool failed = false;
  uint16_t segments_processed = 0;
  uint64_t bytes_done = 0;
  std::array<uint8_t, scsi::kMaxSenseLength> sense{};  // of a failed copy
  uint8_t sense_length = 0;
};

class CopyResults {
 public:
  static constexpr size_t kMaxEntries = 1024;
  static constexpr uint16_t kMaxInProgress = 64;

  // A copy starts. False when this nexus already has a copy with this list identifier in
  // progress on this LU (OPERATION IN PROGRESS) or too many copies run.
  enum class Begin : uint8_t { kStarted, kListIdInUse, kTooMany };
  Begin begin(uint64_t nexus, uint64_t lu, uint8_t list_id);
  // Progress of a copy in progress.
  void progress(uint64_t nexus, uint64_t lu, uint8_t list_id, uint16_t segments, uint64_t bytes);
  // A copy ended. `hold`: keep the result for RECEIVE COPY RESULTS (LIST ID USAGE 00b),
  // otherwise forget it.
  void end(const CopyRecord& result, bool hold);
  // The record of a list identifier, if any; `discard` forgets a finished one afterwards.
  std::optional<CopyRecord> find(uint64_t nexus, uint64_t lu, uint8_t list_id, bool discard);
  // Copies that do not use a list identifier (LIST ID USAGE 11b) still count against the limit.
  bool begin_anonymous();
  void end_anonymous();

 private:
  CopyRecord* lookup(uint64_t nexus, uint64_t lu, uint8_t list_id);

  std::mutex mu_;
  std::deque<CopyRecord> records_;
  uint16_t running_ = 0;
};

// The daemon's one table.
CopyResults& copy_results();

}  // namespace stgt::devices::sbc
