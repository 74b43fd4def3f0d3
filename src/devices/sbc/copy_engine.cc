#include "devices/sbc/copy_engine.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "reactor/reactor.h"
#include "scsi/logical_unit.h"

namespace stgt::devices::sbc {

// Zeros that need no buffer: a thin LU deallocates (LBPRZ), a fully provisioned one whose
// store can zero in place does so.
bool CopyJob::zeroes_without_data(const scsi::LogicalUnit& lu) const {
  return !zeros_need_data_ && (lu.thin() || lu.store()->supports_write_zeroes());
}

void CopyJob::start(reactor::Reactor* r, base::BufferPool* pool, std::vector<CopyExtent> extents,
                    Done done, SourceCheck check, Progress progress, const scsi::Command* issuer) {
  auto* job = new CopyJob(r, pool, std::move(extents), std::move(done), std::move(check),
                          std::move(progress), issuer);
  job->next_chunk();
}

CopyJob::CopyJob(reactor::Reactor* r, base::BufferPool* pool, std::vector<CopyExtent> extents,
                 Done done, SourceCheck check, Progress progress, const scsi::Command* issuer)
    : reactor_(r),
      pool_(pool),
      extents_(std::move(extents)),
      done_(std::move(done)),
      check_(std::move(check)),
      progress_(std::move(progress)),
      issuer_(issuer) {}

void CopyJob::prepare_io(scsi::LogicalUnit* lu) {
  io_.reset();
  io_.lu = lu;
  io_.reactor = reactor_;
  io_.pool = pool_;
  io_.owner = this;
  io_.transport_context = this;
}

void CopyJob::finish(scsi::SenseReason reason) {
  outcome_.reason = reason;
  buffer_.reset();  // back to the pool before the issuer may complete and be reused
  const Done done = std::move(done_);
  const CopyOutcome outcome = outcome_;
  delete this;
  done(outcome);
}

void CopyJob::next_chunk() {
  // SAM-5 5.6: an aborted task stops; the chunk that was in flight has completed by now.
  if (issuer_ != nullptr && issuer_->abort_requested) {
    outcome_.aborted = true;
    finish(scsi::SenseReason::kCopyAborted);
    return;
  }
  while (outcome_.extents_done < extents_.size() &&
         extent_blocks_done_ == extents_[outcome_.extents_done].blocks) {
    ++outcome_.extents_done;
    extent_blocks_done_ = 0;
  }
  if (outcome_.extents_done == extents_.size()) {
    finish(scsi::SenseReason::kNone);
    return;
  }
  const CopyExtent& e = extents_[outcome_.extents_done];
  const uint32_t bs = e.destination->block_size();
  const bool zeros = e.source == nullptr;
  const bool no_data = zeros && zeroes_without_data(*e.destination);
  chunk_blocks_ = std::min<uint64_t>(e.blocks - extent_blocks_done_,
                                     (no_data ? kDeallocateChunkBytes : kChunkBytes) / bs);
  const uint64_t bytes = chunk_blocks_ * bs;
  if (!no_data) {
    if (buffer_.empty() && (pool_ == nullptr || !buffer_.allocate(*pool_, kChunkBytes))) {
      outcome_.no_buffers = true;
      finish(scsi::SenseReason::kInternalTargetFailure);
      return;
    }
    iov_count_ = buffer_.iovecs(0, bytes, iov_);
  }
  prepare_io(e.destination.get());
  if (zeros) {
    if (!no_data && !buffer_zeroed_) {
      const size_t n = buffer_.iovecs(0, kChunkBytes, iov_);
      for (size_t i = 0; i < n; ++i)
        std::memset(iov_[i].iov_base, 0, iov_[i].iov_len);
      iov_count_ = buffer_.iovecs(0, bytes, iov_);
      buffer_zeroed_ = true;
    }
    read_done(io_, int64_t(bytes));  // nothing to read
    return;
  }
  buffer_zeroed_ = false;  // the read below overwrites it
  io_.lba = e.source_lba + extent_blocks_done_;
  io_.on_store_done = read_done;
  e.source->store()->read(reactor_, std::span<const iovec>(iov_.data(), iov_count_),
                          io_.lba * bs, &io_);
}

void CopyJob::read_done(scsi::Command& io, int64_t result) {
  auto* job = static_cast<CopyJob*>(io.transport_context);
  const CopyExtent& e = job->extents_[job->outcome_.extents_done];
  if (result < 0) {
    job->outcome_.failed_lba = io.lba;
    job->finish(scsi::SenseReason::kCopyReadError);
    return;
  }
  if (job->check_) {
    const scsi::SenseReason r = job->check_();
    if (r != scsi::SenseReason::kNone) {
      job->outcome_.failed_lba = io.lba;
      job->finish(r);
      return;
    }
  }
  io.lba = e.destination_lba + job->extent_blocks_done_;
  // Ordered against read-modify-write commands on the destination blocks, like a WRITE.
  e.destination->extents().acquire(io, scsi::ExtentLock::Mode::kShared, io.lba,
                                   job->chunk_blocks_, locked);
}

void CopyJob::locked(scsi::Command& io) {
  auto* job = static_cast<CopyJob*>(io.transport_context);
  scsi::LogicalUnit& dst = *io.lu;
  io.on_store_done = written;
  if (job->extents_[job->outcome_.extents_done].source == nullptr &&
      job->zeroes_without_data(dst)) {
    const uint64_t offset = io.lba * dst.block_size();
    const uint64_t length = job->chunk_blocks_ * dst.block_size();
    if (dst.thin()) {
      io.on_store_done = deallocated;
      dst.store()->unmap(job->reactor_, offset, length, &io);
    } else {
      dst.store()->write_zeroes(job->reactor_, offset, length, !dst.wce(), &io);
    }
    return;
  }
  // SBC-4 4.15: without a volatile write cache every write is durable on completion.
  dst.store()->write(job->reactor_, std::span<const iovec>(job->iov_.data(), job->iov_count_),
                     io.lba * dst.block_size(), !dst.wce(), &io);
}

// A deallocated chunk: without a volatile write cache it must be durable now, like a write
// (a crash must not bring the old data back), so the store flushes first.
void CopyJob::deallocated(scsi::Command& io, int64_t result) {
  if (result >= 0 && !io.lu->wce()) {
    io.on_store_done = written;
    io.lu->store()->flush(static_cast<CopyJob*>(io.transport_context)->reactor_, &io);
    return;
  }
  written(io, result);
}

void CopyJob::written(scsi::Command& io, int64_t result) {
  auto* job = static_cast<CopyJob*>(io.transport_context);
  job->write_failed_ = result < 0;
  if (result == -EOPNOTSUPP && !job->zeros_need_data_ &&
      job->extents_[job->outcome_.extents_done].source == nullptr) {
    // Nothing changed (the store contract): write this chunk's zeros, and the rest's.
    job->zeros_need_data_ = true;
    job->redo_chunk_ = true;
    job->write_failed_ = false;
  }
  io.complete_good();  // releases the extent hold; command_done() continues
}

// The chunk's command finished (its hold is released): account and go on, from the reactor's
// loop so that other work runs between chunks and the stack does not grow.
void CopyJob::command_done(scsi::Command& io) {
  if (redo_chunk_) {
    redo_chunk_ = false;
    if (reactor_ == nullptr) {
      next_chunk();
    } else {
      reactor_->post([this] { next_chunk(); });
    }
    return;
  }
  if (write_failed_) {
    outcome_.failed_lba = io.lba;
    finish(scsi::SenseReason::kCopyWriteError);
    return;
  }
  const uint64_t bytes = chunk_blocks_ * io.lu->block_size();
  outcome_.bytes_done += bytes;
  extent_blocks_done_ += chunk_blocks_;
  if (progress_) {
    CopyOutcome now = outcome_;
    if (extent_blocks_done_ == extents_[outcome_.extents_done].blocks) ++now.extents_done;
    progress_(now);
  }
  if (reactor_ == nullptr) {
    next_chunk();
    return;
  }
  reactor_->post([this] { next_chunk(); });
}

}  // namespace stgt::devices::sbc
