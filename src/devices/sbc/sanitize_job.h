// SanitizeJob: the sanitize operation of one disk LU (SBC-4 4.11, 5.30 SANITIZE). It belongs
// to the LU, not to the command that started it: ABORT TASK, LOGICAL UNIT RESET, target
// resets and I_T nexus loss end the command (scsi::abort_started) but not the job, which runs
// to its end and leaves the LU idle (success) or in sanitize failure mode.
//
// What it does: first an exclusive extent hold over the whole LU (scsi/extent_lock.h), so
// every write admitted before the LU turned "sanitizing" has completed and none can land
// during the job (it also revokes the LU's ROD tokens); then, one chunk at a time through the
// store's asynchronous interface, OVERWRITE passes of the pattern (inverted on every second
// pass with INVERT) or a BLOCK ERASE (unmap on a thin LU, falling back to zeros if the store
// cannot deallocate; zeros on a fully provisioned one) or a CRYPTOGRAPHIC ERASE (one
// BackingStore::crypto_erase(): a new media key, durable before the store uses it); then a
// store flush, so that nothing of the old data is left in a volatile cache when the job
// reports success.
//
// Pacing: writes are held to kWriteBytesPerSecond on average (a timer before the next
// chunk once ahead), so a whole-LU overwrite never monopolises the store or the reactor for
// the other LUs it serves. Between two chunks the reactor runs everything else.
//
// Threads and ownership: a job runs entirely on the reactor it was started on (the SANITIZE
// command's), takes its one chunk buffer from that reactor's pool, holds its LU by shared_ptr
// and owns itself: when done it updates the LU's sanitize state, completes the waiting
// command (SANITIZE without IMMED, unless task management let it go) and deletes itself.
// With a null reactor (unit tests) everything runs inline.
//
// Daemon shutdown: park_all() asks every running job to stop at its next chunk boundary;
// a job that has written past its last checkpoint flushes and records where it stopped
// first, then parks (no store call of it in flight, none to come). Once the reactors have
// stopped, drop_stopped() deletes the parked jobs; their durable records
// (sanitize_record.h) stay, so each operation resumes where it stopped when the LU is next
// opened.
//
// Checkpoints: every checkpoint_every_ bytes the job flushes the store and only then rewrites
// the record with the pass and offset reached, so a restart resumes there (never past a
// byte that might not be durable) instead of at the beginning. Ending, the job removes the
// record (success) or records failure mode before it changes the LU's state. Each record
// write is a few blocking fsyncs on the reactor, at most kCheckpointsPerOperation + 2 per
// sanitize.
#pragma once

#include <sys/uio.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/buffer_pool.h"
#include "scsi/command.h"

namespace stgt::scsi {
class LogicalUnit;
}

namespace stgt::devices::sbc {

struct SanitizeRequest {
  enum class Kind : uint8_t {
    kOverwrite,    // `passes` passes of `pattern`
    kBlockErase,   // unmap (thin LU) or zeros
    kCryptoErase,  // the store replaces its media encryption key
  };
  Kind kind = Kind::kOverwrite;
  // Overwrite: one logical block of the initialization pattern (repeated to the block
  // length by the caller).
  std::vector<uint8_t> pattern;
  bool invert = false;  // odd passes write the bitwise inverse
  uint8_t passes = 1;   // OVERWRITE COUNT, 1..31
  // Where an interrupted operation picks up (its last durable checkpoint, from the sanitize
  // record): every byte before `resume_offset` of pass `resume_pass`, and every earlier pass,
  // is done and flushed. 0, 0 for a new operation. Not used by CRYPTOGRAPHIC ERASE.
  uint8_t resume_pass = 0;
  uint64_t resume_offset = 0;
};

// SPC-5 4.4.2.4.4: the PROGRESS INDICATION of `done` bytes out of `total`, in 65536ths.
uint16_t sanitize_progress(uint64_t done, uint64_t total);
// How far a (resumed) request is, in bytes of capacity_bytes * passes.
uint64_t sanitize_resume_bytes(const SanitizeRequest& request, uint64_t capacity_bytes);

class SanitizeJob final {
 public:
  static constexpr uint64_t kChunkBytes = base::BufferPool::kMaxBuffer;
  // One store call deallocates at most this much (a file store punches holes inline).
  static constexpr uint64_t kUnmapChunkBytes = uint64_t{64} << 20;
  static constexpr uint64_t kWriteBytesPerSecond = uint64_t{128} << 20;
  // Progress checkpoints (store flush, then the record rewritten with the resume point):
  // about kCheckpointsPerOperation per operation, at least a chunk and at most
  // kMaxCheckpointBytes (8 s at the write pace) apart, so a restart repeats little of a
  // long sanitize and a short one costs a few dozen extra flushes.
  static constexpr uint64_t kCheckpointsPerOperation = 64;
  static constexpr uint64_t kMaxCheckpointBytes = uint64_t{1} << 30;
  // When no chunk buffer can be had (memory budget spent), the next try comes this much later.
  static constexpr std::chrono::milliseconds kRetryAfter{10};

  // Starts the job on `r` for `lu`, which the caller has already put into the running state
  // (LogicalUnit::begin_sanitize). `waiter`, if not null, is the SANITIZE command without
  // IMMED: it completes when the job ends (GOOD, or MEDIUM ERROR, SANITIZE COMMAND FAILED),
  // or earlier through its on_abort hook, which this sets. May finish inline (null reactor).
  static void start(reactor::Reactor* r, base::BufferPool* pool,
                    std::shared_ptr<scsi::LogicalUnit> lu, SanitizeRequest request,
                    scsi::Command* waiter);

  // Command::on_abort of the waiting SANITIZE: the job forgets the command, which completes
  // with TASK ABORTED from the reactor's loop (inline with a null reactor); the job goes on.
  static void detach(scsi::Command& waiter);

  // Daemon shutdown, while the reactors still run: asks every job to park at its next chunk
  // boundary (after a checkpoint of where it is) and waits up to `timeout` for all of them
  // to. Returns how many jobs did not park in time (a store call of theirs is still in
  // flight); 0 when all did or there were none. Any thread.
  static size_t park_all(std::chrono::milliseconds timeout);

  // Daemon shutdown, once every reactor thread has stopped (ReactorGroup::stop) and before
  // the reactors and their pools are destroyed: deletes the jobs still there (parked, or
  // not parked in time), without touching their durable records (the operation resumes at
  // its last checkpoint at the next open). Returns how many there were.
  static size_t drop_stopped();

 private:
  SanitizeJob(reactor::Reactor* r, base::BufferPool* pool, std::shared_ptr<scsi::LogicalUnit> lu,
              SanitizeRequest request, scsi::Command* waiter);
  ~SanitizeJob();
  static void locked(scsi::Command& hold);
  static void chunk_done(scsi::Command& io, int64_t result);
  static void flushed(scsi::Command& io, int64_t result);
  static void key_replaced(scsi::Command& io, int64_t result);
  static void checkpoint_flushed(scsi::Command& io, int64_t result);
  void next_chunk();
  void schedule_next();
  bool fill_buffer();
  void write_chunk();
  void finish(bool ok);
  void prepare_io();
  void park();

  reactor::Reactor* reactor_;
  base::BufferPool* pool_;
  std::shared_ptr<scsi::LogicalUnit> lu_;
  SanitizeRequest request_;
  scsi::Command* waiter_;
  uint64_t capacity_bytes_ = 0;
  uint8_t pass_ = 0;
  uint64_t offset_ = 0;  // within the current pass
  uint64_t chunk_bytes_ = 0;
  bool unmapping_ = false;  // block erase through store unmap
  int filled_for_ = -1;     // which pattern the buffer holds: 0 plain, 1 inverted
  uint64_t written_bytes_ = 0;
  uint64_t checkpoint_every_ = 0;  // 0: no checkpoints (no record, or a crypto erase)
  uint64_t since_checkpoint_ = 0;
  std::chrono::steady_clock::time_point started_;
  base::BufferChain buffer_;
  std::array<iovec, base::BufferChain::kMaxSegments> iov_{};
  size_t iov_count_ = 0;
  scsi::Command hold_;  // the exclusive extent hold over the whole LU
  scsi::Command io_;    // carries store completions
  // Shutdown (park_all): asked from any thread, seen at the next chunk boundary; parked_
  // once the job has nothing in flight and will start nothing more.
  std::atomic<bool> park_requested_{false};
  std::atomic<bool> parked_{false};
};

}  // namespace stgt::devices::sbc
