// FileStore: a regular file or a block device, read and written with positional I/O through
// the calling reactor (io_uring READV/WRITEV, or the epoll backend's blocking pool); with no
// reactor (r == null: tools, unit tests) the call does blocking I/O and completes inline.
//
// Opening (FileStore::open):
//   - path is required; the file is opened O_RDWR (O_RDONLY if read_only) | O_CLOEXEC.
//   - a missing file with size > 0 is created sparse (0644, ftruncate to size); its
//     directory must exist. A missing file with size 0, or read_only, is an error.
//   - an existing regular file must be exactly `size` bytes when size > 0: a mismatch is
//     an error, never a silent grow or shrink (a typo in the path or size must not resize
//     somebody's image). size 0 takes the file's size; an empty file is an error.
//   - a block device's size comes from BLKGETSIZE64, and the same matching rule applies.
//
// Operations: the iovec array passed to read/write must stay valid until the completion
// runs (the reactor reads it asynchronously). A completion reports the full length or
// -errno: a short transfer that the reactor could not finish (end of file: the file was
// truncated behind our back) is reported as -EIO. Writes to a read-only store fail with
// -EROFS. flush is fdatasync.
//
// Atomic writes (WRITE ATOMIC (16)): a writable regular file gets a write-ahead journal in
// the side file `<path>.atomic-journal` (write_journal.h: format, steps, replay), opened and
// replayed by open() before the store serves I/O, and reports max_atomic_write_bytes()
// kMaxAtomicWriteBytes. write_atomic() journals, writes in place, syncs and retires the
// entry with blocking calls on the store's atomic-write thread (started at the first atomic
// write), one write at a time, and posts the completion back to the calling reactor (or
// runs inline with no reactor); write() and every other operation never touch the journal.
// The journal is created when missing; if it cannot be (a read-only directory) the store
// opens without atomic writes and says so in the log. A journal that exists but cannot be
// replayed fails the open: serving the image would show a torn atomic write. A read-only
// store does not replay: it refuses to open an image whose journal holds a live entry.
// Block devices have no journal (no place for a side file): no atomic writes.
// A single pwritev is not enough: a SIGKILL stops a buffered write between pages, and a
// power failure may tear any multi-sector write (RWF_ATOMIC, Linux 6.11+ with O_DIRECT,
// would be the kernel's way; the build machine's disk reports no atomic limit).
// Test only, in a build with -DSTGT_TEST_HOOKS=ON: STGT_TEST_ATOMIC_WITHOUT_JOURNAL=1 in the
// environment offers atomic writes with no journal (plain writes), so the crash test can
// show that it catches torn writes. Other builds ignore the variable.
//
// Thin provisioning: a writable regular file supports unmap when its file system can punch
// holes (probed once at open: a hole punched past the end of the file changes nothing); a
// read-only regular file reports unmap supported and answers every unmap with -EROFS, so a
// thin read-only LU offers UNMAP and refuses it with WRITE PROTECTED, like any write.
// unmap() is fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE): the range is
// deallocated and reads back as zeros, partial file-system blocks at the edges are zeroed.
// It runs off the reactor thread (Reactor::submit_fallocate: io_uring's FALLOCATE, or the
// epoll backend's file I/O pool) and completes later on the calling reactor; without a
// reactor it is synchronous. provisioning_status() is lseek SEEK_DATA / SEEK_HOLE,
// synchronous (metadata only).
// Block devices: BLKDISCARD does not promise that discarded sectors read back as zeros, so
// it cannot back LBPRZ=1. unmap() uses fallocate(PUNCH_HOLE) on the device, which the
// kernel turns into a write-zeroes request that lets the device deallocate (it never falls
// back to writing zero pages). supports_unmap() is true for a device that can both discard
// and write zeros (sysfs queue/discard_max_bytes and queue/write_zeroes_max_bytes > 0:
// loop devices over a file, dm-thin, NVMe and SCSI disks with thin provisioning); a device
// that can only write zeros would answer an UNMAP of a terabyte by writing a terabyte, and
// one that can only discard cannot promise zeros, so LUs on either are never thin.
// provisioning_status() cannot see a device's allocation: every extent reads as mapped
// ("mapped or unknown", SBC-4 4.7.4.1). A device whose logical blocks are larger than the
// LU's (a 4 KiB-sector disk under a 512-byte LU) deallocates or zeroes only whole device
// blocks: other ranges get -EOPNOTSUPP, so WRITE SAME writes its zeros and UNMAP leaves
// those blocks mapped (both allowed; VPD B0h's unmap granularity steers initiators to
// aligned ranges).
//
// Zeroing (write_zeroes, WRITE SAME of zeros on a fully provisioned LU): fallocate
// (ZERO_RANGE | KEEP_SIZE), off the reactor like unmap, then fdatasync when `fua`. On ext4
// and xfs the range becomes unwritten extents (allocated, reads zeros, no data written);
// on a block device a write-zeroes request that keeps the blocks provisioned. Assumed on a
// writable store until the file system answers EOPNOTSUPP (tmpfs has no ZERO_RANGE), after
// which the store stops offering it; never on a read-only store.
//
// Per-operation state: a small FileOp bridges the reactor's FileIoCompletion to the
// caller's StoreCompletion. FileOps come from a free list per thread (so per reactor; a
// completion runs on the thread that submitted), allocated while warming up and reused
// after that: no allocation per operation in steady state, and no lock.
//
// Threads: any number of reactors may call at once (positional I/O, no shared cursor).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "backing/backing_store.h"
#include "backing/file/write_journal.h"
#include "base/unique_fd.h"

namespace stgt::backing {

class FileStore final : public BackingStore {
 public:
  static base::Result<std::unique_ptr<BackingStore>, std::string> open(const StoreSpec& spec);
  ~FileStore() override;

  // Where the atomic-write journal of the image at `path` lives.
  static std::string journal_path(const std::string& path) { return path + ".atomic-journal"; }

  std::string_view kind() const override { return "file"; }
  uint64_t size() const override { return size_; }
  void read(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset,
            StoreCompletion* done) override;
  void write(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
             StoreCompletion* done) override;
  void flush(reactor::Reactor* r, StoreCompletion* done) override;
  uint64_t max_atomic_write_bytes() const override {
    return journal_ != nullptr || unjournaled_atomic_ ? kMaxAtomicWriteBytes : 0;
  }
  void write_atomic(reactor::Reactor* r, std::span<const iovec> iov, uint64_t offset, bool fua,
                    StoreCompletion* done) override;
  bool supports_unmap() const override { return no_unmap_reason_.empty(); }
  std::string why_no_unmap() const override { return no_unmap_reason_; }
  void unmap(reactor::Reactor* r, uint64_t offset, uint64_t length,
             StoreCompletion* done) override;
  Provisioning provisioning_status(uint64_t offset, uint64_t length) const override;
  uint32_t physical_block_size() const override { return device_physical_block_; }
  bool supports_write_zeroes() const override {
    return zero_ranges_.load(std::memory_order_relaxed);
  }
  void write_zeroes(reactor::Reactor* r, uint64_t offset, uint64_t length, bool fua,
                    StoreCompletion* done) override;
  // Regular files only (ftruncate); a block device's size is the device's.
  base::Result<void, std::string> resize(uint64_t bytes) override;
  bool resizable() const override { return !block_device_ && !read_only_; }

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  bool is_block_device() const { return block_device_; }
  int fd() const { return fd_.get(); }

  // The sysfs queue directory of block device `dev` (a partition's is its disk's).
  static std::string sysfs_queue_dir(dev_t dev);
  // Empty when the device whose sysfs queue directory is `queue_dir` can deallocate with
  // zeros guaranteed (see above), else why not, as the end of a sentence.
  static std::string block_unmap_check(const std::string& queue_dir);

 private:
  FileStore(base::UniqueFd fd, std::string path, uint64_t size, bool read_only, bool block,
            std::string no_unmap_reason);

  // -EINVAL unless [offset, offset + len) lies inside the store and iov is usable.
  int check_range(std::span<const iovec> iov, uint64_t offset, uint64_t* len) const;
  // Opens (and replays) the journal of a writable regular file, or checks a read-only one.
  base::Result<void, std::string> attach_journal();

  class AtomicWriter;

  base::UniqueFd fd_;
  std::string path_;
  std::atomic<uint64_t> size_;
  bool read_only_;
  bool block_device_;
  // A block device's logical block size (BLKSSZGET): fallocate on the device takes only
  // ranges aligned to it, so unmap() and write_zeroes() of other ranges complete with
  // -EOPNOTSUPP (nothing changed; the caller writes zeros or leaves the blocks mapped).
  uint32_t device_block_ = 0;
  uint32_t device_physical_block_ = 0;  // BLKPBSZGET of a block device, else 0
  std::string no_unmap_reason_;  // empty: unmap() can deallocate
  // write_zeroes() works: set at open for a writable store, cleared for good by the first
  // EOPNOTSUPP from the file system.
  std::atomic<bool> zero_ranges_{false};
  bool unjournaled_atomic_ = false;  // the test-only knob above
  std::unique_ptr<WriteJournal> journal_;
  std::unique_ptr<AtomicWriter> writer_;  // last: its thread stops before the journal closes

  // An atomic write failed in place twice (WriteJournal::stuck): no more writes until the
  // next open has replayed it.
  bool journal_stuck() const { return journal_ != nullptr && journal_->stuck(); }
  int fallocate_precheck(uint64_t offset, uint64_t length) const;
  void fallocate_range(reactor::Reactor* r, int mode, uint64_t offset, uint64_t length, bool fua,
                       StoreCompletion* done);
  // Whether fallocate can take [offset, offset + length): always on a regular file.
  bool device_aligned(uint64_t offset, uint64_t length) const {
    return !block_device_ || (offset % device_block_ == 0 && length % device_block_ == 0);
  }
};

}  // namespace stgt::backing
