// Command: one SCSI command from its arrival at a transport to its completion.
//
// Life cycle and ownership:
//   1. The transport takes a Command from its own pool, fills the "request" fields, and
//      for WRITE-type commands gathers all data-out into `data` first (the mid-layer sees
//      complete commands only).
//   2. It calls ScsiLayer::submit(cmd) (scsi/scsi_layer.h) on its reactor. From then on
//      the mid-layer owns the command: it runs the SAM gate and the device handler.
//   3. Exactly once, the mid-layer fills the "result" fields and calls
//      cmd.owner->command_done(cmd), on the same reactor, possibly inline inside submit().
//      The transport then sends data-in/status and returns the command to its pool.
// No field is touched by two threads: the whole life runs on the submitting reactor.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "backing/backing_store.h"
#include "base/buffer_pool.h"
#include "scsi/extent_lock.h"
#include "scsi/sense.h"

namespace stgt::reactor {
class Reactor;
}

namespace stgt::scsi {

class Command;
class ItNexus;
class LogicalUnit;
class TaskSet;

enum class DataDirection : uint8_t { kNone, kIn, kOut, kBidirectional };  // In: to initiator

enum class TaskAttribute : uint8_t { kSimple, kOrdered, kHeadOfQueue, kAca };

// Where a command stands in its task set (scsi/task_set.h; SAM-5 8.6).
enum class TaskState : uint8_t {
  kOutside,  // not in a task set (not arrived yet, unmapped LUN, or left it)
  kDormant,  // waits for an older ORDERED / HEAD OF QUEUE command
  kEnabled,  // may run once its data-out is in
  kQueued,   // enabled and data-ready, about to start
  kStarted,  // handed to the SAM gate and the device; may touch the medium
};

enum class Status : uint8_t {
  kGood = 0x00,
  kCheckCondition = 0x02,
  kConditionMet = 0x04,
  kBusy = 0x08,
  kReservationConflict = 0x18,
  kTaskSetFull = 0x28,
  kAcaActive = 0x30,
  kTaskAborted = 0x40,
};

// Implemented by the transport (one per connection or session).
class CommandOwner {
 public:
  virtual void command_done(Command& cmd) = 0;

 protected:
  ~CommandOwner() = default;
};

class Command final : public backing::StoreCompletion {
 public:
  static constexpr size_t kMaxCdb = 32;

  // ---- request: set by the transport ----
  std::array<uint8_t, kMaxCdb> cdb{};
  uint8_t cdb_length = 0;
  uint64_t lun = 0;  // the 8-byte LUN field as on the wire (SAM-5 4.7)
  uint64_t tag = 0;  // transport's task tag (ITT for iSCSI)
  TaskAttribute attribute = TaskAttribute::kSimple;
  // Expected data transfer lengths from the initiator (iSCSI EDTL / bidi read length).
  uint32_t expected_in_length = 0;
  uint32_t expected_out_length = 0;
  // Data-out (complete, expected_out_length bytes) on submit; data-in on completion.
  base::BufferChain data;
  ItNexus* nexus = nullptr;
  CommandOwner* owner = nullptr;
  reactor::Reactor* reactor = nullptr;  // the submitting reactor (null in unit tests)
  base::BufferPool* pool = nullptr;     // where data buffers come from (the reactor's)
  void* transport_context = nullptr;    // the transport's own per-command state

  // ---- result: set by the mid-layer before command_done ----
  Status status = Status::kGood;
  // Bytes the command means to transfer to the initiator (before truncation to
  // expected_in_length); data.size() >= min(in_length, expected_in_length).
  // The transport derives the residual from this and expected_in_length.
  uint32_t in_length = 0;
  // Bytes of data-out the command consumed according to its CDB (for residuals).
  uint32_t out_length = 0;
  std::array<uint8_t, kMaxSenseLength> sense{};
  uint8_t sense_length = 0;

  // ---- mid-layer and device working state ----
  LogicalUnit* lu = nullptr;
  bool read_only_view = false;  // the initiator's LUN map shows this LU write-protected
  uint64_t lba = 0;
  uint32_t blocks = 0;
  uint8_t step = 0;  // device state machine position for multi-step commands
  bool fua = false;
  // Task management aborted this command after it had started (set by the transport, on the
  // command's reactor). The transport waits for it to complete and drops its result; a
  // long-running command (the copy engine, devices/sbc/copy_engine.h) checks this between
  // steps, stops issuing I/O and completes early so the TMF response is not held up.
  bool abort_requested = false;
  // Continuation run by store_done(); devices set it before each store call.
  void (*on_store_done)(Command& cmd, int64_t result) = nullptr;
  // Set by a device whose started command may be ended early by task management while the
  // work it started goes on without it (SANITIZE without IMMED: the operation belongs to
  // the LU, SBC-4 4.11). scsi::abort_started() calls it once, on the command's reactor;
  // it must complete the command later (posted), never inline.
  void (*on_abort)(Command& cmd) = nullptr;
  // Device state that outlives the handler call and that on_abort needs (the sanitize job
  // a waiting SANITIZE belongs to).
  void* device_context = nullptr;
  // Device scratch buffer that must outlive a store call (e.g. the medium copy VERIFY
  // compares against, whose iovecs the store may keep until completion).
  base::BufferChain aux;
  // The command's hold on an LBA range of its LU (scsi/extent_lock.h); released by finish().
  ExtentHold extent;
  // Counted in its LU's task set and its nexus's outstanding commands (the SAM gate's
  // capacity check); finish() takes it out again.
  bool in_task_set = false;

  // ---- task set (scsi/task_set.h): intrusive links, on the nexus's reactor ----
  TaskSet* task_set = nullptr;
  Command* ts_older = nullptr;
  Command* ts_newer = nullptr;
  Command* ts_ready_next = nullptr;
  TaskState task_state = TaskState::kOutside;
  bool data_ready = false;  // all data-out is in (scsi::data_ready)
  bool unmapped_waiting = false;  // arrived for a LUN without an LU, its data not yet in
  // When the command arrived (scsi::arrival_stamp_ns, 0: not yet); its latency is counted
  // from here by Command::finish (scsi/io_stats.h).
  uint64_t arrived_ns = 0;

  // Allocates data-in for a response that wants `length` bytes: records in_length and
  // gets min(length, expected_in_length) bytes from `pool`. False if out of
  // memory (the caller then fails the command).
  bool allocate_in(uint32_t length);

  // Completion helpers: each finishes the command and calls owner->command_done().
  void complete_good();
  // GOOD with parameter data: sends min(bytes.size(), allocation_length) bytes (SPC-5 4.2.5.6:
  // truncation to the allocation length is not an error, so in_length is the truncated
  // length and no overflow residual is reported). Fails with TASK SET FULL when
  // out of buffers.
  void complete_data(std::span<const uint8_t> bytes, uint32_t allocation_length);
  void complete_status(Status s);
  void complete_sense(SenseReason reason, const SenseDetail& detail = {});
  void complete_sense(SenseCode code, const SenseDetail& detail);
  // Data buffers could not be had (the daemon's memory budget is spent): TASK SET FULL
  // (SAM-5 5.3.1), so the initiator retries later instead of failing the I/O.
  void fail_no_buffers() { complete_status(Status::kTaskSetFull); }
  // Convenience: INVALID FIELD IN CDB with a field pointer at CDB byte (and bit).
  void fail_cdb_field(uint16_t byte, int bit = -1);

  void store_done(int64_t result) override { on_store_done(*this, result); }

  // Resets every field for reuse from the transport's pool (keeps nothing).
  void reset();

  bool completed() const { return completed_; }
  // Writes refused with DATA PROTECT: the LU is read-only or software write-protected, or
  // this initiator's LUN map shows it read-only.
  bool write_protected() const;

 private:
  void finish();
  bool completed_ = false;
};

}  // namespace stgt::scsi
