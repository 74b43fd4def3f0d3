#include "scsi/io_stats.h"

#include <algorithm>
#include <bit>
#include <chrono>

#include "reactor/reactor.h"
#include "scsi/command.h"
#include "scsi/it_nexus.h"
#include "scsi/logical_unit.h"

namespace stgt::scsi {

namespace {

constexpr std::array<IoClass, 256> make_classes() {
  std::array<IoClass, 256> c{};
  // SBC-4 opcodes that move medium data.
  for (const uint8_t op : {0x08, 0x28, 0xa8, 0x88})
    c[op] = IoClass::kRead;                         // READ 6/10/12/16
  for (const uint8_t op : {0x0a, 0x2a, 0xaa, 0x8a,  // WRITE 6/10/12/16
                           0x2e, 0xae, 0x8e,        // WRITE AND VERIFY 10/12/16
                           0x41, 0x93,              // WRITE SAME 10/16
                           0x89, 0x8b, 0x9c}) {     // COMPARE AND WRITE, ORWRITE, WRITE ATOMIC
    c[op] = IoClass::kWrite;
  }
  return c;
}
constexpr std::array<IoClass, 256> kClasses = make_classes();

// Relaxed load + store: the shard has one writer (its reactor), so no read-modify-write is
// needed and none is paid for; readers on other threads see whole values.
void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

unsigned shard_of(const Command& cmd) {
  return cmd.reactor != nullptr ? cmd.reactor->id() : 0;
}

}  // namespace

IoClass io_class(uint8_t opcode) {
  return kClasses[opcode];
}

size_t latency_bucket(uint64_t micros) {
  // Smallest i with micros < 2^i.
  const size_t i = micros == 0 ? 0 : size_t(std::bit_width(micros));
  return i < kLatencyBuckets - 1 ? i : kLatencyBuckets - 1;
}

uint64_t IoStats::latency_count() const {
  uint64_t n = 0;
  for (const uint64_t b : latency)
    n += b;
  return n;
}

IoStats& IoStats::operator+=(const IoStats& o) {
  read_commands += o.read_commands;
  write_commands += o.write_commands;
  other_commands += o.other_commands;
  read_bytes += o.read_bytes;
  written_bytes += o.written_bytes;
  check_conditions += o.check_conditions;
  aborts += o.aborts;
  latency_sum_us += o.latency_sum_us;
  for (size_t i = 0; i < kLatencyBuckets; ++i)
    latency[i] += o.latency[i];
  return *this;
}

void add_completion(IoStats& s, const Completion& c) {
  switch (c.io) {
    case IoClass::kRead:
      ++s.read_commands;
      s.read_bytes += c.bytes;
      break;
    case IoClass::kWrite:
      ++s.write_commands;
      s.written_bytes += c.bytes;
      break;
    case IoClass::kOther:
      ++s.other_commands;
      break;
  }
  if (c.check_condition) ++s.check_conditions;
  if (c.timed) {
    s.latency_sum_us += c.latency_us;
    ++s.latency[latency_bucket(c.latency_us)];
  }
}

LuStats::LuStats(unsigned shards)
    : shards_(shards == 0 ? 1 : shards), shards_data_(std::make_unique<Shard[]>(shards_)) {}

void LuStats::record(unsigned id, const Completion& c) {
  Shard& s = shard(id);
  switch (c.io) {
    case IoClass::kRead:
      bump(s.read_commands);
      if (c.bytes != 0) bump(s.read_bytes, c.bytes);
      break;
    case IoClass::kWrite:
      bump(s.write_commands);
      if (c.bytes != 0) bump(s.written_bytes, c.bytes);
      break;
    case IoClass::kOther:
      bump(s.other_commands);
      break;
  }
  if (c.check_condition) bump(s.check_conditions);
  if (c.timed) {
    bump(s.latency_sum_us, c.latency_us);
    bump(s.latency[latency_bucket(c.latency_us)]);
  }
}

void LuStats::count_abort(unsigned id) {
  bump(shard(id).aborts);
}

IoStats LuStats::total() const {
  IoStats t;
  constexpr auto r = std::memory_order_relaxed;
  for (unsigned i = 0; i < shards_; ++i) {
    const Shard& s = shards_data_[i];
    t.read_commands += s.read_commands.load(r);
    t.write_commands += s.write_commands.load(r);
    t.other_commands += s.other_commands.load(r);
    t.read_bytes += s.read_bytes.load(r);
    t.written_bytes += s.written_bytes.load(r);
    t.check_conditions += s.check_conditions.load(r);
    t.aborts += s.aborts.load(r);
    t.latency_sum_us += s.latency_sum_us.load(r);
    for (size_t b = 0; b < kLatencyBuckets; ++b)
      t.latency[b] += s.latency[b].load(r);
  }
  return t;
}

uint64_t stats_clock_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

uint64_t arrival_stamp_ns(const Command& cmd) {
  if (cmd.reactor != nullptr && cmd.reactor->loop_time_ns() != 0) {
    return cmd.reactor->loop_time_ns();
  }
  return stats_clock_ns();
}

void count_completion(const Command& cmd) {
  if (cmd.nexus == nullptr && cmd.lu == nullptr) return;
  Completion c;
  c.io = io_class(cmd.cdb[0]);
  const bool good = cmd.status == Status::kGood || cmd.status == Status::kConditionMet;
  if (good && c.io == IoClass::kRead) c.bytes = std::min(cmd.in_length, cmd.expected_in_length);
  if (good && c.io == IoClass::kWrite) c.bytes = std::min(cmd.out_length, cmd.expected_out_length);
  c.check_condition = cmd.status == Status::kCheckCondition;
  if (cmd.arrived_ns != 0) {
    c.timed = true;
    c.latency_us = (stats_clock_ns() - cmd.arrived_ns) / 1000;
  }
  if (cmd.nexus != nullptr) add_completion(cmd.nexus->stats(), c);
  if (cmd.lu != nullptr) cmd.lu->stats().record(shard_of(cmd), c);
}

void count_abort(const Command& cmd, LogicalUnit* lu) {
  if (cmd.nexus != nullptr) ++cmd.nexus->stats().aborts;
  if (lu != nullptr) lu->stats().count_abort(shard_of(cmd));
}

}  // namespace stgt::scsi
