// CopyJob: the data mover of the copy manager (EXTENDED COPY, WRITE USING TOKEN). It copies a
// list of block extents between logical units of the daemon through their stores' asynchronous
// interface, one chunk (at most 1 MiB) at a time: read the source chunk, take a shared extent
// hold on the destination blocks (scsi/extent_lock.h, so a COMPARE AND WRITE or WRITE ATOMIC
// of those blocks never interleaves with the copy), write, release, and post the next chunk to
// the reactor, so the copy never holds the reactor for more than one store completion and
// other commands' I/O runs between its chunks.
//
// Threads and ownership: a job runs entirely on the reactor it was started on (the issuing
// command's), takes its one chunk buffer from that reactor's pool, and owns itself: it calls
// `done` exactly once, on that reactor, and then deletes itself. The LUs are held by
// shared_ptr for the job's life, so a LU removed by the control plane meanwhile stays valid
// (its store is written, then freed with it). With a null reactor (unit tests) everything runs
// inline.
//
// Aborts: when task management aborts the issuing command (`issuer`, its abort_requested
// set by the transport on this same reactor), the job notices before its next chunk, issues
// no more I/O, and ends with `aborted` set (reason kCopyAborted) once the chunk in flight
// has completed, so the TMF response waits for at most one chunk, not the whole copy.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "base/buffer_pool.h"
#include "scsi/command.h"
#include "scsi/sense.h"

namespace stgt::scsi {
class LogicalUnit;
}

namespace stgt::devices::sbc {

// `blocks` blocks from source_lba of `source` to destination_lba of `destination`; both LUs
// have the same block size and the ranges were checked against both capacities. A null
// `source` stands for zeros (WRITE USING TOKEN with the block device zero ROD token): a thin
// destination deallocates the blocks (they read back as zeros, LBPRZ), a fully provisioned
// one is zeroed by its store (BackingStore::write_zeroes) or written with zeros; nothing is
// read.
struct CopyExtent {
  std::shared_ptr<scsi::LogicalUnit> source;
  std::shared_ptr<scsi::LogicalUnit> destination;
  uint64_t source_lba = 0;
  uint64_t destination_lba = 0;
  uint64_t blocks = 0;
};

struct CopyOutcome {
  scsi::SenseReason reason = scsi::SenseReason::kNone;  // kNone: every extent was copied
  size_t extents_done = 0;   // extents copied completely
  uint64_t bytes_done = 0;   // bytes written to destinations
  uint64_t failed_lba = 0;   // when failed: the first LBA of the chunk that failed
  // Failed before anything was read: no chunk buffer could be had (memory budget spent), so
  // the issuer may answer TASK SET FULL and let the initiator retry.
  bool no_buffers = false;
  // Stopped because task management aborted the issuing command (SAM-5 5.6): nothing was
  // written after the last chunk counted in bytes_done.
  bool aborted = false;
};

class CopyJob final : public scsi::CommandOwner {
 public:
  using Done = std::function<void(const CopyOutcome&)>;
  // Called after each source chunk is read; anything but kNone aborts the copy with that
  // reason before the chunk is written (WRITE USING TOKEN: the token was revoked).
  using SourceCheck = std::function<scsi::SenseReason()>;
  // Called after each chunk is written (for RECEIVE COPY RESULTS while the copy runs).
  using Progress = std::function<void(const CopyOutcome&)>;

  static constexpr uint64_t kChunkBytes = base::BufferPool::kMaxBuffer;
  // A chunk of zeros that needs no buffer (deallocated, or zeroed by the store): larger
  // steps, as SANITIZE's.
  static constexpr uint64_t kDeallocateChunkBytes = uint64_t{64} << 20;

  // Starts copying on `r` with buffers from `pool`. `done` runs exactly once (possibly
  // inline when every store completes inline and r is null). `issuer`: the command the copy
  // runs for, watched for an abort (it outlives the job: it completes from `done`).
  static void start(reactor::Reactor* r, base::BufferPool* pool, std::vector<CopyExtent> extents,
                    Done done, SourceCheck check = {}, Progress progress = {},
                    const scsi::Command* issuer = nullptr);

  void command_done(scsi::Command& io) override;

 private:
  CopyJob(reactor::Reactor* r, base::BufferPool* pool, std::vector<CopyExtent> extents, Done done,
          SourceCheck check, Progress progress, const scsi::Command* issuer);
  void next_chunk();
  void finish(scsi::SenseReason reason);
  static void read_done(scsi::Command& io, int64_t result);
  static void locked(scsi::Command& io);
  static void written(scsi::Command& io, int64_t result);
  static void deallocated(scsi::Command& io, int64_t result);
  void prepare_io(scsi::LogicalUnit* lu);
  bool zeroes_without_data(const scsi::LogicalUnit& lu) const;

  reactor::Reactor* reactor_;
  base::BufferPool* pool_;
  std::vector<CopyExtent> extents_;
  Done done_;
  SourceCheck check_;
  Progress progress_;
  const scsi::Command* issuer_;
  CopyOutcome outcome_;
  uint64_t extent_blocks_done_ = 0;  // of extents_[outcome_.extents_done]
  uint64_t chunk_blocks_ = 0;
  bool write_failed_ = false;
  bool buffer_zeroed_ = false;  // buffer_ holds zeros (a zero chunk wrote it last)
  // The store refused to deallocate or zero a range in place (EOPNOTSUPP): from then on
  // zeros are written from the buffer, starting with that chunk again.
  bool zeros_need_data_ = false;
  bool redo_chunk_ = false;
  base::BufferChain buffer_;
  std::array<iovec, base::BufferChain::kMaxSegments> iov_{};
  size_t iov_count_ = 0;
  // Carries store completions and the destination's extent hold; reset for every chunk.
  scsi::Command io_;
};

}  // namespace stgt::devices::sbc
