// IoStats: what the SCSI layer counts about completed commands — commands by class (read,
// write, other), medium bytes moved, errors (CHECK CONDITION, task aborts) and a latency
// histogram with log2 buckets in microseconds.
//
// Where the counters live, and who may touch them:
//   - per I_T nexus (= per iSCSI session): an IoStats inside scsi::ItNexus, written and read
//     on the nexus's reactor only (plain increments; the control plane reads it by posting to
//     that reactor);
//   - per LU: LuStats, one cache-line-aligned shard per reactor. A reactor writes only its own
//     shard with relaxed load + store (no read-modify-write instruction, no contention);
//     any thread sums the shards on read (relaxed loads).
// Counting happens in one place, Command::finish (plus count_abort for task management), on
// the command's reactor; a command's latency runs from scsi::arrive (or submit, for a command
// that did not come through arrive) to its completion, before the response is sent.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace stgt::scsi {

class Command;
class LogicalUnit;

// Bucket i < kLatencyBuckets - 1 counts latencies below 2^i µs (and at least 2^(i-1) µs);
// the last one counts everything from 2^(kLatencyBuckets-2) µs (~16.8 s) up.
inline constexpr size_t kLatencyBuckets = 26;

enum class IoClass : uint8_t { kOther, kRead, kWrite };

// READ (6/10/12/16/32) are reads; WRITE, WRITE AND VERIFY, WRITE SAME, COMPARE AND WRITE,
// ORWRITE and WRITE ATOMIC are writes; everything else is "other".
IoClass io_class(uint8_t opcode);
size_t latency_bucket(uint64_t micros);
// Upper bound of bucket i in µs (2^i); the last bucket has none (+Inf).
constexpr uint64_t latency_bucket_bound_us(size_t i) {
  return uint64_t{1} << i;
}

struct IoStats {
  uint64_t read_commands = 0;
  uint64_t write_commands = 0;
  uint64_t other_commands = 0;
  uint64_t read_bytes = 0;     // data-in of read commands that completed GOOD
  uint64_t written_bytes = 0;  // data-out of write commands that completed GOOD
  uint64_t check_conditions = 0;
  uint64_t aborts = 0;  // commands aborted by task management
  uint64_t latency_sum_us = 0;
  std::array<uint64_t, kLatencyBuckets> latency{};

  uint64_t commands() const { return read_commands + write_commands + other_commands; }
  uint64_t latency_count() const;
  IoStats& operator+=(const IoStats& o);
};

// One completed command, already classified (what Command::finish hands over).
struct Completion {
  IoClass io = IoClass::kOther;
  uint64_t bytes = 0;
  bool check_condition = false;
  bool timed = false;
  uint64_t latency_us = 0;
};

void add_completion(IoStats& s, const Completion& c);

// Per-LU statistics: a shard per reactor, summed on read.
class LuStats {
 public:
  explicit LuStats(unsigned shards);
  // On the reactor whose id is `shard`. LUs are built with one shard per reactor; an id past
  // the count wraps (two reactors sharing a shard could then lose increments, never crash).
  void record(unsigned shard, const Completion& c);
  void count_abort(unsigned shard);
  // Any thread: the sum of every shard (each field is a consistent-enough snapshot: counters
  // only grow).
  IoStats total() const;
  unsigned shards() const { return shards_; }

 private:
  struct alignas(64) Shard {
    std::atomic<uint64_t> read_commands{0}, write_commands{0}, other_commands{0};
    std::atomic<uint64_t> read_bytes{0}, written_bytes{0};
    std::atomic<uint64_t> check_conditions{0}, aborts{0}, latency_sum_us{0};
    std::array<std::atomic<uint64_t>, kLatencyBuckets> latency{};
  };
  // One compare per command; the division only for an id past the count (not in stgtd).
  Shard& shard(unsigned id) { return shards_data_[id < shards_ ? id : id % shards_]; }

  unsigned shards_;
  std::unique_ptr<Shard[]> shards_data_;
};

// The counting hooks: each on the command's reactor.
void count_completion(const Command& cmd);
void count_abort(const Command& cmd, LogicalUnit* lu);

// Monotonic clock in nanoseconds (steady_clock; a command's completion stamp).
uint64_t stats_clock_ns();
// A command's arrival stamp: its reactor's loop time (the moment the reactor woke up for the
// batch that brought the command; no clock read per command), or the clock off a reactor.
uint64_t arrival_stamp_ns(const Command& cmd);

}  // namespace stgt::scsi
