#include "devices/sbc/sanitize_job.h"

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "devices/sbc/sanitize_record.h"
#include "reactor/reactor.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {

namespace {

// Every job alive, from any reactor: what drop_stopped() deletes at shutdown.
std::mutex g_jobs_mu;
std::unordered_set<SanitizeJob*>& live_jobs() {
  static std::unordered_set<SanitizeJob*> jobs;
  return jobs;
}

}  // namespace

uint16_t sanitize_progress(uint64_t done, uint64_t total) {
  return total == 0 ? 0 : uint16_t(std::min<uint64_t>(done * 65536 / total, 65535));
}

uint64_t sanitize_resume_bytes(const SanitizeRequest& request, uint64_t capacity_bytes) {
  return capacity_bytes * std::min(request.resume_pass, request.passes) +
         std::min(request.resume_offset, capacity_bytes);
}

size_t SanitizeJob::park_all(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(g_jobs_mu);
    for (SanitizeJob* job : live_jobs())
      job->park_requested_.store(true, std::memory_order_release);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t running = 0;
    {
      // A job deletes itself (finishing) under this lock, so the set never holds a dangling one.
      std::lock_guard lock(g_jobs_mu);
      for (SanitizeJob* job : live_jobs())
        running += job->parked_.load(std::memory_order_acquire) ? 0 : 1;
    }
    if (running == 0 || std::chrono::steady_clock::now() >= deadline) return running;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

size_t SanitizeJob::drop_stopped() {
  std::unordered_set<SanitizeJob*> jobs;
  {
    std::lock_guard lock(g_jobs_mu);
    jobs.swap(live_jobs());
  }
  for (SanitizeJob* job : jobs) {
    // Its command (if any) belongs to a session that is gone by now; no store call of it
    // completes any more.
    job->waiter_ = nullptr;
    delete job;
  }
  return jobs.size();
}

SanitizeJob::~SanitizeJob() {
  std::lock_guard lock(g_jobs_mu);
  live_jobs().erase(this);
}

void SanitizeJob::start(reactor::Reactor* r, base::BufferPool* pool,
                        std::shared_ptr<scsi::LogicalUnit> lu, SanitizeRequest request,
                        scsi::Command* waiter) {
  auto* job = new SanitizeJob(r, pool, std::move(lu), std::move(request), waiter);
  {
    std::lock_guard lock(g_jobs_mu);
    live_jobs().insert(job);
  }
  if (waiter != nullptr) {
    waiter->device_context = job;
    waiter->on_abort = detach;
  }
  scsi::LogicalUnit& l = *job->lu_;
  job->hold_.lu = &l;
  job->hold_.reactor = r;
  job->hold_.transport_context = job;
  // Writes admitted before the LU turned "sanitizing" finish first; later ones wait for the
  // whole job (the SAM gate refuses new ones meanwhile).
  l.extents().acquire(job->hold_, scsi::ExtentLock::Mode::kExclusive, 0,
                      std::max<uint64_t>(l.num_blocks(), 1), locked);
}

SanitizeJob::SanitizeJob(reactor::Reactor* r, base::BufferPool* pool,
                         std::shared_ptr<scsi::LogicalUnit> lu, SanitizeRequest request,
                         scsi::Command* waiter)
    : reactor_(r),
      pool_(pool),
      lu_(std::move(lu)),
      request_(std::move(request)),
      waiter_(waiter),
      capacity_bytes_(lu_->num_blocks() * lu_->block_size()),
      started_(std::chrono::steady_clock::now()) {
  unmapping_ = request_.kind == SanitizeRequest::Kind::kBlockErase && lu_->thin();
  if (request_.kind == SanitizeRequest::Kind::kBlockErase) {
    request_.pattern.assign(lu_->block_size(), 0);
    request_.passes = 1;
    request_.invert = false;
  }
  if (request_.kind == SanitizeRequest::Kind::kCryptoErase) {
    request_.pattern.clear();
    request_.passes = 1;
    request_.invert = false;
    request_.resume_pass = 0;
    request_.resume_offset = 0;
    return;
  }
  // A resumed operation: the checkpoint's pass and offset, within this LU as it is now (its
  // size or block length may have changed since; rewriting a few blocks twice is harmless).
  const uint64_t block = std::max<uint64_t>(lu_->block_size(), 1);
  pass_ = std::min(request_.resume_pass, request_.passes);
  offset_ = std::min(request_.resume_offset / block * block, capacity_bytes_);
  const uint64_t total = capacity_bytes_ * request_.passes;
  lu_->set_sanitize_progress(sanitize_progress(capacity_bytes_ * pass_ + offset_, total));
  if (!lu_->sanitize_record_path().empty()) {
    checkpoint_every_ =
        std::clamp(total / kCheckpointsPerOperation, kChunkBytes, kMaxCheckpointBytes);
  }
}

void SanitizeJob::detach(scsi::Command& waiter) {
  auto* job = static_cast<SanitizeJob*>(waiter.device_context);
  job->waiter_ = nullptr;
  waiter.device_context = nullptr;
  if (waiter.reactor == nullptr) {
    waiter.complete_status(scsi::Status::kTaskAborted);
    return;
  }
  // Not inline: the transport is in the middle of aborting this task.
  scsi::Command* w = &waiter;
  waiter.reactor->post([w] { w->complete_status(scsi::Status::kTaskAborted); });
}

void SanitizeJob::locked(scsi::Command& hold) {
  static_cast<SanitizeJob*>(hold.transport_context)->next_chunk();
}

void SanitizeJob::prepare_io() {
  io_.reset();
  io_.lu = lu_.get();
  io_.reactor = reactor_;
  io_.pool = pool_;
  io_.transport_context = this;
}

// Fills the chunk buffer with the pattern of the current pass (SBC-4 5.30.3: with INVERT
// the pattern is inverted between consecutive passes, so passes 2, 4, ... write the inverse).
bool SanitizeJob::fill_buffer() {
  const int want = request_.invert && (pass_ % 2) == 1 ? 1 : 0;
  if (filled_for_ == want) return true;
  if (buffer_.empty() && (pool_ == nullptr || !buffer_.allocate(*pool_, kChunkBytes))) {
    return false;
  }
  std::vector<uint8_t> block = request_.pattern;
  if (want == 1) {
    for (uint8_t& b : block)
      b = uint8_t(~b);
  }
  for (uint64_t at = 0; at < kChunkBytes; at += block.size())
    buffer_.copy_in(at, block.data(), std::min<uint64_t>(block.size(), kChunkBytes - at));
  filled_for_ = want;
  return true;
}

void SanitizeJob::next_chunk() {
  if (park_requested_.load(std::memory_order_acquire)) {
    park();
    return;
  }
  if (offset_ == capacity_bytes_) {
    offset_ = 0;
    ++pass_;
  }
  if (pass_ >= request_.passes || capacity_bytes_ == 0) {
    prepare_io();
    io_.on_store_done = flushed;
    lu_->store()->flush(reactor_, &io_);
    return;
  }
  prepare_io();
  if (request_.kind == SanitizeRequest::Kind::kCryptoErase) {
    io_.on_store_done = key_replaced;
    lu_->store()->crypto_erase(reactor_, &io_);
    return;
  }
  io_.on_store_done = chunk_done;
  if (unmapping_) {
    chunk_bytes_ = std::min(capacity_bytes_ - offset_, kUnmapChunkBytes);
    lu_->store()->unmap(reactor_, offset_, chunk_bytes_, &io_);
    return;
  }
  write_chunk();
}

void SanitizeJob::write_chunk() {
  // A block of up to 4 KiB divides 1 MiB, so every chunk holds whole blocks of the pattern.
  chunk_bytes_ = std::min(capacity_bytes_ - offset_, kChunkBytes);
  if (!fill_buffer()) {
    // The daemon's buffer budget is spent for the moment: try again shortly rather than
    // fail the sanitize (without a reactor, in unit tests, there is no later).
    if (reactor_ == nullptr) {
      finish(false);
      return;
    }
    reactor_->add_timer(kRetryAfter, false, [this] { next_chunk(); });
    return;
  }
  iov_count_ = buffer_.iovecs(0, chunk_bytes_, iov_);
  lu_->store()->write(reactor_, std::span<const iovec>(iov_.data(), iov_count_), offset_, false,
                      &io_);
}

void SanitizeJob::chunk_done(scsi::Command& io, int64_t result) {
  auto* job = static_cast<SanitizeJob*>(io.transport_context);
  if (job->unmapping_ && result == -EOPNOTSUPP) {
    // The store cannot deallocate after all: the blocks must still read back as zeros.
    job->unmapping_ = false;
    job->write_chunk();
    return;
  }
  if (result < 0) {
    job->finish(false);
    return;
  }
  if (!job->unmapping_) job->written_bytes_ += job->chunk_bytes_;
  job->offset_ += job->chunk_bytes_;
  const uint64_t total = job->capacity_bytes_ * job->request_.passes;
  const uint64_t done = job->capacity_bytes_ * job->pass_ + job->offset_;
  job->lu_->set_sanitize_progress(sanitize_progress(done, total));
  job->since_checkpoint_ += job->chunk_bytes_;
  if (job->checkpoint_every_ != 0 && job->since_checkpoint_ >= job->checkpoint_every_ &&
      done < total) {
    // Durable first: the record may only name bytes that a power loss cannot take back.
    job->since_checkpoint_ = 0;
    job->prepare_io();
    job->io_.on_store_done = checkpoint_flushed;
    job->lu_->store()->flush(job->reactor_, &job->io_);
    return;
  }
  job->schedule_next();
}

void SanitizeJob::checkpoint_flushed(scsi::Command& io, int64_t result) {
  auto* job = static_cast<SanitizeJob*>(io.transport_context);
  if (result < 0) {
    job->finish(false);
    return;
  }
  const bool pass_done = job->offset_ == job->capacity_bytes_;
  job->request_.resume_pass = uint8_t(job->pass_ + (pass_done ? 1 : 0));
  job->request_.resume_offset = pass_done ? 0 : job->offset_;
  // A record that cannot be rewritten keeps the previous checkpoint, which is still true
  // (logged by record_sanitize_running): a restart repeats more, nothing is skipped.
  (void)record_sanitize_running(*job->lu_, job->request_, job->lu_->sanitize_ause());
  job->schedule_next();
}

// Shutdown: writes since the last checkpoint are flushed and recorded first (the
// checkpoint's completion comes back here through schedule_next), so the next start resumes
// exactly where this one stopped; then nothing more is started.
void SanitizeJob::park() {
  if (checkpoint_every_ != 0 && since_checkpoint_ != 0) {
    since_checkpoint_ = 0;
    prepare_io();
    io_.on_store_done = checkpoint_flushed;
    lu_->store()->flush(reactor_, &io_);
    return;
  }
  parked_.store(true, std::memory_order_release);
}

// From the reactor's loop, so other work runs between chunks and the stack does not grow;
// after a timer when the writes are ahead of kWriteBytesPerSecond.
void SanitizeJob::schedule_next() {
  if (reactor_ == nullptr) {
    next_chunk();
    return;
  }
  using std::chrono::milliseconds;
  const auto due = started_ + milliseconds(written_bytes_ * 1000 / kWriteBytesPerSecond);
  const auto wait =
      std::chrono::duration_cast<milliseconds>(due - std::chrono::steady_clock::now());
  if (wait.count() >= 1) {
    reactor_->add_timer(wait, false, [this] { next_chunk(); });
    return;
  }
  reactor_->post([this] { next_chunk(); });
}

// The one step of a CRYPTOGRAPHIC ERASE; the flush follows (next_chunk() sees the pass done).
void SanitizeJob::key_replaced(scsi::Command& io, int64_t result) {
  auto* job = static_cast<SanitizeJob*>(io.transport_context);
  if (result < 0) {
    job->finish(false);
    return;
  }
  job->pass_ = 1;
  job->lu_->set_sanitize_progress(65535);
  job->schedule_next();
}

void SanitizeJob::flushed(scsi::Command& io, int64_t result) {
  static_cast<SanitizeJob*>(io.transport_context)->finish(result >= 0);
}

void SanitizeJob::finish(bool ok) {
  buffer_.reset();
  // The record changes before the state (sanitize_record.h): a success whose record cannot be
  // removed is reported as a failure, so the LU never takes writes that a restart would
  // sanitize again; a failure that cannot be recorded keeps the "running" record, and the
  // operation runs again at the next start.
  if (ok) {
    ok = clear_sanitize_record(*lu_);
  } else {
    (void)record_sanitize_failed(*lu_, lu_->sanitize_ause());
  }
  lu_->extents().release(hold_);
  lu_->end_sanitize(ok);
  scsi::Command* const waiter = waiter_;
  // The LU outlives the waiter's completion even if the control plane removed it meanwhile.
  const std::shared_ptr<scsi::LogicalUnit> lu = std::move(lu_);
  delete this;
  if (waiter == nullptr) return;
  waiter->on_abort = nullptr;
  waiter->device_context = nullptr;
  if (ok) {
    waiter->complete_good();
    return;
  }
  waiter->complete_sense(scsi::SenseReason::kSanitizeFailed);
}

}  // namespace stgt::devices::sbc
