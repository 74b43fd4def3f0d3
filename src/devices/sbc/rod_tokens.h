// RodTokens: the daemon's table of ROD tokens made by POPULATE TOKEN (SBC-4 5.11) for WRITE
// USING TOKEN (SBC-4 5.53) on any LU of the daemon (Windows ODX).
//
// A token is 512 bytes (SPC-5 5.17.6.2): ROD type "point in time copy - default", our random
// 64-bit identifier, the creator LU's identification descriptor, the number of bytes it
// represents, and 32 random bytes. Both come from OpenSSL's RAND_bytes; a token is honoured
// only when all its 512 bytes equal the ones recorded (constant-time compare), so it cannot
// be forged or guessed. A token dies when
//   - its inactivity timeout passes without use (checked when it is used or the table is full),
//   - a write is admitted to any of its source ranges (scsi/rod_watch.h),
//   - its source LU is gone, or the table needs room (least recently used first).
//
// Threads: one table (rod_tokens()), used from any reactor under a mutex (rare commands).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "scsi/rod_watch.h"
#include "scsi/sense.h"

namespace stgt::scsi {
class LogicalUnit;
}

namespace stgt::devices::sbc {

inline constexpr size_t kRodTokenLength = 512;
inline constexpr uint32_t kRodTypePointInTime = 0x00800000;  // SPC-5 table 123
// SBC-4 4.3.x: the block device zero ROD token, a well-known token any initiator may build
// (no table entry): it stands for zeros, as many as WRITE USING TOKEN asks for (Windows
// offloads zeroing with it). Only its ROD TYPE and ROD TOKEN LENGTH mean anything.
inline constexpr uint32_t kRodTypeBlockDeviceZero = 0xFFFF0001;
inline constexpr uint32_t kDefaultInactivitySeconds = 60;
inline constexpr uint32_t kMaxInactivitySeconds = 3600;
// Block device ROD token limits (SBC-4 6.6.x, VPD 8Fh): range descriptors per command, the
// most blocks one token or one WRITE USING TOKEN may cover, and the size to prefer.
inline constexpr uint16_t kMaxRangeDescriptors = 64;
inline constexpr uint64_t kMaxTokenTransferBlocks = uint64_t{1} << 22;
inline constexpr uint64_t kOptimalTokenTransferBlocks = uint64_t{1} << 16;

using RodToken = std::array<uint8_t, kRodTokenLength>;

// The blocks a token stands for, in order (the concatenation is the ROD).
struct RodExtent {
  uint64_t lba = 0;
  uint64_t blocks = 0;
};

class RodTokens {
 public:
  static constexpr size_t kMaxTokens = 1024;
  using Clock = std::chrono::steady_clock;

  // A new token for `extents` of `source` (already checked against its capacity), revoked by
  // any write admitted to those ranges from now on. Nullopt if no random bytes could be had.
  std::optional<RodToken> create(const std::shared_ptr<scsi::LogicalUnit>& source,
                  std::vector<RodExtent> extents, uint32_t inactivity_seconds);

  struct Use {
    std::shared_ptr<scsi::LogicalUnit> source;
    std::vector<RodExtent> extents;
    std::shared_ptr<scsi::RodWatch::Entry> watch;  // revoked() while the copy runs
  };
  // The token's data if it is live, else why not (TOKEN UNKNOWN, CORRUPT, EXPIRED,
  // REVOKED ...). Using it restarts its inactivity timer.
  struct Lookup {
    scsi::SenseReason reason = scsi::SenseReason::kNone;
    Use use;
  };
  Lookup find(std::span<const uint8_t> token);
  // Forgets a token (WRITE USING TOKEN with DEL_TKN); unknown tokens are ignored.
  void erase(std::span<const uint8_t> token);
  size_t size();

  // For tests: the clock the table reads.
  void set_clock(Clock::time_point (*now)()) { now_ = now; }

 private:
  struct Record {
    RodToken token{};
    std::weak_ptr<scsi::LogicalUnit> source;
    std::vector<RodExtent> extents;
    std::shared_ptr<scsi::RodWatch::Entry> watch;
    Clock::time_point last_use;
    std::chrono::seconds timeout{};
  };
  void drop(size_t index);  // under mu_
  void make_room();         // under mu_

  std::mutex mu_;
  std::vector<Record> records_;
  Clock::time_point (*now_)() = &Clock::now;
};

RodTokens& rod_tokens();

}  // namespace stgt::devices::sbc
